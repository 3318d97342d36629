#!/usr/bin/env python3
"""Pass-through proxy benchmark: wrk against (a) the upstream directly, (b) obsgate, (c) nginx as
a plain reverse proxy (../shared/bench-reference), alternating rounds in one run, so the ratios
are comparable on a shared, noisy machine.

Usage: bench/proxy/bench.py [--obsgate BIN] [--rounds 3] [--duration 8] [--connections 32]
       [--write-results bench/RESULTS.md]

Reports per target: req/s (median of rounds, -c N), CPU per request of the proxy process
(utime+stime from /proc over the run / requests), p50 latency unloaded (-c1) and p99 saturated.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(os.path.dirname(ROOT), "shared", "bench-reference")
BODY = ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up",'
        '"instance":"127.0.0.1:9090","job":"prometheus","namespace":"team-a"},"value":'
        '[1700000000.123,"1"]},{"metric":{"__name__":"up","instance":"127.0.0.1:9100","job":'
        '"node","namespace":"team-a"},"value":[1700000000.123,"1"]}]}}\n')
UPSTREAM, NGINX, OBSGATE, OBSGATE_ADMIN = 18081, 18082, 18084, 18085
PATH = "/api/v1/query"

OBSGATE_CFG = f"""
server:
  worker_threads: 1
  listeners: [{{name: bench, address: 127.0.0.1, port: {OBSGATE}}}]
admin: {{address: 127.0.0.1, port: {OBSGATE_ADMIN}}}
logging: {{access_log: "off", decision_log: "off"}}
upstreams:
  - {{name: up, url: "http://127.0.0.1:{UPSTREAM}", api: prometheus, max_idle_connections: 64}}
routes:
  - {{name: query, methods: [GET, POST], path: {PATH}, upstream: up, auth: unsafe_none,
      query_params: [query, time]}}
"""


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def wrk(port, connections, duration, latency=False):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s"]
    if latency:
        cmd.append("--latency")
    cmd.append(f"http://127.0.0.1:{port}{PATH}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against port {port}:\n{out}")
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        scale = {"us": 1, "ms": 1000, "s": 1e6}[unit]
        lat[pct] = float(val) * scale
    return rps, total, lat


def start_nginx(prefix, conf, name):
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    shutil.copy(os.path.join(REF, conf), os.path.join(prefix, conf))
    return subprocess.Popen(["nginx", "-p", prefix + "/", "-e", f"logs/{name}-error.log", "-c",
                             os.path.join(prefix, conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--obsgate", default=os.path.join(ROOT, "build", "gateway", "cli", "obsgate"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--write-results", default="")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="obsgate-bench-")
    os.chmod(tmp, 0o755)  # nginx workers drop root privileges and must read html/
    procs = []
    try:
        os.makedirs(os.path.join(tmp, "html", "api", "v1"))
        with open(os.path.join(tmp, "html", "api", "v1", "query"), "w") as f:
            f.write(BODY)
        procs.append(start_nginx(tmp, "upstream-nginx.conf", "upstream"))
        procs.append(start_nginx(tmp, "proxy-nginx.conf", "proxy"))
        cfg = os.path.join(tmp, "obsgate.yaml")
        with open(cfg, "w") as f:
            f.write(OBSGATE_CFG)
        og = subprocess.Popen([args.obsgate, "--config", cfg], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(og)
        for p in (UPSTREAM, NGINX, OBSGATE):
            wait_port(p)
        time.sleep(0.5)
        nginx_pid = int(open(os.path.join(tmp, "logs", "proxy.pid")).read())
        # nginx -p runs a master and one worker: the worker does the proxying.
        workers = subprocess.run(["pgrep", "-P", str(nginx_pid)], capture_output=True,
                                 text=True).stdout.split()
        nginx_worker = int(workers[0]) if workers else nginx_pid
        targets = [("direct", UPSTREAM, None), ("obsgate", OBSGATE, og.pid),
                   ("nginx", NGINX, nginx_worker)]
        for _, port, _ in targets:  # warm-up
            wrk(port, args.connections, 2)
        res = {name: {"rps": [], "cpu_us": [], "p50": [], "p99": []} for name, _, _ in targets}
        for r in range(args.rounds):
            for name, port, pid in targets:
                c0 = cpu_seconds(pid) if pid else 0
                rps, total, lat = wrk(port, args.connections, args.duration, latency=True)
                c1 = cpu_seconds(pid) if pid else 0
                res[name]["rps"].append(rps)
                res[name]["p99"].append(lat.get("99", float("nan")))
                if pid:
                    res[name]["cpu_us"].append((c1 - c0) * 1e6 / total)
                _, _, lat1 = wrk(port, 1, max(2, args.duration // 2), latency=True)
                res[name]["p50"].append(lat1.get("50", float("nan")))
                print(f"round {r + 1} {name:8s} {rps:9.0f} req/s  p99(c{args.connections}) "
                      f"{lat.get('99', 0):7.0f}us  p50(c1) {lat1.get('50', 0):6.0f}us", flush=True)
        med = {n: {k: (statistics.median(v) if v else float("nan")) for k, v in d.items()}
               for n, d in res.items()}
        d = med["direct"]["rps"]
        lines = [
            f"| target | req/s (median) | vs direct | vs nginx | proxy CPU/request | p50 unloaded (-c1) | p99 saturated (-c{args.connections}) |",
            "|---|---|---|---|---|---|---|"]
        for n, _, _ in targets:
            m = med[n]
            cpu = "" if n == "direct" else f"{m['cpu_us']:.1f} us"
            lines.append(f"| {n} | {m['rps']:.0f} | {m['rps'] / d:.2f}x | "
                         f"{m['rps'] / med['nginx']['rps']:.2f}x | {cpu} | {m['p50']:.0f} us | "
                         f"{m['p99']:.0f} us |")
        table = "\n".join(lines)
        print(table)
        if args.write_results:
            cmd = " ".join(["bench/proxy/bench.py"] + sys.argv[1:])
            header = (f"\n### Pass-through proxy, {datetime.date.today().isoformat()}\n\n"
                      f"Machine: {os.cpu_count()} cores, {platform.machine()}, loopback; shared and "
                      f"noisy. Command: `{cmd}`. wrk -t1 -c{args.connections}, {args.rounds} "
                      f"alternating rounds of {args.duration}s, medians. obsgate and nginx each "
                      f"with one worker, upstream keep-alive, access logs off.\n\n")
            with open(args.write_results, "a") as f:
                f.write(header + table + "\n")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
