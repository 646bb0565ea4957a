// edgesim live dashboard: an equirectangular SVG map fed by the control API and its SSE
// stream. No external assets: everything comes from the serving process.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const W = 1440, H = 620, TOP = 78, K = 4;
const $ = (id) => document.getElementById(id);
const x = (lon) => (lon + 180) * K;
const y = (lat) => (TOP - lat) * K;

const view = { topo: null, nodes: new Map(), targets: new Map(), routes: {}, prevRoutes: {}, state: null };

function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function token() {
  return $("token").value.trim();
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  const msg = r.ok ? `${path.replace("/v1/", "")}: done` : `${r.status}: ${data.error || r.statusText}`;
  $("result").textContent = msg;
  $("result").dataset.status = String(r.status);
  if (r.ok) await refresh();
  return r.status;
}

function drawLand(rings) {
  const g = $("land");
  const parts = [];
  for (const ring of rings) {
    let d = "";
    let prev = null;
    for (const [lon, lat] of ring) {
      const jump = prev !== null && Math.abs(lon - prev) > 180;
      d += (d === "" || jump ? "M" : "L") + x(lon).toFixed(1) + "," + y(lat).toFixed(1);
      prev = lon;
    }
    parts.push(d + "Z");
  }
  el("path", { d: parts.join("") }, g);
}

function radius(kind) {
  return { region: 6, rec: 5, outpost: 6, lz: 3.5, wlz: 3.5, pop: 3 }[kind] || 3;
}

function drawSites(topo) {
  const g = $("sites"), cg = $("clients");
  g.textContent = ""; cg.textContent = "";
  const order = ["pop", "rec", "lz", "wlz", "outpost", "region"];
  const sites = topo.nodes.filter((n) => n.kind !== "client");
  sites.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const n of sites) {
    const c = el("circle", {
      cx: x(n.lon).toFixed(1), cy: y(n.lat).toFixed(1), r: radius(n.kind),
      class: `site ${n.kind}${n.kind === "pop" && !n.live ? " idle" : ""}`,
      "data-node": n.id, "data-state": "up",
    }, g);
    el("title", {}, c).textContent = n.id + (n.address ? ` (${n.address})` : "");
    view.nodes.set(n.id, n);
  }
  for (const n of topo.nodes.filter((n) => n.kind === "client")) {
    const c = el("circle", {
      cx: x(n.lon).toFixed(1), cy: y(n.lat).toFixed(1), r: 3.2,
      class: "client", "data-group": n.name,
    }, cg);
    el("title", {}, c).textContent = `${n.name} (${n.address})`;
    view.nodes.set(n.id, n);
  }
  for (const t of topo.targets) view.targets.set(t.id, t);
}

function fillSelect(sel, items, label) {
  const keep = sel.value;
  sel.textContent = "";
  for (const it of items) {
    const o = document.createElement("option");
    o.value = it; o.textContent = label ? label(it) : it;
    sel.appendChild(o);
  }
  if (items.includes(keep)) sel.value = keep;
}

function applyState(state) {
  view.state = state;
  const down = new Set(state.down || []);
  for (const c of document.querySelectorAll("#sites circle")) {
    c.setAttribute("data-state", down.has(c.getAttribute("data-node")) ? "down" : "up");
  }
  const targets = state.targets || {};
  const list = $("down");
  list.textContent = "";
  for (const d of [...down].sort()) {
    const li = document.createElement("li"); li.textContent = d; list.appendChild(li);
  }
  for (const [k, up] of Object.entries(targets)) {
    if (!up) { const li = document.createElement("li"); li.textContent = `${k} (down)`; list.appendChild(li); }
  }
  $("clock").textContent = `t = ${Math.round(state.now_s)} s (scenario time)`;
  const log = $("log");
  log.textContent = "";
  const items = [];
  for (const e of state.events || []) {
    const what = e.what ? `${e.what} ${e.target || ""}` : Object.entries(e).filter(([k]) => k !== "at_s" && k !== "note").map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    items.push({ t: e.at_s, text: `${Math.round(e.at_s)} s: ${what}${e.note ? " — " + e.note : ""}`, cls: "event" });
  }
  for (const d of state.decisions || []) {
    items.push({ t: Infinity, text: `DNS ${d.host}: ${d.moved} group(s) moved; ${d.examples.join("; ")}`, cls: "decision" });
  }
  for (const it of items.slice(-40).reverse()) {
    const li = document.createElement("li"); li.textContent = it.text; li.className = it.cls; log.appendChild(li);
  }
}

function siteOf(label) {
  if (view.nodes.has(label)) return view.nodes.get(label);
  const t = view.targets.get(label);
  if (t && t.site && view.nodes.has(t.site)) return view.nodes.get(t.site);
  return null;
}

function drawRoutes() {
  const g = $("links");
  g.textContent = "";
  const host = $("host-select").value;
  const per = view.routes[host] || {};
  const before = view.prevRoutes[host] || {};
  let moved = 0;
  for (const [group, label] of Object.entries(per)) {
    const a = view.nodes.get(`group:${group}`), b = siteOf(label);
    if (!a || !b || Math.abs(a.lon - b.lon) > 180) continue;
    const changed = before[group] !== undefined && before[group] !== label;
    moved += changed ? 1 : 0;
    el("line", {
      x1: x(a.lon).toFixed(1), y1: y(a.lat).toFixed(1), x2: x(b.lon).toFixed(1), y2: y(b.lat).toFixed(1),
      class: changed ? "route moved" : "route", "data-group": group, "data-to": label,
    }, g);
  }
  const targets = new Set(Object.values(per));
  $("routes").textContent = `${host}: ${Object.keys(per).length} groups → ${targets.size} destination(s)` + (moved ? `; ${moved} moved (red)` : "");
}

function applyMetrics(m) {
  const tbody = document.querySelector("#groups tbody");
  tbody.textContent = "";
  const rows = Object.entries(m.groups || {}).sort((a, b) => (b[1].p95_ms || 0) - (a[1].p95_ms || 0));
  for (const [g, v] of rows) {
    const c = document.querySelector(`#clients circle[data-group="${CSS.escape(g)}"]`);
    if (c) {
      const p = v.p95_ms;
      const cls = v.errors > 0 && v.errors * 10 >= v.http ? "perr" : p === null ? "" : p < 50 ? "p1" : p < 150 ? "p2" : p < 300 ? "p3" : "p4";
      c.setAttribute("class", `client ${cls}`);
      c.setAttribute("data-p95", p === null ? "" : String(p));
    }
    const tr = document.createElement("tr");
    for (const val of [g, v.dns, v.http, v.errors, v.p95_ms === null ? "-" : v.p95_ms.toFixed(0)]) {
      const td = document.createElement("td"); td.textContent = String(val); tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
}

let refreshing = null;
async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const [state, routes] = await Promise.all([getJson("/v1/state"), getJson("/v1/routes")]);
      applyState(state);
      if (JSON.stringify(routes) !== JSON.stringify(view.routes)) {
        // keep the routes before the last move, so moved lines stay marked
        view.prevRoutes = Object.keys(view.routes).length ? view.routes : routes;
        view.routes = routes;
      }
      drawRoutes();
      document.body.dataset.version = String(state.version);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function connect() {
  const es = new EventSource("/v1/metrics/stream");
  es.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "pill ok"; });
  es.addEventListener("error", () => { $("conn").textContent = "reconnecting…"; $("conn").className = "pill bad"; });
  es.addEventListener("metrics", (e) => applyMetrics(JSON.parse(e.data)));
  es.addEventListener("change", () => refresh());
  es.addEventListener("decision", () => refresh());
}

function bind(id, fn) { $(id).addEventListener("click", fn); }

async function main() {
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) { $("token").value = decodeURIComponent(m[1]); history.replaceState(null, "", location.pathname); }
  const [topo, land] = await Promise.all([getJson("/v1/topology"), getJson("/v1/land")]);
  view.topo = topo;
  $("scenario").textContent = topo.scenario || "";
  drawLand(land.rings);
  drawSites(topo);
  const ids = (kind) => topo.nodes.filter((n) => n.kind === kind).map((n) => n.id).sort();
  const livePops = topo.nodes.filter((n) => n.kind === "pop" && n.live).map((n) => n.id).sort();
  fillSelect($("region-select"), ids("region"));
  fillSelect($("pop-select"), livePops.length ? livePops : ids("pop"));
  fillSelect($("target-select"), topo.targets.map((t) => t.id).filter((t) => !t.startsWith("cloudfront:")));
  fillSelect($("dist-select"), topo.distributions);
  fillSelect($("host-select"), topo.hosts);
  if (topo.weights.length) $("w-record").value = topo.weights[0];
  $("host-select").addEventListener("change", drawRoutes);
  bind("fail-region", () => post("/v1/fail", { target: $("region-select").value }));
  bind("recover-region", () => post("/v1/recover", { target: $("region-select").value }));
  bind("fail-pop", () => post("/v1/fail", { target: $("pop-select").value }));
  bind("recover-pop", () => post("/v1/recover", { target: $("pop-select").value }));
  bind("fail-target", () => post("/v1/fail", { target: $("target-select").value }));
  bind("recover-target", () => post("/v1/recover", { target: $("target-select").value }));
  bind("set-weight", () => post("/v1/weight", { record: $("w-record").value, set: $("w-set").value, weight: Number($("w-weight").value) }));
  bind("invalidate", () => post("/v1/invalidate", { distribution: $("dist-select").value, paths: $("inv-paths").value.split(/\s+/).filter(Boolean) }));
  await refresh();
  connect();
  document.body.dataset.ready = "1";
}

main().catch((e) => { $("result").textContent = String(e); });
