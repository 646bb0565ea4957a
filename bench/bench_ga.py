"""Throughput and delay accuracy of the live Global Accelerator proxy (``edgesim ga serve``).

Starts ``python -m edgesim.services.accelerator.cli serve`` on a small scenario (tiny world,
one TCP and one UDP listener on port 5201, one endpoint) pinned to CPU 0, and drives it with a
small C load generator, compiled from this file with ``gcc``, pinned to CPU 1 with a C echo
server as the endpoint's backend (``--backend``), so neither competes with the proxy's core.
``--internal-echo`` uses the proxy's built-in echo backends instead (in the proxy's process).

1. **Throughput at zero delay** (``--no-delay``): TCP, C connections each keeping W bytes of
   64 KiB messages in flight through the echo (MB/s each way); UDP, S sockets each keeping W
   datagrams of 1,400 bytes in flight (datagrams/s each way, lost datagrams re-sent after
   200 ms and counted).
2. **Delay accuracy** (``--rtt 80ms --backbone-rtt 0ms``: every client↔edge round trip is
   80 ms, edge↔endpoint 0): N = 1,000 concurrent flows, closed loop (each sends its next
   64-byte message when the echo of the previous one arrives), 10 s, the first 2 s not
   counted (TCP: the handshake's 80 ms is in each connection's first exchange, also not
   counted). Error = (send → echo received) − 80 ms, in ms, measured by the client on
   CLOCK_MONOTONIC.

Usage: .venv/bin/python bench/bench_ga.py [--flows 1000] [--seconds 10] [--rtt-ms 80]
       [--skip-throughput] [--skip-delay]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """\
edgesim: 1
name: ga-bench
world: tiny
seed: 1
duration: 10m
clients:
  - metros: [london]
    requests_per_second: 1
workloads:
  - {name: api, host: api.example.com, target: endpoint:echo, size: 1KB}
endpoints:
  - {name: echo, site: eu-west-2}
accelerators:
  - name: bench
    listeners:
      - {protocol: TCP, port_ranges: [5201],
         endpoint_groups: [{region: eu-west-2, endpoints: [{endpoint: endpoint:echo}]}]}
      - {protocol: UDP, port_ranges: [5201],
         endpoint_groups: [{region: eu-west-2, endpoints: [{endpoint: endpoint:echo}]}]}
"""

LOADGEN_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ga_load tcp|udp HOST PORT FLOWS SECONDS WARMUP SIZE WINDOW SRC
   closed loop: each flow keeps WINDOW messages of SIZE bytes in flight through an echo;
   a message carries its send time (CLOCK_MONOTONIC ns) in its first 8 bytes.
   Prints: messages bytes lost, then one line per measured round trip sample (ns) in a file
   given by env RTT_FILE (only when WINDOW == 1). */

static int64_t now_ns(void) {
  struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct {
  int fd; int64_t last_send; int out; size_t got; size_t wbuf_off; int64_t next_send; int pending;
} flow_t;

/* ga_load echo PORT: a TCP and UDP echo server on 127.0.0.1:PORT (epoll, one thread). */
static int echo_main(int port) {
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1, ep = epoll_create1(0);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
    perror("tcp"); return 1;
  }
  int us = socket(AF_INET, SOCK_DGRAM, 0);
  if (bind(us, (struct sockaddr *)&a, sizeof a) < 0) { perror("udp"); return 1; }
  int big = 4 << 20; setsockopt(us, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  fcntl(ls, F_SETFL, O_NONBLOCK); fcntl(us, F_SETFL, O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}; epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  ev.data.fd = us; epoll_ctl(ep, EPOLL_CTL_ADD, us, &ev);
  static char buf[262144]; struct epoll_event evs[256];
  printf("ready\n"); fflush(stdout);
  while (1) {
    int k = epoll_wait(ep, evs, 256, -1);
    for (int e = 0; e < k; e++) {
      int fd = evs[e].data.fd;
      if (fd == ls) {
        int c; while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
      } else if (fd == us) {
        struct sockaddr_in from; socklen_t fl = sizeof from; ssize_t r;
        while ((r = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) >= 0) {
          sendto(us, buf, r, 0, (struct sockaddr *)&from, fl); fl = sizeof from;
        }
      } else {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) { if (r == 0 || errno != EAGAIN) close(fd); continue; }
        ssize_t off = 0;
        while (off < r) {  /* blocking-ish write: the peer reads as fast as it can */
          ssize_t w = send(fd, buf + off, r - off, MSG_NOSIGNAL);
          if (w < 0) { if (errno == EAGAIN) { usleep(50); continue; } close(fd); break; }
          off += w;
        }
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "echo") == 0) return echo_main(atoi(argv[2]));
  if (argc < 10) { fprintf(stderr, "usage\n"); return 2; }
  int tcp = strcmp(argv[1], "tcp") == 0;
  const char *host = argv[2]; int port = atoi(argv[3]); int n = atoi(argv[4]);
  double secs = atof(argv[5]), warm = atof(argv[6]); int size = atoi(argv[7]);
  int window = atoi(argv[8]); const char *src = argv[9];
  if (size < 8) size = 8;
  FILE *rf = NULL; const char *rfn = getenv("RTT_FILE"); if (rfn) rf = fopen(rfn, "w");
  struct sockaddr_in to = {0}; to.sin_family = AF_INET; to.sin_port = htons(port);
  inet_pton(AF_INET, host, &to.sin_addr);
  struct sockaddr_in from = {0}; from.sin_family = AF_INET; inet_pton(AF_INET, src, &from.sin_addr);
  int ep = epoll_create1(0);
  flow_t *f = calloc(n, sizeof(flow_t));
  char *buf = malloc(size > 65536 ? size : 65536);
  char *msg = malloc(size); memset(msg, 'x', size);
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    if (bind(fd, (struct sockaddr *)&from, sizeof from) < 0) { perror("bind"); return 1; }
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }
    if (tcp) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    f[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  int64_t t0 = now_ns(), tw = t0 + (int64_t)(warm * 1e9), te = t0 + (int64_t)(secs * 1e9);
  long long msgs = 0, bytes = 0, lost = 0;
  /* start: send WINDOW messages per flow; with SPREAD_NS, flow i starts at t0 + i x SPREAD/n
     (flows started together and echoed after the same delay would stay in lock-step) */
  const char *sp = getenv("SPREAD_NS"); int64_t spread = sp ? atoll(sp) : 0;
  /* THINK_NS: each flow waits a uniform 0.5-1.5 x THINK after an echo before its next send */
  const char *th = getenv("THINK_NS"); int64_t think = th ? atoll(th) : 0;
  srand(7);
  int started = 0;
  struct epoll_event evs[256];
  while (1) {
    int64_t t = now_ns();
    if (t >= te) break;
    while (started < n && t >= t0 + spread * started / n) {
      int i = started++;
      for (int k = 0; k < window; k++) {
        int64_t ts = now_ns(); memcpy(msg, &ts, 8);
        send(f[i].fd, msg, size, MSG_NOSIGNAL);
        f[i].out++; f[i].last_send = ts;
      }
    }
    if (think) {
      for (int i = 0; i < started; i++) if (f[i].pending && t >= f[i].next_send) {
        int64_t ts = now_ns(); memcpy(msg, &ts, 8);
        send(f[i].fd, msg, size, MSG_NOSIGNAL);
        f[i].pending = 0; f[i].last_send = ts;
      }
    }
    int k = epoll_wait(ep, evs, 256, started < n ? 0 : (think ? 1 : 50));
    for (int e = 0; e < k; e++) {
      flow_t *fl = &f[evs[e].data.u32];
      while (1) {
        ssize_t r;
        if (tcp) {
          size_t need = size - fl->got;
          r = recv(fl->fd, buf + fl->got, need, 0);
          if (r <= 0) break;
          fl->got += r;
          if (fl->got < (size_t)size) continue;
          fl->got = 0;
        } else {
          r = recv(fl->fd, buf, 65536, 0);
          if (r <= 0) break;
        }
        int64_t sent; memcpy(&sent, buf, 8);
        int64_t tn = now_ns();
        if (tn >= tw && sent >= tw) {
          msgs++; bytes += size;
          if (rf && window == 1) fprintf(rf, "%lld\n", (long long)(tn - sent));
        }
        if (think) {
          fl->next_send = tn + think / 2 + (int64_t)((double)rand() / RAND_MAX * think);
          fl->pending = 1; fl->last_send = fl->next_send;
        } else {
          memcpy(msg, &tn, 8);
          send(fl->fd, msg, size, MSG_NOSIGNAL);
          fl->last_send = tn;
        }
      }
    }
    static int64_t last_scan = 0;
    /* re-send for flows whose datagrams were lost (scan every 50 ms) */
    if (!tcp && now_ns() - last_scan > 50000000LL) {
      int64_t tn = now_ns(); last_scan = tn;
      for (int i = 0; i < started; i++) if (tn - f[i].last_send > 200000000LL) {
        for (int w = 0; w < window; w++) { memcpy(msg, &tn, 8); send(f[i].fd, msg, size, 0); }
        f[i].last_send = tn; lost += window;
      }
    }
  }
  printf("%lld %lld %lld %.3f\n", msgs, bytes, lost, (te - tw) / 1e9);
  if (rf) fclose(rf);
  for (int i = 0; i < n; i++) close(f[i].fd);
  return 0;
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def build_loadgen(tmp: Path) -> Path:
    src = tmp / "ga_load.c"
    src.write_text(LOADGEN_C)
    exe = tmp / "ga_load"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(src)], check=True)
    return exe


def start_echo(exe: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [str(exe), "echo", str(port)]
    if (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != b"ready":
        raise SystemExit("the echo server did not start")
    return proc


def start_proxy(tmp: Path, extra: list[str], offset: int) -> subprocess.Popen[bytes]:
    scn = tmp / "bench.yaml"
    scn.write_text(SCENARIO)
    cmd = [
        sys.executable,
        "-m",
        "edgesim.services.accelerator.cli",
        "serve",
        str(scn),
        "--listen-host",
        "127.0.0.1",
        "--port-offset",
        str(offset),
        "--max-datagram",
        "65507",
        *extra,
    ]
    if (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "0", *cmd]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    port = 5201 + offset
    for _ in range(300):
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise SystemExit(f"the proxy exited with status {proc.returncode}:\n{out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"ping")
                if s.recv(4) == b"ping":
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the proxy did not answer")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def loadgen(
    exe: Path,
    proto: str,
    port: int,
    flows: int,
    seconds: float,
    warm: float,
    size: int,
    window: int,
    rtt_file: Path | None = None,
    spread_ns: int = 0,
    think_ns: int = 0,
) -> tuple[int, int, int, float]:
    cmd = [str(exe), proto, "127.0.0.1", str(port), str(flows), str(seconds), str(warm)]
    cmd += [str(size), str(window), "127.1.0.0"]
    if (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "1", *cmd]
    env = dict(os.environ)
    if rtt_file is not None:
        env["RTT_FILE"] = str(rtt_file)
    if spread_ns:
        env["SPREAD_NS"] = str(spread_ns)
    if think_ns:
        env["THINK_NS"] = str(think_ns)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.split()
    return int(out[0]), int(out[1]), int(out[2]), float(out[3])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rtt-ms", type=float, default=80.0)
    ap.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="each flow waits a uniform 0.5-1.5 x this after an echo (0: closed loop)",
    )
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-delay", action="store_true")
    ap.add_argument(
        "--internal-echo",
        dest="external_echo",
        action="store_false",
        help="use the proxy's built-in echo backends (in the proxy's process) instead of the C one",
    )
    args = ap.parse_args()
    print(f"# {platform.node()} {platform.machine()} nproc={os.cpu_count()} ", end="")
    print(f"python {platform.python_version()} {time.strftime('%Y-%m-%d %H:%M %Z')}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        exe = build_loadgen(tmp)
        offset = _free_port() - 5201  # a port free for both TCP and UDP, most likely
        port = 5201 + offset
        echo_port = _free_port()
        echo = start_echo(exe, echo_port) if args.external_echo else None
        backend = ["--backend", f"echo=127.0.0.1:{echo_port}"] if echo is not None else []
        try:
            if not args.skip_throughput:
                proc = start_proxy(tmp, ["--no-delay", *backend], offset)
                try:
                    for conns, window in ((1, 16), (8, 4)):
                        m, b, _, dur = loadgen(exe, "tcp", port, conns, 7, 2, 65536, window)
                        print(
                            f"TCP no delay, {conns} conn × {window} × 64 KiB in flight: "
                            f"{b / dur / 1e6:,.0f} MB/s each way ({m / dur:,.0f} msg/s)"
                        )
                    m, b, _, dur = loadgen(exe, "tcp", port, 100, 7, 2, 64, 1)
                    print(f"TCP no delay, 100 conn ping-pong 64 B: {m / dur:,.0f} msg/s")
                    for socks, window in ((1, 32), (64, 8)):
                        m, b, lost, dur = loadgen(exe, "udp", port, socks, 7, 2, 1400, window)
                        print(
                            f"UDP no delay, {socks} flow(s) × {window} × 1400 B in flight: "
                            f"{m / dur:,.0f} datagrams/s each way ({b / dur / 1e6:,.1f} MB/s), "
                            f"{lost} re-sent after loss"
                        )
                finally:
                    stop(proc)
            if not args.skip_delay:
                rtt = args.rtt_ms
                proc = start_proxy(
                    tmp, ["--rtt", f"{rtt}ms", "--backbone-rtt", "0ms", *backend], offset
                )
                try:
                    for proto in ("udp", "tcp"):
                        f = tmp / f"rtt-{proto}.txt"
                        # flows start spread over one RTT (else they echo in lock-step)
                        m, _, lost, dur = loadgen(
                            exe,
                            proto,
                            port,
                            args.flows,
                            args.seconds,
                            2,
                            64,
                            1,
                            rtt_file=f,
                            spread_ns=int(rtt * 1e6),
                            think_ns=int(args.think_ms * 1e6),
                        )
                        errs = [int(x) / 1e6 - rtt for x in f.read_text().split()]
                        if not errs:
                            print(f"{proto.upper()}: no samples")
                            continue
                        print(
                            f"{proto.upper()} {args.flows} flows, {rtt:g} ms configured: "
                            f"{m / dur:,.0f} echoes/s, error (observed − configured) ms: "
                            f"min {min(errs):.3f} p50 {pct(errs, 50):.3f} p99 {pct(errs, 99):.3f} "
                            f"max {max(errs):.3f}; {lost} re-sent"
                        )
                finally:
                    stop(proc)
        finally:
            if echo is not None:
                stop(echo)


if __name__ == "__main__":
    main()
