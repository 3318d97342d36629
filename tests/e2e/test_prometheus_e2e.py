"""End to end: obsgate's prometheus enforcer in front of a real Prometheus 2.42 (Debian).

The test backfills two hours of series for three tenants (namespace team-a, team-b, team-c) with
`promtool tsdb create-blocks-from openmetrics`, serves live series for the three tenants to be
scraped (federate looks at recent samples only), loads recording and alerting rules labelled per
tenant, and starts Prometheus on 127.0.0.1 with a free port. Then, for a broad set of queries,
the result through obsgate as tenant team-a equals the result of the hand-scoped query sent
directly to Prometheus, and holds no other tenant's series. Series, labels, label values,
federate, rules and alerts likewise; team-b (hidden label client_ip) gets it stripped.
The live target serves OpenMetrics with exemplars (Prometheus runs with exemplar storage):
query_exemplars through obsgate equals the hand-scoped exemplar query, metadata lists only the
metric families the tenant can see, and an alert whose templates render client_ip reaches
team-b without its annotations or the templated label.

Needs /usr/bin/prometheus and /usr/bin/promtool, the obsgate binary (OBSGATE_BIN) and
obsgate_mint_token (OBSGATE_MINT_TOKEN, or next to the build's obsgate); skipped otherwise.
"""

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import HOST, Gateway, base_config, free_port, obsgate_bin, wait_for  # noqa: E402

PROMETHEUS = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("PROMTOOL_BIN", "/usr/bin/promtool")
ISSUER = "https://idp.test/e2e"
TENANTS = ["team-a", "team-b", "team-c"]
A = 'namespace="team-a"'
STEP = 30  # seconds between backfilled samples

E = None  # the module's environment


def mint_tool():
    path = os.environ.get("OBSGATE_MINT_TOKEN")
    if path:
        return path
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(obsgate_bin()))))
    return os.path.join(build, "tests", "tools", "obsgate_mint_token")


# --------------------------------------------------------------------------------------------
# Data


def series_of(ns, k):
    """(name, labels, value function of the sample index i) for one tenant; k varies values."""
    out = []
    for inst in ("i1", "i2"):
        for code in ("200", "500"):
            for method in ("GET", "POST"):
                rate = k * (3 if code == "200" else 1) * (2 if method == "GET" else 1)
                ip = "10.%d.%s.%s" % (k, inst[1], code[0] + ("1" if method == "GET" else "2"))
                out.append(("http_requests_total",
                            {"namespace": ns, "job": "api", "instance": inst, "code": code,
                             "method": method, "client_ip": ip},
                            lambda i, r=rate: r * i * STEP + (i % 7)))
        out.append(("memory_bytes", {"namespace": ns, "job": "api", "instance": inst},
                    lambda i, kk=k, n=inst: 1e6 * kk + 1000 * (i % 13) + (5 if n == "i1" else 0)))
        out.append(("up", {"namespace": ns, "job": "api", "instance": inst},
                    lambda i: 1 if i % 11 else 0))
        cum = 0
        for le, frac in (("0.1", 0.5), ("0.5", 0.8), ("1", 0.95), ("+Inf", 1.0)):
            out.append(("request_duration_seconds_bucket",
                        {"namespace": ns, "job": "api", "instance": inst, "le": le},
                        lambda i, f=frac, kk=k: int(f * kk * 10 * i)))
        out.append(("request_duration_seconds_count",
                    {"namespace": ns, "job": "api", "instance": inst},
                    lambda i, kk=k: kk * 10 * i))
        out.append(("request_duration_seconds_sum",
                    {"namespace": ns, "job": "api", "instance": inst},
                    lambda i, kk=k: kk * 2.5 * i))
        del cum
    for pod in ("p1", "p2", "p3"):
        out.append(("cpu_seconds_total", {"namespace": ns, "pod": pod, "container": "app"},
                    lambda i, kk=k, p=pod: (kk + int(p[1])) * 0.1 * i * STEP))
    out.append(("build_info", {"namespace": ns, "version": "1.%d" % k}, lambda i: 1))
    return out


def openmetrics(t0, points):
    lines = []
    all_series = []
    for k, ns in enumerate(TENANTS, start=1):
        all_series += series_of(ns, k)
    # OpenMetrics: each family's samples together, in time order.
    families = {}
    for name, labels, fn in all_series:
        families.setdefault(name, []).append((labels, fn))
    for name, members in families.items():
        for i in range(points):
            ts = t0 + i * STEP
            for labels, fn in members:
                lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
                lines.append("%s{%s} %s %d" % (name, lab, repr(float(fn(i))), ts))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


RULES = """
groups:
  - name: per-tenant
    interval: 1s
    rules:
%s
"""


def rules_yaml():
    out = []
    for ns in TENANTS:
        tag = ns.replace("-", "_")
        out.append("      - record: %s:memory_bytes:sum\n"
                   "        expr: sum(memory_bytes{namespace=\"%s\"})\n"
                   "        labels: {namespace: %s}" % (tag, ns, ns))
        out.append("      - alert: Always_%s\n"
                   "        expr: vector(1)\n"
                   "        labels: {namespace: %s, severity: info}" % (tag, ns))
    # Templates that render team-b's hidden label (client_ip) into annotations and a label.
    out.append("      - alert: Busy_team_b\n"
               "        expr: live_requests_total{namespace=\"team-b\"} > 0\n"
               "        labels: {namespace: team-b, src: 'from {{ $labels.client_ip }}'}\n"
               "        annotations:\n"
               "          summary: '{{ $labels.client_ip }} is busy'\n"
               "          runbook: 'https://rb.example/?ip={{ $labels.client_ip | urlquery }}'")
    return RULES % "\n".join(out)


class LiveTarget:
    """Serves live series for the three tenants (honor_labels keeps their namespace), in the
    OpenMetrics format with exemplars (trace ids; team-b's exemplars also carry client_ip, its
    hidden label), plus a gauge family per tenant (live_team_a_jobs, ...) so that metadata
    differs between tenants, and a histogram family (metadata names it without _bucket)."""

    def __init__(self):
        self.n = 0

        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.n += 1
                data = outer.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type",
                                 "application/openmetrics-text; version=1.0.0; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer((HOST, 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def exposition(self):
        n, now = self.n, time.time()
        out = ["# TYPE live_requests counter", "# HELP live_requests Requests served."]
        for k, ns in enumerate(TENANTS, 1):
            ex = 'trace_id="%s-%d"' % (ns, n)
            if ns == "team-b":
                ex += ',client_ip="10.0.0.%d"' % k
            out.append('live_requests_total{namespace="%s",client_ip="10.0.0.%d"} %d # {%s} %d %.3f'
                       % (ns, k, n * k, ex, k, now))
        out += ["# TYPE live_latency_seconds histogram",
                "# HELP live_latency_seconds Request latency."]
        for k, ns in enumerate(TENANTS, 1):
            for le, frac in (("0.5", 1), ("+Inf", 2)):
                out.append('live_latency_seconds_bucket{namespace="%s",le="%s"} %d # '
                           '{trace_id="%s-h%d"} 0.25 %.3f' % (ns, le, n * k * frac, ns, n, now))
            out.append('live_latency_seconds_count{namespace="%s"} %d' % (ns, n * k * 2))
            out.append('live_latency_seconds_sum{namespace="%s"} %d' % (ns, n * k))
        for ns in TENANTS:
            fam = "live_%s_jobs" % ns.replace("-", "_")
            out += ["# TYPE %s gauge" % fam, "# HELP %s Jobs queued for %s." % (fam, ns),
                    '%s{namespace="%s"} %d' % (fam, ns, n % 5)]
        out.append("# EOF")
        return "\n".join(out) + "\n"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Environment:
    def __init__(self):
        for tool in (PROMETHEUS, PROMTOOL):
            if not os.path.exists(tool):
                raise unittest.SkipTest(tool + " not installed")
        self.mint = mint_tool()
        if not os.path.exists(self.mint):
            raise unittest.SkipTest("obsgate_mint_token not built")
        self.dir = tempfile.mkdtemp(prefix="obsgate-e2e-prom-")
        self.procs = []
        now = int(time.time())
        self.t0 = (now - 8 * 3600) // 7200 * 7200
        points = 7200 // STEP
        self.T = self.t0 + 3600  # evaluation time of instant queries
        with open(self.path("data.om"), "w") as f:
            f.write(openmetrics(self.t0, points))
        os.makedirs(self.path("tsdb"))
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "-q",
                        self.path("data.om"), self.path("tsdb")], check=True,
                       capture_output=True, timeout=120)
        with open(self.path("rules.yml"), "w") as f:
            f.write(rules_yaml())
        self.live = LiveTarget()
        self.prom_port = free_port()
        with open(self.path("prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "rule_files: [%s]\n"
                    "scrape_configs:\n"
                    "  - job_name: live\n"
                    "    honor_labels: true\n"
                    "    static_configs: [{targets: ['%s:%d']}]\n"
                    % (self.path("rules.yml"), HOST, self.live.port))
        self.prom = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + self.path("prometheus.yml"),
             "--storage.tsdb.path=" + self.path("tsdb"),
             "--storage.tsdb.retention.time=30d", "--enable-feature=exemplar-storage",
             "--web.listen-address=%s:%d" % (HOST, self.prom_port)],
            stdout=subprocess.DEVNULL, stderr=open(self.path("prometheus.log"), "w"))
        self.prom_url = "http://%s:%d" % (HOST, self.prom_port)
        wait_for(self.ready, timeout=60, interval=0.2, what="prometheus ready")
        wait_for(lambda: len(self.direct("/api/v1/alerts")["data"]["alerts"]) == 4,
                 timeout=30, interval=0.3, what="alerts firing")
        wait_for(lambda: len(self.direct("/api/v1/query", query="live_requests_total")
                             ["data"]["result"]) == 3, timeout=30, interval=0.3,
                 what="live series scraped")
        wait_for(lambda: len(self.direct("/api/v1/query_exemplars", query="live_requests_total",
                                          start=now - 60, end=time.time())["data"]) == 3,
                 timeout=30, interval=0.3, what="exemplars stored")
        time.sleep(3)  # the exemplar tests read a window that ends 2 s in the past
        # Keys, tokens, obsgate.
        self.run_mint("--generate", "--key", self.path("idp.pem"), "--jwks",
                      self.path("jwks.json"), "--alg", "ES256", "--kid", "k1")
        self.gw = Gateway(self.gateway_config(), self.path("gw"))
        os.makedirs(self.path("gw"))
        self.gw.start()

    def path(self, name):
        return os.path.join(self.dir, name)

    def ready(self):
        try:
            with urllib.request.urlopen(self.prom_url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def run_mint(self, *args):
        p = subprocess.run([self.mint] + list(args), capture_output=True, timeout=30, text=True)
        if p.returncode != 0:
            raise RuntimeError(p.stderr)
        return p.stdout.strip()

    def token(self, group):
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": "obsgate", "sub": "e2e", "iat": now, "exp": now + 1800,
                  "groups": [group], "roles": ["reader"]}
        return self.run_mint("--key", self.path("idp.pem"), "--alg", "ES256", "--kid", "k1",
                             "--claims", json.dumps(claims))

    def gateway_config(self):
        paths = ["/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
                 "/api/v1/label/{name}/values", "/federate", "/api/v1/rules", "/api/v1/alerts",
                 "/api/v1/status/buildinfo", "/api/v1/query_exemplars", "/api/v1/metadata"]
        routes = [{"name": "r%d" % i, "methods": ["GET", "POST"] if "{" not in p else ["GET"],
                   "path": p, "upstream": "prom", "enforcer": "prometheus",
                   "query_params": ["query", "time", "start", "end", "step", "match[]",
                                    "limit", "metric", "limit_per_metric"]}
                  for i, p in enumerate(paths)]
        cfg = base_config(free_port(), free_port(), [{"name": "prom", "url": self.prom_url,
                                                      "api": "prometheus"}], routes)
        cfg["identity"] = {"providers": [{
            "name": "local", "issuer": ISSUER, "audiences": ["obsgate"],
            "keys": {"jwks_file": self.path("jwks.json")},
            "mapping": {"tenants": [{"claim": "groups",
                                     "values": {t: [t] for t in TENANTS}}],
                        "roles": [{"claim": "roles", "values": {"reader": ["reader"]}}]}}]}
        cfg["tenants"] = {"tenants": [
            {"name": "team-a", "metrics": {"rules": ['{namespace="team-a"}']}},
            {"name": "team-b", "metrics": {"rules": ['{namespace="team-b"}'],
                                           "hidden_labels": ["client_ip"]}},
            {"name": "team-c", "metrics": {"rules": ['{namespace="team-c"}']}},
        ]}
        return cfg

    def direct(self, path, **params):
        url = self.prom_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read())

    def direct_text(self, path, **params):
        url = self.prom_url + path + "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read().decode()

    def cleanup(self):
        for stop in (getattr(self, "gw", None), ):
            if stop is not None:
                stop.stop()
        if getattr(self, "prom", None) is not None:
            self.prom.terminate()
            try:
                self.prom.wait(10)
            except subprocess.TimeoutExpired:
                self.prom.kill()
        if getattr(self, "live", None) is not None:
            self.live.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global E
    E = Environment()


def tearDownModule():
    if E is not None:
        E.cleanup()


# --------------------------------------------------------------------------------------------


def canonical(data):
    """A comparable form of a query result: sorted series with their values."""
    rt, res = data["resultType"], data["result"]
    if rt in ("scalar", "string"):
        return rt, tuple(res)
    key = "values" if rt == "matrix" else "value"
    rows = []
    for s in res:
        v = s[key] if rt == "matrix" else [s[key]]
        rows.append((tuple(sorted(s["metric"].items())), tuple(tuple(p) for p in v)))
    return rt, tuple(sorted(rows))


# (query through obsgate as team-a, the same query scoped by hand)
QUERIES = [
    # selectors and regexes
    ("http_requests_total", "http_requests_total{%s}" % A),
    ('http_requests_total{code=~"5.."}', 'http_requests_total{code=~"5..", %s}' % A),
    ('http_requests_total{method!~"GET"}', 'http_requests_total{method!~"GET", %s}' % A),
    ('{__name__=~"http_.*|memory_.*"}', '{__name__=~"http_.*|memory_.*", %s}' % A),
    ('http_requests_total{namespace="team-b"}',
     'http_requests_total{namespace="team-b", %s}' % A),
    # range functions
    ("rate(http_requests_total[5m])", "rate(http_requests_total{%s}[5m])" % A),
    ("irate(http_requests_total[5m])", "irate(http_requests_total{%s}[5m])" % A),
    ("increase(http_requests_total[10m])", "increase(http_requests_total{%s}[10m])" % A),
    ("delta(memory_bytes[10m])", "delta(memory_bytes{%s}[10m])" % A),
    ("idelta(memory_bytes[10m])", "idelta(memory_bytes{%s}[10m])" % A),
    ("deriv(memory_bytes[10m])", "deriv(memory_bytes{%s}[10m])" % A),
    ("predict_linear(memory_bytes[10m], 600)", "predict_linear(memory_bytes{%s}[10m], 600)" % A),
    ("resets(memory_bytes[30m])", "resets(memory_bytes{%s}[30m])" % A),
    ("changes(up[30m])", "changes(up{%s}[30m])" % A),
    ("avg_over_time(memory_bytes[10m])", "avg_over_time(memory_bytes{%s}[10m])" % A),
    ("min_over_time(memory_bytes[10m])", "min_over_time(memory_bytes{%s}[10m])" % A),
    ("max_over_time(memory_bytes[10m])", "max_over_time(memory_bytes{%s}[10m])" % A),
    ("sum_over_time(up[10m])", "sum_over_time(up{%s}[10m])" % A),
    ("count_over_time(up[10m])", "count_over_time(up{%s}[10m])" % A),
    ("quantile_over_time(0.9, memory_bytes[10m])",
     "quantile_over_time(0.9, memory_bytes{%s}[10m])" % A),
    ("stddev_over_time(memory_bytes[10m])", "stddev_over_time(memory_bytes{%s}[10m])" % A),
    ("stdvar_over_time(memory_bytes[10m])", "stdvar_over_time(memory_bytes{%s}[10m])" % A),
    ("last_over_time(memory_bytes[10m])", "last_over_time(memory_bytes{%s}[10m])" % A),
    ("present_over_time(up[10m])", "present_over_time(up{%s}[10m])" % A),
    ("absent_over_time(nonexistent[5m])", "absent_over_time(nonexistent{%s}[5m])" % A),
    # instant functions
    ("abs(-memory_bytes)", "abs(-memory_bytes{%s})" % A),
    ("ceil(memory_bytes / 7)", "ceil(memory_bytes{%s} / 7)" % A),
    ("floor(memory_bytes / 7)", "floor(memory_bytes{%s} / 7)" % A),
    ("round(memory_bytes / 7, 0.5)", "round(memory_bytes{%s} / 7, 0.5)" % A),
    ("sqrt(memory_bytes)", "sqrt(memory_bytes{%s})" % A),
    ("ln(memory_bytes)", "ln(memory_bytes{%s})" % A),
    ("log2(memory_bytes) + log10(memory_bytes)",
     "log2(memory_bytes{%s}) + log10(memory_bytes{%s})" % (A, A)),
    ("exp(up)", "exp(up{%s})" % A),
    ("clamp(memory_bytes, 1000, 1001000)", "clamp(memory_bytes{%s}, 1000, 1001000)" % A),
    ("clamp_min(up, 0.5)", "clamp_min(up{%s}, 0.5)" % A),
    ("clamp_max(up, 0.5)", "clamp_max(up{%s}, 0.5)" % A),
    ("sgn(up - 0.5)", "sgn(up{%s} - 0.5)" % A),
    ("sin(up) + cos(up) + deg(up) + rad(up)",
     "sin(up{%s}) + cos(up{%s}) + deg(up{%s}) + rad(up{%s})" % (A, A, A, A)),
    ("timestamp(up)", "timestamp(up{%s})" % A),
    ("hour(timestamp(up))", "hour(timestamp(up{%s}))" % A),
    ("day_of_week(timestamp(up)) + minute(timestamp(up))",
     "day_of_week(timestamp(up{%s})) + minute(timestamp(up{%s}))" % (A, A)),
    ("month(timestamp(up)) + year(timestamp(up)) + days_in_month(timestamp(up))",
     "month(timestamp(up{%s})) + year(timestamp(up{%s})) + days_in_month(timestamp(up{%s}))"
     % (A, A, A)),
    ("histogram_quantile(0.9, rate(request_duration_seconds_bucket[10m]))",
     "histogram_quantile(0.9, rate(request_duration_seconds_bucket{%s}[10m]))" % A),
    ("histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
     "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket{%s}[10m])))"
     % A),
    ('label_replace(up, "inst", "x-$1", "instance", "i(.*)")',
     'label_replace(up{%s}, "inst", "x-$1", "instance", "i(.*)")' % A),
    ('label_join(up, "both", "/", "job", "instance")',
     'label_join(up{%s}, "both", "/", "job", "instance")' % A),
    ("sort(memory_bytes)", "sort(memory_bytes{%s})" % A),
    ("sort_desc(memory_bytes)", "sort_desc(memory_bytes{%s})" % A),
    ("scalar(sum(up))", "scalar(sum(up{%s}))" % A),
    ("vector(scalar(count(up)))", "vector(scalar(count(up{%s})))" % A),
    ("time() - timestamp(up)", "time() - timestamp(up{%s})" % A),
    ("absent(nonexistent)", "absent(nonexistent{%s})" % A),
    ("absent(up)", "absent(up{%s})" % A),
    # aggregations
    ("sum(rate(http_requests_total[5m]))", "sum(rate(http_requests_total{%s}[5m]))" % A),
    ("sum by (code) (rate(http_requests_total[5m]))",
     "sum by (code) (rate(http_requests_total{%s}[5m]))" % A),
    ("avg without (instance) (memory_bytes)", "avg without (instance) (memory_bytes{%s})" % A),
    ("count(up)", "count(up{%s})" % A),
    ("min(memory_bytes) + max(memory_bytes)",
     "min(memory_bytes{%s}) + max(memory_bytes{%s})" % (A, A)),
    ("group by (job) (up)", "group by (job) (up{%s})" % A),
    ("stddev(memory_bytes) + stdvar(memory_bytes)",
     "stddev(memory_bytes{%s}) + stdvar(memory_bytes{%s})" % (A, A)),
    ("topk(2, rate(http_requests_total[5m]))", "topk(2, rate(http_requests_total{%s}[5m]))" % A),
    ("bottomk(1, memory_bytes)", "bottomk(1, memory_bytes{%s})" % A),
    ("quantile(0.5, memory_bytes)", "quantile(0.5, memory_bytes{%s})" % A),
    ('count_values("version", build_info)', 'count_values("version", build_info{%s})' % A),
    ("sum(memory_bytes) by (instance)", "sum(memory_bytes{%s}) by (instance)" % A),
    # binary operators
    ("memory_bytes * 2 + 1", "memory_bytes{%s} * 2 + 1" % A),
    ("2 ^ up ^ 2", "2 ^ up{%s} ^ 2" % A),
    ("memory_bytes / up", "memory_bytes{%s} / up{%s}" % (A, A)),
    ("memory_bytes > bool 1000000", "memory_bytes{%s} > bool 1000000" % A),
    ("memory_bytes > 1000004", "memory_bytes{%s} > 1000004" % A),
    ("rate(http_requests_total[5m]) / on(instance) group_left memory_bytes",
     "rate(http_requests_total{%s}[5m]) / on(instance) group_left memory_bytes{%s}" % (A, A)),
    ("sum by (instance) (rate(http_requests_total[5m])) / ignoring(job) memory_bytes",
     "sum by (instance) (rate(http_requests_total{%s}[5m])) / ignoring(job) memory_bytes{%s}"
     % (A, A)),
    ("up and memory_bytes > 1000004", "up{%s} and memory_bytes{%s} > 1000004" % (A, A)),
    ("up or build_info", "up{%s} or build_info{%s}" % (A, A)),
    ('up unless up{instance="i1"}', 'up{%s} unless up{instance="i1", %s}' % (A, A)),
    ("up == bool on(instance) group_left(version) (up * on(namespace) group_left(version) "
     "build_info)",
     "up{%s} == bool on(instance) group_left(version) (up{%s} * on(namespace) "
     "group_left(version) build_info{%s})" % (A, A, A)),
    # subqueries, offset, @
    ("max_over_time(rate(http_requests_total[5m])[30m:1m])",
     "max_over_time(rate(http_requests_total{%s}[5m])[30m:1m])" % A),
    ("avg_over_time(sum(memory_bytes)[20m:2m] offset 5m)",
     "avg_over_time(sum(memory_bytes{%s})[20m:2m] offset 5m)" % A),
    ("memory_bytes offset 10m", "memory_bytes{%s} offset 10m" % A),
    ("rate(http_requests_total[5m] offset 15m)",
     "rate(http_requests_total{%s}[5m] offset 15m)" % A),
    ("memory_bytes @ {T0_PLUS}", "memory_bytes{%s} @ {T0_PLUS}" % A),
    ("rate(http_requests_total[5m] @ {T0_PLUS} offset 1m)",
     "rate(http_requests_total{%s}[5m] @ {T0_PLUS} offset 1m)" % A),
    ("memory_bytes - memory_bytes offset 1h", "memory_bytes{%s} - memory_bytes{%s} offset 1h"
     % (A, A)),
    ("(sum(rate(cpu_seconds_total[5m])) by (pod))[10m:1m]",
     "(sum(rate(cpu_seconds_total{%s}[5m])) by (pod))[10m:1m]" % A),
    # no selector at all
    ("vector(1)", "vector(1)"),
    ("time()", "time()"),
]

RANGE_QUERIES = [
    ("sum by (code) (rate(http_requests_total[5m]))",
     "sum by (code) (rate(http_requests_total{%s}[5m]))" % A),
    ("memory_bytes", "memory_bytes{%s}" % A),
    ("max_over_time(rate(http_requests_total[5m])[10m:1m])",
     "max_over_time(rate(http_requests_total{%s}[5m])[10m:1m])" % A),
]


# (exemplar query through obsgate as team-a, the same query scoped by hand)
EXEMPLAR_QUERIES = [
    ("live_requests_total", "live_requests_total{%s}" % A),
    ("rate(live_requests_total[1m])", "rate(live_requests_total{%s}[1m])" % A),
    ('live_latency_seconds_bucket{le="0.5"}', 'live_latency_seconds_bucket{le="0.5", %s}' % A),
    ("histogram_quantile(0.9, sum by (le) (rate(live_latency_seconds_bucket[1m])))",
     "histogram_quantile(0.9, sum by (le) (rate(live_latency_seconds_bucket{%s}[1m])))" % A),
    ('{__name__=~"live_.*"}', '{__name__=~"live_.*", %s}' % A),
    ("live_requests_total / on(namespace) live_latency_seconds_count",
     "live_requests_total{%s} / on(namespace) live_latency_seconds_count{%s}" % (A, A)),
]


def canonical_exemplars(data):
    """A comparable form of a query_exemplars result: groups and exemplars sorted."""
    rows = []
    for g in data:
        exs = sorted((tuple(sorted(e["labels"].items())), e["value"], e["timestamp"])
                     for e in g["exemplars"])
        rows.append((tuple(sorted(g["seriesLabels"].items())), tuple(exs)))
    return tuple(sorted(rows))


class ThroughObsgate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = {t: E.token(t) for t in TENANTS}

    def get(self, tenant, path, **params):
        target = path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        st, headers, body = E.gw.request("GET", target,
                                         headers={"Authorization": "Bearer " + self.tok[tenant]})
        return st, headers, body

    def get_json(self, tenant, path, **params):
        st, _, body = self.get(tenant, path, **params)
        self.assertEqual(st, 200, body[:500])
        return json.loads(body)

    def assert_only_team_a(self, data):
        if data.get("resultType") not in ("vector", "matrix"):
            return
        for s in data["result"]:
            ns = s.get("metric", {}).get("namespace")
            self.assertIn(ns, (None, "team-a"), s)

    def test_instant_queries_equal_hand_scoped(self):
        t0_plus = str(E.t0 + 1800)
        nonempty = 0
        for q, scoped in QUERIES:
            q = q.replace("{T0_PLUS}", t0_plus)
            scoped = scoped.replace("{T0_PLUS}", t0_plus)
            with self.subTest(q):
                got = self.get_json("team-a", "/api/v1/query", query=q, time=E.T)
                want = E.direct("/api/v1/query", query=scoped, time=E.T)
                self.assertEqual(want["status"], "success")
                self.assertEqual(canonical(got["data"]), canonical(want["data"]))
                self.assert_only_team_a(got["data"])
                if got["data"]["result"]:
                    nonempty += 1
        self.assertGreater(nonempty, len(QUERIES) - 5, "most queries must return data")

    def test_range_queries_equal_hand_scoped(self):
        for q, scoped in RANGE_QUERIES:
            with self.subTest(q):
                params = {"start": E.T - 1200, "end": E.T, "step": 60}
                got = self.get_json("team-a", "/api/v1/query_range", query=q, **params)
                want = E.direct("/api/v1/query_range", query=scoped, **params)
                self.assertEqual(canonical(got["data"]), canonical(want["data"]))
                self.assertTrue(got["data"]["result"])
                self.assert_only_team_a(got["data"])

    def test_post_form_equals_get(self):
        body = urllib.parse.urlencode({"query": "sum by (code) (http_requests_total)",
                                       "time": E.T})
        st, _, data = E.gw.request("POST", "/api/v1/query", body=body, headers={
            "Authorization": "Bearer " + self.tok["team-a"],
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, data)
        want = E.direct("/api/v1/query", query="sum by (code) (http_requests_total{%s})" % A,
                        time=E.T)
        self.assertEqual(canonical(json.loads(data)["data"]), canonical(want["data"]))

    def test_series_labels_values(self):
        span = {"start": E.t0, "end": E.t0 + 7200}
        got = self.get_json("team-a", "/api/v1/series", **{"match[]": "up"}, **span)
        want = E.direct("/api/v1/series", **{"match[]": "up{%s}" % A}, **span)
        self.assertEqual(sorted(map(json.dumps, got["data"])),
                         sorted(map(json.dumps, want["data"])))
        self.assertTrue(got["data"])
        self.assertEqual({s["namespace"] for s in got["data"]}, {"team-a"})

        got = self.get_json("team-a", "/api/v1/labels", **span)
        want = E.direct("/api/v1/labels", **{"match[]": "{%s}" % A}, **span)
        self.assertEqual(got["data"], want["data"])

        for label in ("namespace", "pod", "__name__", "version"):
            with self.subTest(label):
                got = self.get_json("team-a", "/api/v1/label/%s/values" % label, **span)
                want = E.direct("/api/v1/label/%s/values" % label, **{"match[]": "{%s}" % A},
                                **span)
                self.assertEqual(got["data"], want["data"])
                self.assertTrue(got["data"])
        self.assertEqual(self.get_json("team-a", "/api/v1/label/namespace/values",
                                       **span)["data"], ["team-a"])

    def test_federate(self):
        st, _, body = self.get("team-a", "/federate", **{"match[]": "live_requests_total"})
        self.assertEqual(st, 200, body)
        text = body.decode()
        want = E.direct_text("/federate", **{"match[]": "live_requests_total{%s}" % A})

        def series(t):
            return sorted(l.rsplit(" ", 2)[0] for l in t.splitlines()
                          if l and not l.startswith("#"))
        self.assertEqual(series(text), series(want))
        self.assertEqual(len(series(text)), 1)
        self.assertNotIn("team-b", text)

    def test_rules_and_alerts(self):
        got = self.get_json("team-a", "/api/v1/rules")
        names = sorted(r["name"] for g in got["data"]["groups"] for r in g["rules"])
        self.assertEqual(names, ["Always_team_a", "team_a:memory_bytes:sum"])
        got = self.get_json("team-a", "/api/v1/alerts")
        self.assertEqual([a["labels"]["alertname"] for a in got["data"]["alerts"]],
                         ["Always_team_a"])

    def test_alert_annotations_do_not_leak_hidden_values(self):
        # Directly, Busy_team_b renders client_ip into its annotations and its `src` label.
        direct = [a for a in E.direct("/api/v1/alerts")["data"]["alerts"]
                  if a["labels"]["alertname"] == "Busy_team_b"]
        self.assertEqual(len(direct), 1)
        self.assertIn("10.0.0.2", json.dumps(direct[0]))
        self.assertEqual(direct[0]["annotations"]["summary"], "10.0.0.2 is busy")
        st, _, body = self.get("team-b", "/api/v1/alerts")
        self.assertEqual(st, 200, body)
        got = [a for a in json.loads(body)["data"]["alerts"]
               if a["labels"]["alertname"] == "Busy_team_b"]
        self.assertEqual(len(got), 1)
        want = {k: v for k, v in direct[0]["labels"].items() if k not in ("client_ip", "src")}
        self.assertEqual(got[0]["labels"], want)
        self.assertEqual(got[0]["annotations"], {})
        self.assertNotIn(b"10.0.0.2", body)
        self.assertNotIn(b"10%2E0%2E0%2E2", body)
        # Rules: the nested alert likewise; the rule's own (unrendered) template stays.
        st, _, body = self.get("team-b", "/api/v1/rules")
        self.assertEqual(st, 200, body)
        self.assertNotIn(b"10.0.0.2", body)
        rule = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]
                if r["name"] == "Busy_team_b"][0]
        self.assertIn("$labels.client_ip", rule["annotations"]["summary"])
        self.assertEqual([a["annotations"] for a in rule["alerts"]], [{}])
        # team-a, without hidden labels, never sees team-b's alert at all.
        self.assertNotIn(b"Busy_team_b", self.get("team-a", "/api/v1/alerts")[2])

    def test_hidden_label_tenant(self):
        got = self.get_json("team-b", "/api/v1/query", query="http_requests_total", time=E.T)
        want = E.direct("/api/v1/query", query='http_requests_total{namespace="team-b"}',
                        time=E.T)
        for s in want["data"]["result"]:
            del s["metric"]["client_ip"]
        self.assertEqual(canonical(got["data"]), canonical(want["data"]))
        self.assertTrue(got["data"]["result"])
        labels = self.get_json("team-b", "/api/v1/labels", start=E.t0, end=E.t0 + 7200)
        self.assertNotIn("client_ip", labels["data"])
        st, _, body = self.get("team-b", "/federate", **{"match[]": "live_requests_total"})
        self.assertEqual(st, 200, body)
        self.assertNotIn("client_ip", body.decode())
        self.assertIn('namespace="team-b"', body.decode())

    def exemplar_span(self):
        """A closed window in the past, so that both reads see the same stored exemplars."""
        end = time.time() - 2
        return {"start": "%.3f" % (end - 600), "end": "%.3f" % end}

    def test_exemplars_equal_hand_scoped(self):
        span = self.exemplar_span()
        for q, scoped in EXEMPLAR_QUERIES:
            with self.subTest(q):
                got = self.get_json("team-a", "/api/v1/query_exemplars", query=q, **span)
                want = E.direct("/api/v1/query_exemplars", query=scoped, **span)
                self.assertEqual(want["status"], "success")
                self.assertTrue(want["data"], "Prometheus stored no exemplars for " + scoped)
                self.assertEqual(canonical_exemplars(got["data"]),
                                 canonical_exemplars(want["data"]))
                for group in got["data"]:
                    self.assertEqual(group["seriesLabels"].get("namespace"), "team-a", group)
        # The unscoped query directly does return other tenants' exemplars.
        every = E.direct("/api/v1/query_exemplars", query="live_requests_total", **span)
        self.assertEqual({g["seriesLabels"]["namespace"] for g in every["data"]}, set(TENANTS))

    def test_exemplars_hidden_label_tenant(self):
        span = self.exemplar_span()
        st, _, body = self.get("team-b", "/api/v1/query_exemplars", query="live_requests_total",
                               **span)
        self.assertEqual(st, 200, body)
        want = E.direct("/api/v1/query_exemplars",
                        query='live_requests_total{namespace="team-b"}', **span)
        self.assertIn('"client_ip"', json.dumps(want["data"]))  # there is something to strip
        for group in want["data"]:
            del group["seriesLabels"]["client_ip"]
            for ex in group["exemplars"]:
                del ex["labels"]["client_ip"]
        got = json.loads(body)["data"]
        self.assertTrue(got)
        self.assertEqual(canonical_exemplars(got), canonical_exemplars(want["data"]))
        self.assertNotIn(b"client_ip", body)
        self.assertNotIn(b"10.0.0.2", body)

    def test_metadata_only_visible_names(self):
        every = E.direct("/api/v1/metadata")["data"]
        for fam in ("live_team_a_jobs", "live_team_b_jobs", "live_team_c_jobs"):
            self.assertIn(fam, every)  # the test data has per-tenant families
        # Each tenant sees the shared families (counter, histogram) and its own gauge only.
        for tenant in TENANTS:
            with self.subTest(tenant):
                st, _, body = self.get(tenant, "/api/v1/metadata")
                self.assertEqual(st, 200, body)
                got = json.loads(body)["data"]
                own = "live_%s_jobs" % tenant.replace("-", "_")
                want = {k: v for k, v in every.items()
                        if not k.startswith("live_team_") or k == own}
                self.assertEqual(got, want)
                self.assertTrue(any(k.startswith("live_requests") for k in got), got)
                self.assertIn("live_latency_seconds", got)
                self.assertNotIn(b"client_ip", body)
        # Asking for another tenant's family by name gives nothing.
        got = self.get_json("team-a", "/api/v1/metadata", metric="live_team_b_jobs")
        self.assertEqual(got["data"], {})
        got = self.get_json("team-a", "/api/v1/metadata", metric="live_team_a_jobs")
        self.assertEqual(list(got["data"]), ["live_team_a_jobs"])

    # Runs last (unittest orders tests by name): the session currently aborts shortly after a
    # step's local reply (seen with the session of de7ff26), so refusals come after everything
    # else. Each refusal is checked on its own connection.
    def test_zz_refusals(self):
        st, _, body = self.get("team-b", "/api/v1/query", query="sum by (client_ip) (up)",
                               time=E.T)
        self.assertEqual(st, 400)
        self.assertIn("client_ip", json.loads(body)["error"])
        st, _, body = self.get("team-b", "/api/v1/query_exemplars",
                               query='live_requests_total{client_ip="10.0.0.2"}',
                               **self.exemplar_span())
        self.assertEqual(st, 400, body)
        self.assertIn("client_ip", json.loads(body)["error"])

    def test_buildinfo(self):
        got = self.get_json("team-c", "/api/v1/status/buildinfo")
        self.assertTrue(got["data"]["version"].startswith("2.42"))


if __name__ == "__main__":
    unittest.main()
