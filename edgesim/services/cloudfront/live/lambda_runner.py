"""Run a user's Lambda@Edge handler in a worker process, as one execution environment.

The worker is started on the first invocation (a real cold start: the interpreter starts and
imports the user's module, and that time is measured and reported as ``init_ms``) and then
kept, as Lambda keeps a warm environment. Each invocation is one JSON line to the worker and
one back. The parent enforces the trigger's timeout (the worker is killed and started again
on the next call) and the worker's address space is capped at the trigger's memory
(``RLIMIT_AS``), so an endless loop or a memory hog costs its own request a 503, never the
server. A handler's ``print`` output goes to the parent's log, not to the protocol.

Python handlers run with the interpreter running edgesim; Node.js handlers (``.js`` / ``.mjs``
files) run with ``node`` when it is installed.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesim.services.cloudfront.lambda_edge import EventType, Outcome, check_result, limits

_PY_WORKER = r"""
import importlib.util, io, json, sys, time, traceback
path, handler_name = sys.argv[1], sys.argv[2]
proto = sys.stdout
sys.stdout = sys.stderr  # the handler's prints go to the log, not to the protocol
t0 = time.perf_counter()
try:
    spec = importlib.util.spec_from_file_location("edge_handler", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fn = getattr(mod, handler_name)
    ready = {"ready": True, "init_ms": (time.perf_counter() - t0) * 1000}
except BaseException as exc:
    ready = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
proto.write(json.dumps(ready) + "\n"); proto.flush()
if not ready["ready"]:
    sys.exit(1)

class Context:
    function_name = handler_name
    memory_limit_in_mb = int(sys.argv[3])
    def get_remaining_time_in_millis(self):
        return max(0, int(self.deadline - time.monotonic() * 1000))

for line in sys.stdin:
    msg = json.loads(line)
    ctx = Context(); ctx.deadline = time.monotonic() * 1000 + msg["timeout_ms"]
    try:
        out = {"ok": True, "value": fn(msg["event"], ctx)}
        json.dumps(out)
    except BaseException as exc:
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    proto.write(json.dumps(out) + "\n"); proto.flush()
"""

_JS_WORKER = r"""
const path = process.argv[1], name = process.argv[2];  // node -e: no script path
const readline = require('readline');
const t0 = process.hrtime.bigint();
let fn;
function send(o) { process.stdout.write(JSON.stringify(o) + "\n"); }
(async () => {
  try {
    const mod = path.endsWith('.mjs') ? await import('file://' + path) : require(path);
    fn = mod[name];
    if (typeof fn !== 'function') { throw new Error('no function ' + name); }
    send({ready: true, init_ms: Number(process.hrtime.bigint() - t0) / 1e6});
  } catch (e) { send({ready: false, error: String(e)}); process.exit(1); }
  console.log = (...a) => process.stderr.write(a.join(' ') + "\n");
  const rl = readline.createInterface({input: process.stdin});
  for await (const line of rl) {
    const msg = JSON.parse(line);
    const deadline = Date.now() + msg.timeout_ms;
    const ctx = {functionName: name, getRemainingTimeInMillis: () => deadline - Date.now()};
    try {
      const value = await fn(msg.event, ctx);
      send({ok: true, value: value});
    } catch (e) { send({ok: false, error: String(e)}); }
  }
})();
"""


class HandlerError(ValueError):
    """A handler that cannot be loaded (no file, no function, no runtime): a load-time error."""


@dataclass(frozen=True)
class Invocation:
    outcome: Outcome
    duration_ms: float
    init_ms: float = 0.0
    """The cold start's init time (0 when the environment was warm)."""

    @property
    def cold(self) -> bool:
        return self.init_ms > 0


def runtime_of(path: Path) -> str:
    if path.suffix == ".py":
        return "python"
    if path.suffix in (".js", ".mjs"):
        if shutil.which("node") is None:
            raise HandlerError(f"{path}: a Node.js handler needs node, which is not installed")
        return "nodejs"
    raise HandlerError(f"{path}: handlers are .py files (or .js/.mjs with Node.js installed)")


class EdgeFunction:
    """One Lambda@Edge function at one trigger, with its (at most one) warm environment."""

    def __init__(
        self,
        path: str | Path,
        handler: str,
        event_type: EventType,
        *,
        memory_mb: int | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise HandlerError(f"{path}: handler file not found")
        self.handler = handler
        self.event_type = event_type
        lim = limits(event_type, memory_mb)
        self.memory_mb = lim.memory_mb
        self.timeout_s = min(timeout_s or lim.timeout_s, lim.timeout_s)
        self.runtime = runtime_of(self.path)
        self.proc: subprocess.Popen[str] | None = None
        self.cold_starts = 0

    def _spawn(self) -> float:
        if self.runtime == "python":
            cmd = [sys.executable, "-I", "-c", _PY_WORKER, str(self.path), self.handler]
        else:
            cmd = ["node", "-e", _JS_WORKER, str(self.path), self.handler]
        cmd.append(str(self.memory_mb))
        limit = self.memory_mb * 1024 * 1024 + 256 * 1024 * 1024  # the runtime's own share

        def cap() -> None:  # pragma: no cover - runs in the child
            import resource

            if self.runtime == "python":
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            cwd=str(self.path.parent),
            preexec_fn=cap if os.name == "posix" else None,
        )
        ready = self._read(max(self.timeout_s, 10.0))
        if ready is None or not ready.get("ready"):
            self.close()
            why = ready.get("error", "no answer") if ready else "it did not start in time"
            raise HandlerError(f"{self.path.name}: the handler does not load: {why}")
        self.cold_starts += 1
        return max(float(ready.get("init_ms", 0.0)), (time.perf_counter() - t0) * 1000)

    def _read(self, timeout_s: float) -> dict[str, Any] | None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        if not line:
            return None
        try:
            msg = json.loads(line)
        except ValueError:
            return None
        return msg if isinstance(msg, dict) else None

    def invoke(self, event: dict[str, Any]) -> Invocation:
        init_ms = 0.0
        if self.proc is None or self.proc.poll() is not None:
            init_ms = self._spawn()
        assert self.proc is not None
        assert self.proc.stdin is not None
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(
                json.dumps({"event": event, "timeout_ms": int(self.timeout_s * 1000)}) + "\n"
            )
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            return Invocation(Outcome("error", {}, "the environment died"), 0.0, init_ms)
        reply = self._read(self.timeout_s)
        elapsed = (time.perf_counter() - t0) * 1000
        if reply is None:
            died = self.proc.poll() is not None
            self.close()  # a timed-out or crashed environment is not reused
            why = "the environment ran out of memory or crashed" if died else "timed out"
            return Invocation(Outcome("error", {}, why), elapsed, init_ms)
        if not reply.get("ok"):
            return Invocation(Outcome("error", {}, str(reply.get("error"))), elapsed, init_ms)
        return Invocation(check_result(self.event_type, reply.get("value")), elapsed, init_ms)

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=5)
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None
