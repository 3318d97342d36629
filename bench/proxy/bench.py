#!/usr/bin/env python3
"""Proxy benchmark: wrk against the upstream directly, nginx as a plain reverse proxy
(../shared/bench-reference), obsgate as a plain pass-through (`auth: unsafe_none`) and obsgate on
an authenticated, PromQL-enforced `/api/v1/query` route (`auth: required`, a local JWKS, the
prometheus enforcer, a tenant scope), alternating rounds in one run, so the ratios are comparable
on a shared, noisy machine.

Every target gets the same request: GET /api/v1/query?query=<QUERY> with an
`Authorization: Bearer <token>` header (an RS256 token minted for the run, valid for hours, so
obsgate's authenticated route serves it from its verified-token cache after the first request).
Before measuring, one request through the enforced route is checked at the upstream: nginx logs
the URI of requests carrying `X-Bench-Verify`, and the logged query must be the scoped one.

Usage: bench/proxy/bench.py [--obsgate BIN] [--baseline BIN] [--mint BIN] [--floor BIN]
       [--rounds 3] [--duration 8] [--connections 32] [--only NAME,...] [--write-results FILE]
       [--serve]

--baseline BIN runs the same two obsgate setups from another binary too (targets base:obsgate,
base:obsgate-authz), so a change is measured before/after in one run.

--floor BIN (build/bench/proxy/beast_floor) adds the bare Beast/Asio relay in both styles
(beast-floor-coro, beast-floor-callback): what the HTTP stack alone costs per request, with no
routing, header hygiene, timeouts, authentication or enforcement.

Reports per target: req/s (median of rounds, -c N), CPU per request of the proxy process
(utime+stime from /proc over the run / requests), p50 latency unloaded (-c1) and p99 saturated.
--serve sets everything up, prints the wrk command lines and waits (for perf/strace by hand).
"""
import argparse
import datetime
import fcntl
import http.client
import json
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
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REF = os.path.join(os.path.dirname(ROOT), "shared", "bench-reference")
BODY = ('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up",'
        '"instance":"127.0.0.1:9090","job":"prometheus","namespace":"team-a"},"value":'
        '[1700000000.123,"1"]},{"metric":{"__name__":"up","instance":"127.0.0.1:9100","job":'
        '"node","namespace":"team-a"},"value":[1700000000.123,"1"]}]}}\n')
UPSTREAM, NGINX, OBSGATE, OBSGATE_ADMIN, AUTHZ, AUTHZ_ADMIN = (18081, 18082, 18084, 18085, 18086,
                                                               18087)
FLOOR_PORTS = {"coro": 18088, "callback": 18089}  # --floor: beast_floor in each style
BASE_OFFSET = 10  # --baseline instances listen 10 ports higher
PATH = "/api/v1/query"
QUERY = 'sum(rate(http_requests_total{job="api"}[5m]))'
# What the upstream must receive through the enforced route (tenant team-a's scope appended).
ENFORCED = 'sum(rate(http_requests_total{job="api", namespace="team-a"}[5m]))'
TARGET = PATH + "?query=" + urllib.parse.quote(QUERY, safe="")
ISSUER = "https://idp.bench/realms/obs"
AUDIENCE = "obsgate"
VERIFY_HEADER = "X-Bench-Verify"

PLAIN_CFG = """
server:
  worker_threads: 1
  listeners: [{{name: bench, address: 127.0.0.1, port: {port}}}]
admin: {{address: 127.0.0.1, port: {admin}}}
logging: {{access_log: "off", decision_log: "off"}}
upstreams:
  - {{name: up, url: "http://127.0.0.1:{upstream}", api: prometheus, max_idle_connections: 64}}
routes:
  - {{name: query, methods: [GET, POST], path: {path}, upstream: up, auth: unsafe_none,
      query_params: [query, time]}}
"""

AUTHZ_CFG = """
server:
  worker_threads: 1
  listeners: [{{name: bench, address: 127.0.0.1, port: {port}}}]
admin: {{address: 127.0.0.1, port: {admin}}}
logging: {{access_log: "off", decision_log: "off"}}
upstreams:
  - {{name: up, url: "http://127.0.0.1:{upstream}", api: prometheus, max_idle_connections: 64}}
identity:
  providers:
    - name: local
      issuer: "{issuer}"
      audiences: [{audience}]
      keys: {{jwks_file: "{jwks}"}}
      mapping:
        tenants: [{{claim: groups, values: {{"/team-a": [team-a]}}}}]
tenants:
  tenants:
    - {{name: team-a, metrics: {{rules: ['{{namespace="team-a"}}']}}}}
routes:
  - {{name: query, methods: [GET, POST], path: {path}, upstream: up, auth: required,
      enforcer: prometheus, query_params: [query, time]}}
"""

# The reference upstream, plus one line per request that carries X-Bench-Verify (the check that
# the enforced route forwards the scoped query). The `if=` costs every target the same.
VERIFY_VAR = "$http_" + VERIFY_HEADER.lower().replace("-", "_")
UPSTREAM_VERIFY_LOG = (
    "    log_format bench_uri '$request_uri';\n"
    f"    map {VERIFY_VAR} $bench_verify {{ default 0; ~. 1; }}\n"
    "    access_log logs/verify.log bench_uri if=$bench_verify;\n")


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


def wrk_cmd(port, connections, duration, token, latency=False):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-H",
           f"Authorization: Bearer {token}"]
    if latency:
        cmd.append("--latency")
    cmd.append(f"http://127.0.0.1:{port}{TARGET}")
    return cmd


def wrk(port, connections, duration, token, latency=False):
    cmd = wrk_cmd(port, connections, duration, token, latency)
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


def start_nginx(prefix, conf, name, extra_http=""):
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
    with open(os.path.join(REF, conf)) as f:
        text = f.read()
    if extra_http:
        # In place of the reference's `access_log off;`, which would otherwise override it.
        if "    access_log off;\n" not in text:
            raise RuntimeError(f"{conf}: no 'access_log off;' line to replace")
        text = text.replace("    access_log off;\n", extra_http, 1)
    with open(os.path.join(prefix, conf), "w") as f:
        f.write(text)
    return subprocess.Popen(["nginx", "-p", prefix + "/", "-e", f"logs/{name}-error.log", "-c",
                             os.path.join(prefix, conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def mint(tool, tmp):
    """An RS256 key, its JWKS, and a token for tenant team-a valid for 20 hours."""
    key, jwks = os.path.join(tmp, "idp.pem"), os.path.join(tmp, "jwks.json")
    subprocess.run([tool, "--generate", "--key", key, "--jwks", jwks, "--alg", "RS256", "--kid",
                    "bench-1"], check=True, capture_output=True, timeout=60)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench-user", "iat": now,
              "exp": now + 20 * 3600, "groups": ["/team-a"]}
    token = subprocess.run([tool, "--key", key, "--alg", "RS256", "--kid", "bench-1", "--claims",
                            json.dumps(claims)], check=True, capture_output=True, text=True,
                           timeout=60).stdout.strip()
    return jwks, token


def verify_enforced(tmp, token, port):
    """One request through the enforced route; the upstream must have seen the scoped query."""
    log = os.path.join(tmp, "logs", "verify.log")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", TARGET, headers={"Authorization": "Bearer " + token, VERIFY_HEADER: "1"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200 or body.decode() != BODY:
        raise RuntimeError(f"enforced route answered {r.status}: {body[:300]!r}")
    deadline = time.time() + 5
    while time.time() < deadline and not (os.path.exists(log) and os.path.getsize(log) > 0):
        time.sleep(0.05)
    with open(log) as f:
        lines = f.read().splitlines()
    open(log, "w").close()  # nginx appends with O_APPEND: the next check starts empty
    if len(lines) != 1:
        raise RuntimeError(f"upstream logged {len(lines)} verify requests, want 1: {lines}")
    got = urllib.parse.parse_qs(urllib.parse.urlsplit(lines[0]).query).get("query")
    if got != [ENFORCED]:
        raise RuntimeError(f"upstream received query {got}, want [{ENFORCED!r}]")
    print(f"verified (port {port}): the upstream received query={got[0]}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    build = os.path.join(ROOT, "build")
    ap.add_argument("--obsgate", default=os.path.join(build, "gateway", "cli", "obsgate"))
    ap.add_argument("--mint", default="",
                    help="obsgate_mint_token (default: tests/tools/ of the --obsgate build)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--baseline", default="",
                    help="another obsgate binary, measured too (targets base:obsgate, ...)")
    ap.add_argument("--floor", default="",
                    help="bench/proxy beast_floor binary: adds targets beast-floor-coro and "
                         "beast-floor-callback (the bare Beast/Asio relay, no obsgate code)")
    ap.add_argument("--only", default="", help="comma-separated targets to measure")
    ap.add_argument("--write-results", default="")
    ap.add_argument("--serve", action="store_true", help="set up, print wrk commands, wait")
    args = ap.parse_args()
    mint_tool = args.mint or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.obsgate)))),
        "tests", "tools", "obsgate_mint_token")

    # One run at a time on this machine: the ports are fixed, and two runs would measure each
    # other's load. A second run waits here for the first to finish.
    lock = open(os.path.join(tempfile.gettempdir(), "obsgate-proxy-bench.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another bench/proxy/bench.py run holds the lock; waiting for it", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    tmp = tempfile.mkdtemp(prefix="obsgate-bench-")
    os.chmod(tmp, 0o755)  # nginx workers drop root privileges and must read html/
    procs = []
    try:
        os.makedirs(os.path.join(tmp, "html", "api", "v1"))
        with open(os.path.join(tmp, "html", "api", "v1", "query"), "w") as f:
            f.write(BODY)
        jwks, token = mint(mint_tool, tmp)
        procs.append(start_nginx(tmp, "upstream-nginx.conf", "upstream", UPSTREAM_VERIFY_LOG))
        procs.append(start_nginx(tmp, "proxy-nginx.conf", "proxy"))
        # (name, binary, config template, port, admin port)
        instances = [("obsgate", args.obsgate, PLAIN_CFG, OBSGATE, OBSGATE_ADMIN),
                     ("obsgate-authz", args.obsgate, AUTHZ_CFG, AUTHZ, AUTHZ_ADMIN)]
        if args.baseline:
            # The same two setups from another binary: before/after ratios from one run.
            instances += [("base:" + n, args.baseline, c, p + BASE_OFFSET, a + BASE_OFFSET)
                          for n, _, c, p, a in list(instances)]
        obsgates = {}
        for name, binary, template, port, admin in instances:
            cfg = os.path.join(tmp, name.replace(":", "-") + ".yaml")
            with open(cfg, "w") as f:
                f.write(template.format(port=port, admin=admin, upstream=UPSTREAM, path=PATH,
                                        issuer=ISSUER, audience=AUDIENCE, jwks=jwks))
            err = open(os.path.join(tmp, "logs", name.replace(":", "-") + ".stderr"), "w")
            obsgates[name] = subprocess.Popen([binary, "--config", cfg],
                                              stdout=subprocess.DEVNULL, stderr=err)
            procs.append(obsgates[name])
        floors = {}
        if args.floor:
            for mode, port in FLOOR_PORTS.items():
                floors["beast-floor-" + mode] = (port, subprocess.Popen(
                    [args.floor, "--listen", str(port), "--upstream", str(UPSTREAM), "--mode",
                     mode], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                procs.append(floors["beast-floor-" + mode][1])
        floor_ports = [port for port, _ in floors.values()]
        for p in [UPSTREAM, NGINX] + [i[3] for i in instances] + floor_ports:
            try:
                wait_port(p)
            except RuntimeError:
                for name, *_ in instances:
                    print(open(os.path.join(tmp, "logs", name.replace(":", "-") +
                                            ".stderr")).read(), file=sys.stderr)
                raise
        time.sleep(0.5)
        nginx_pid = int(open(os.path.join(tmp, "logs", "proxy.pid")).read())
        # nginx -p runs a master and one worker: the worker does the proxying.
        workers = subprocess.run(["pgrep", "-P", str(nginx_pid)], capture_output=True,
                                 text=True).stdout.split()
        nginx_worker = int(workers[0]) if workers else nginx_pid
        for name, _, template, port, _ in instances:
            if template is AUTHZ_CFG:
                verify_enforced(tmp, token, port)
        targets = [("direct", UPSTREAM, None), ("nginx", NGINX, nginx_worker)]
        targets += [(name, port, obsgates[name].pid) for name, _, _, port, _ in instances]
        targets += [(name, port, proc.pid) for name, (port, proc) in floors.items()]
        if args.serve:
            print(f"token: {token}")
            for name, port, pid in targets:
                print(f"{name} (pid {pid}): wrk -t1 -c{args.connections} -d10s "
                      f"-H 'Authorization: Bearer $TOKEN' 'http://127.0.0.1:{port}{TARGET}'")
            print("serving; Ctrl-C or SIGTERM to stop", flush=True)
            # SIGTERM too must reach the finally below, which stops nginx and obsgate.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                signal.pause()
            except KeyboardInterrupt:
                pass
            return
        if args.only:
            keep = set(args.only.split(",")) | {"nginx", "direct"}
            targets = [t for t in targets if t[0] in keep]
        for _, port, _ in targets:  # warm-up
            wrk(port, args.connections, 2, token)
        res = {name: {"rps": [], "cpu_us": [], "p50": [], "p99": []} for name, _, _ in targets}
        for r in range(args.rounds):
            for name, port, pid in targets:
                c0 = cpu_seconds(pid) if pid else 0
                rps, total, lat = wrk(port, args.connections, args.duration, token, latency=True)
                c1 = cpu_seconds(pid) if pid else 0
                res[name]["rps"].append(rps)
                res[name]["p99"].append(lat.get("99", float("nan")))
                if pid:
                    res[name]["cpu_us"].append((c1 - c0) * 1e6 / total)
                _, _, lat1 = wrk(port, 1, max(2, args.duration // 2), token, latency=True)
                res[name]["p50"].append(lat1.get("50", float("nan")))
                cpu = f"{res[name]['cpu_us'][-1]:5.1f}us CPU/req" if pid else ""
                print(f"round {r + 1} {name:18s} {rps:9.0f} req/s  p99(c{args.connections}) "
                      f"{lat.get('99', 0):7.0f}us  p50(c1) {lat1.get('50', 0):6.0f}us  {cpu}",
                      flush=True)
        med = {n: {k: (statistics.median(v) if v else float("nan")) for k, v in d.items()}
               for n, d in res.items()}
        d = med["direct"]["rps"]
        lines = [
            f"| target | req/s (median) | vs direct | vs nginx | proxy CPU/request | "
            f"p50 unloaded (-c1) | p99 saturated (-c{args.connections}) |",
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
            header = (f"\n### Proxy, {datetime.date.today().isoformat()}\n\n"
                      f"Machine: {os.cpu_count()} cores, {platform.machine()}, loopback; shared "
                      f"and noisy. Command: `{cmd}`. wrk -t1 -c{args.connections}, {args.rounds} "
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
