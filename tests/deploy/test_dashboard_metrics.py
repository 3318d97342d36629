"""The dashboard's and the alerts' queries against the real obsgate.

obsgate is started (tests/integration/harness.py) in front of recording upstreams, driven
through the outcomes its metrics count (proxied request, unknown route, unknown parameter,
unreachable upstream, tokens accepted, refused and cached, a PromQL rewrite error, a Loki query,
remote writes and Loki pushes accepted and rejected, OpenBao scrapes of a healthy and an
unreachable node, an identity provider whose keys never load, a rejected reload), and its
/metrics scraped; every family in it must have a dashboard panel. Then every PromQL expression
of the Grafana dashboard (panels and template variables) and of the alerting rules must:
  - parse with obsgate's own parser (`obsgate rewrite --promql EXPR --unrestricted`), after
    Grafana's macros and variables are replaced by literals (deploy_common.grafana_to_promql);
  - select only metric names that appear in the scrape (selectors are found by letting
    obsgate's enforcer add a probe matcher to each and reading them back), or that Prometheus
    itself adds (`up`).
Then a real Prometheus (Debian's package) scrapes that obsgate with the job from
deploy/prometheus/scrape-obsgate.yml and loads deploy/prometheus/obsgate-alerts.yml; every
dashboard query must evaluate there with a non-empty result, and every alerting rule must
evaluate without error.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from deploy_common import (ROOT, TokenIssuer, grafana_to_promql, load_yaml, path,
                           promql_metric_names, promql_parse, read, remote_write_body, tool)
import yaml

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (the integration tests' obsgate launcher and test upstream)

DASHBOARD = path("grafana", "dashboards", "obsgate.json")
RULES = path("prometheus", "obsgate-alerts.yml")

def _raw(status, ctype, body):
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (status, ctype, len(body))) + body


PROM_EMPTY = _raw(b"200 OK", b"application/json",
                  b'{"status":"success","data":{"resultType":"vector","result":[]}}')
LOKI_EMPTY = _raw(b"200 OK", b"application/json",
                  b'{"status":"success","data":{"resultType":"streams","result":[]}}')
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
BAO_HEALTH = _raw(b"200 OK", b"application/json",
                  b'{"initialized":true,"sealed":false,"standby":false}')
BAO_METRICS = _raw(b"200 OK", b"text/plain; version=0.0.4",
                   b"# HELP vault_core_unsealed Whether the node is unsealed.\n"
                   b"# TYPE vault_core_unsealed gauge\nvault_core_unsealed 1\n")

ISSUER = "https://idp.test/realms/deploy"

# Series that Prometheus adds to every target; they are not in obsgate's scrape.
PROMETHEUS_SERIES = {"up"}
# Families obsgate registers but exports only once they have a child, and which this test
# cannot drive. Use only when a family truly cannot be observed here; say why for each entry.
REGISTERED_BUT_EMPTY = set()


def dashboard_queries():
    d = json.loads(read(DASHBOARD))
    out = []
    for p in d["panels"]:
        for t in p.get("targets", []):
            out.append(("panel %r %s" % (p["title"], t["refId"]), t["expr"]))
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)", v["query"])
        if not m:
            raise AssertionError("variable %s: not label_values(selector, label)" % v["name"])
        out.append(("variable %s" % v["name"], m.group(1)))
    return out


def alert_queries():
    rules = load_yaml(RULES)
    return [("alert %s" % r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"]]


def scrape_names(text):
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group())
    return names


def _route(name, path, upstream, methods=("GET",), **kw):
    r = {"name": name, "methods": list(methods), "path": path, "upstream": upstream}
    r.update(kw)
    return r


class DashboardMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="obsgate-dash.")
        cls.issuer = TokenIssuer(cls.workdir, ISSUER)
        cls.prom = harness.Upstream()
        cls.prom.on("/public/query", harness.Behaviour.raw(PROM_EMPTY, keep_open=True))
        cls.prom.on("/api/v1/query", harness.Behaviour.raw(PROM_EMPTY, keep_open=True))
        cls.prom.on("/api/v1/write", harness.Behaviour.raw(NO_CONTENT, keep_open=True))
        cls.loki = harness.Upstream()
        cls.loki.on("/loki/api/v1/query_range", harness.Behaviour.raw(LOKI_EMPTY, keep_open=True))
        cls.loki.on("/loki/api/v1/push", harness.Behaviour.raw(NO_CONTENT, keep_open=True))
        cls.bao = harness.Upstream()  # the one healthy OpenBao node; the other is unreachable
        cls.bao.on("/v1/sys/health", harness.Behaviour.raw(BAO_HEALTH, keep_open=True))
        cls.bao.on("/v1/sys/metrics", harness.Behaviour.raw(BAO_METRICS, keep_open=True))
        token_file = os.path.join(cls.workdir, "bao.token")
        with open(token_file, "w") as f:
            f.write("s.test-metrics-token\n")
        dead = "http://127.0.0.1:%d" % harness.free_port()  # nothing listens: connect errors
        token = {"auth": "required", "accept": ["token"]}
        config = {
            "server": {"worker_threads": 1,
                       "listeners": [{"name": "public", "address": "127.0.0.1",
                                      "port": harness.free_port()}],
                       "timeouts": {"upstream_connect": "1s"}},
            "admin": {"address": "127.0.0.1", "port": harness.free_port()},
            "logging": {"access_log": "stdout", "decision_log": "stderr"},
            "upstreams": [
                {"name": "prometheus", "url": cls.prom.url, "api": "prometheus"},
                {"name": "loki", "url": cls.loki.url, "api": "loki"},
                {"name": "dead", "url": dead, "api": "prometheus"},
                {"name": "openbao", "url": cls.bao.url, "api": "openbao"},
            ],
            "identity": {
                "providers": [
                    {"name": "test-idp", "issuer": ISSUER, "audiences": ["obsgate"],
                     "algorithms": ["ES256"], "keys": {"jwks_file": cls.issuer.jwks},
                     "mapping": {
                         "tenants": [{"claim": "groups", "values": {"/team-a": ["team-a"]}}],
                         "roles": [{"claim": "roles", "values": {
                             r: [r] for r in ("metrics-reader", "logs-reader", "metrics-writer",
                                              "logs-writer", "metrics-collector")}}]}},
                    # A provider whose keys never load: refreshes fail (fetch_error), its
                    # usable-key gauge stays 0 (ObsgateJwksRefreshFailing, ...NoKeys).
                    {"name": "down-idp", "issuer": "http://127.0.0.1/down",
                     "audiences": ["obsgate"], "keys": {"jwks_uri": dead + "/jwks"},
                     "fetch_timeout": "500ms", "refresh": {"min": "1s", "max": "2s",
                                                           "default": "1s"}},
                ],
                "certificates": [
                    {"uri_san": "spiffe://test/reader", "name": "reader",
                     "roles": ["metrics-reader"], "tenants": ["team-a"]}]},
            "tenants": {"tenants": [{
                "name": "team-a",
                "metrics": {"rules": ['{namespace="team-a"}'], "hidden_labels": ["secret"]},
                "logs": {"rules": ['{namespace="team-a"}']},
                "write": {"tenant_label": "namespace", "on_violation": "reject"}}]},
            "openbao": {"token_file": token_file, "scrape_timeout": "2s",
                        "nodes": [{"name": "bao-0", "url": cls.bao.url},
                                  {"name": "bao-1", "url": dead + "/bao",
                                   "unauthenticated_metrics": True}]},
            "routes": [
                _route("prom-query", "/api/v1/query", "prometheus", auth="required",
                       roles=["metrics-reader"], enforcer="prometheus", query_params=["query"]),
                _route("loki-query-range", "/loki/api/v1/query_range", "loki",
                       roles=["logs-reader"], enforcer="loki", query_params=["query"], **token),
                _route("loki-push", "/loki/api/v1/push", "loki", ["POST"],
                       roles=["logs-writer"], enforcer="loki_push", **token),
                _route("prom-remote-write", "/api/v1/write", "prometheus", ["POST"],
                       roles=["metrics-writer"], enforcer="remote_write", **token),
                _route("dead-query", "/dead/query", "dead", auth="unsafe_none"),
                _route("public-query", "/public/query", "prometheus", auth="unsafe_none",
                       query_params=["query"]),
                _route("openbao-active", "/openbao/v1/sys/metrics", "openbao",
                       roles=["metrics-collector"], enforcer="openbao_active",
                       query_params=["format"], **token),
                _route("openbao-all-nodes", "/openbao/nodes/metrics", "openbao",
                       roles=["metrics-collector"], enforcer="openbao_fanout", **token),
            ],
        }
        cls.gw = harness.Gateway(config, cls.workdir)
        try:
            # /readyz waits for every provider's keys, and down-idp's never come.
            cls.gw.start(ready_path="/healthz")
            cls.scrape = cls.drive()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        for up in (cls.prom, cls.loki, cls.bao):
            up.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def drive(cls):
        """Drives obsgate through the outcomes its metrics count, each checked by its status."""
        gw, iss = cls.gw, cls.issuer
        def bearer(**claims):
            return {"Authorization": "Bearer " + iss.token(sub="deploy-test", **claims)}
        reader = bearer(groups=["/team-a"], roles=["metrics-reader", "logs-reader"])
        writer = bearer(groups=["/team-a"], roles=["metrics-writer", "logs-writer"])
        collector = bearer(roles=["metrics-collector"])
        push = {"Content-Type": "application/json"}
        rw = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}
        ns = str(int(time.time() * 1e9))
        ms = int(time.time() * 1000)

        def loki_push(namespace):
            return json.dumps({"streams": [{"stream": {"app": "api", "namespace": namespace},
                                            "values": [[ns, "line"]]}]}).encode()

        def write(namespace):
            return remote_write_body([({"__name__": "up", "namespace": namespace},
                                       [(1.0, ms)])])
        def q(params):
            return "?" + urllib.parse.urlencode(params)
        outcomes = [
            ("GET", "/nope", None, {}, 404),                           # no route
            ("GET", "/public/query?foo=1", None, {}, 400),             # parameter denied
            ("GET", "/dead/query", None, {}, 502),                     # upstream error
            ("GET", "/public/query?query=up", None, {}, 200),          # proxied
            ("GET", "/api/v1/query?query=up", None, reader, 200),      # token, enforced
            ("GET", "/api/v1/query?query=up", None, reader, 200),      # token cache hit
            ("GET", "/api/v1/query?query=up", None, {}, 401),          # no credentials
            ("GET", "/api/v1/query?query=up", None,
             {"Authorization": "Bearer not.a.token"}, 401),            # malformed token
            ("GET", "/api/v1/query?query=up", None, writer, 403),      # insufficient role
            ("GET", "/api/v1/query" + q({"query": 'up{secret="x"}'}), None, reader,
             400),                                                     # rewrite error
            ("GET", "/loki/api/v1/query_range" + q({"query": '{app="api"}'}), None, reader,
             200),                                                     # loki enforced
            ("POST", "/loki/api/v1/push", loki_push("team-a"), dict(writer, **push),
             204),                                                     # push accepted
            ("POST", "/loki/api/v1/push", loki_push("team-b"), dict(writer, **push),
             403),                                                     # push rejected
            ("POST", "/api/v1/write", write("team-a"), dict(writer, **rw), 204),  # accepted
            ("POST", "/api/v1/write", write("team-b"), dict(writer, **rw), 403),  # rejected
            ("GET", "/openbao/v1/sys/metrics?format=prometheus", None, collector, 200),
            ("GET", "/openbao/nodes/metrics", None, collector, 200),   # bao-1 unreachable
        ]
        for method, target, body, headers, want in outcomes:
            status, _, got = gw.request(method, target, body=body, headers=headers)
            assert status == want, (method, target, status, want, got[:300])
        # A rejected reload: the failure is counted and the old configuration keeps serving.
        gw.write_config(text="server: [this is not a config")
        gw.signal(signal.SIGHUP)
        harness.wait_for(lambda: gw.metric("obsgate_config_last_reload_success") == 0,
                         timeout=10, what="a rejected reload")
        gw.write_config(config=gw.config)
        # The request counters are bumped after the response is sent: wait for all of them.
        harness.wait_for(lambda: sum(v for k, v in cls.samples(gw.metrics()).items()
                                     if k.startswith("obsgate_http_requests_total")) >=
                         len(outcomes), timeout=10, what="request counters")
        # down-idp's first key fetch has failed by now (fetch_timeout 500ms, refresh 1s).
        harness.wait_for(lambda: any(k.startswith("obsgate_jwks_refresh_total{") and
                                     'provider="down-idp"' in k and 'result="ok"' not in k
                                     and v > 0 for k, v in cls.samples(gw.metrics()).items()),
                         timeout=10, what="a failed key-set refresh")
        return gw.metrics()

    @staticmethod
    def samples(text):
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def observed(self):
        return scrape_names(self.scrape) | PROMETHEUS_SERIES | REGISTERED_BUT_EMPTY

    def problems(self, expr):
        """What is wrong with one query: [] when it parses and every name is observed."""
        promql = grafana_to_promql(expr)
        ok, msg = promql_parse(promql)
        if not ok:
            return ["obsgate's parser rejects %r: %s" % (promql, msg)]
        names = promql_metric_names(promql)
        if not names:
            return ["no selector in %r" % promql]
        observed = self.observed()
        return ["a selector without a metric name" if n is None else
                "%s is not in obsgate's /metrics" % n
                for n in names if n is None or n not in observed]

    def check(self, queries):
        self.assertTrue(queries)
        for where, expr in queries:
            with self.subTest(query=where):
                self.assertEqual(self.problems(expr), [], where)

    def test_scrape_has_what_was_driven(self):
        s = self.samples(self.scrape)
        def has(name, **labels):
            return any(k.startswith(name + "{") and
                       all('%s="%s"' % kv in k for kv in labels.items()) for k in s)
        self.assertTrue(has("obsgate_http_requests_total", route="public-query", code="200"))
        self.assertTrue(has("obsgate_upstream_errors_total", upstream="dead"))
        self.assertTrue(has("obsgate_local_replies_total"))
        self.assertTrue(has("obsgate_config_reloads_total", result="failure"))
        self.assertTrue(has("obsgate_authn_total", result="deny"))
        self.assertTrue(has("obsgate_authn_total", result="allow", reason="token"))
        self.assertTrue(has("obsgate_token_cache_total", result="hit"))
        self.assertTrue(has("obsgate_prometheus_requests_total", result="enforced"))
        self.assertTrue(has("obsgate_loki_requests_total", result="enforced"))
        self.assertTrue(has("obsgate_rewrite_errors_total", api="prometheus"))
        self.assertTrue(has("obsgate_jwks_refresh_total", provider="test-idp", result="ok"))
        self.assertTrue(has("obsgate_jwks_refresh_total", provider="down-idp",
                            result="fetch_error"))
        self.assertTrue(has("obsgate_jwks_keys", provider="test-idp"))
        for api in ("remote_write", "loki_push"):
            for result in ("accepted", "rejected"):
                self.assertTrue(has("obsgate_ingest_series_total", api=api, result=result))
        self.assertTrue(has("obsgate_openbao_node_health_state", node="bao-0", state="active"))
        self.assertTrue(has("obsgate_openbao_node_health_state", node="bao-1",
                            state="unreachable"))
        self.assertTrue(has("obsgate_openbao_scrapes_total", node="bao-1", result="unreachable"))
        self.assertTrue(has("obsgate_openbao_active_lookups_total", result="found"))

    def test_every_family_has_a_panel(self):
        # Every metric family obsgate exports is on the dashboard: a family that lands later
        # without a panel fails here. (Histograms count by their family name.)
        families = set(re.findall(r"^# TYPE (obsgate_[a-z0-9_]+) ", self.scrape, re.M))
        self.assertGreater(len(families), 20)
        used = set()
        for _, expr in dashboard_queries():
            for n in promql_metric_names(grafana_to_promql(expr)):
                used.add(re.sub(r"_(bucket|sum|count)$", "", n or ""))
        self.assertEqual(sorted(families - used), [])

    def test_dashboard_queries(self):
        self.check(dashboard_queries())

    def test_alert_queries(self):
        self.check(alert_queries())

    def test_check_can_fail(self):
        # A metric name obsgate does not export, an expression its parser rejects, a selector
        # without a name.
        self.assertIn("obsgate_no_such_metric_total is not in obsgate's /metrics",
                      self.problems("rate(obsgate_no_such_metric_total[$__rate_interval])"))
        broken = "sum(rate(obsgate_http_requests_total[5m])"
        self.assertIn("parser rejects", self.problems(broken)[0])
        self.assertEqual(self.problems('{__name__=~"obsgate_.+"}'),
                         ["a selector without a metric name"])

    def test_legend_labels_exist(self):
        # {{label}} in a legend must be a label the panel's query keeps.
        d = json.loads(read(DASHBOARD))
        for p in d["panels"]:
            for t in p.get("targets", []):
                for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")):
                    with self.subTest(panel=p["title"], label=label):
                        by = re.findall(r"by \(([^)]*)\)", t["expr"])
                        kept = {x.strip() for b in by for x in b.split(",")}
                        self.assertIn(label, kept)


class PrometheusEvaluationTest(unittest.TestCase):
    """The dashboard and the alerts evaluated by a real Prometheus scraping a real obsgate."""

    @classmethod
    def setUpClass(cls):
        DashboardMetricsTest.setUpClass()
        cls.gw = DashboardMetricsTest.gw
        cls.dir = tempfile.mkdtemp(prefix="obsgate-prom.")
        cls.proc = None
        try:
            cls.start_prometheus()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proc is not None:
            cls.proc.kill()
            cls.proc.wait(10)
        DashboardMetricsTest.tearDownClass()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def start_prometheus(cls):
        # The shipped job, pointed at this obsgate, scraping every second; the shipped rules.
        cfg = load_yaml(path("prometheus", "scrape-obsgate.yml"))
        (job,) = cfg["scrape_configs"]
        job["static_configs"] = [{"targets": ["127.0.0.1:%d" % cls.gw.admin_port]}]
        job["scrape_interval"] = "1s"
        cfg["rule_files"] = [RULES]
        cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        conf = os.path.join(cls.dir, "prometheus.yml")
        with open(conf, "w") as f:
            yaml.safe_dump(cfg, f)
        cls.port = harness.free_port()
        cls.log = open(os.path.join(cls.dir, "prometheus.log"), "wb")
        cls.proc = subprocess.Popen(
            [tool("prometheus"), "--config.file=" + conf,
             "--storage.tsdb.path=" + os.path.join(cls.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % cls.port, "--log.level=warn"],
            stdout=cls.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # Enough scrapes for rate() over any window to have two samples.
        harness.wait_for(lambda: cls.value("count_over_time(obsgate_build_info[5m])") >= 4,
                         timeout=60, interval=0.5, what="four scrapes of obsgate")

    @classmethod
    def api(cls, endpoint, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (cls.port, endpoint,
                                                   urllib.parse.urlencode(params))
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)

    @classmethod
    def value(cls, expr):
        try:
            res = cls.api("query", query=expr)["data"]["result"]
        except OSError:
            return 0
        return float(res[0]["value"][1]) if res else 0

    @staticmethod
    def live(expr):
        """A Grafana query as Prometheus would receive it for job=obsgate, all replicas."""
        expr = re.sub(r"\$__(rate_interval|interval)\b", "5m", expr)
        expr = expr.replace("$__range", "1h")
        return expr.replace("$job", "obsgate").replace("$instance", ".+")

    def test_dashboard_queries_return_data(self):
        for where, expr in dashboard_queries():
            if where.startswith("variable"):
                continue
            with self.subTest(query=where):
                r = self.api("query", query=self.live(expr))
                self.assertEqual(r["status"], "success", r)
                self.assertTrue(r["data"]["result"], "%s: no data for %s" % (where, expr))

    def test_alert_rules_evaluate(self):
        def loaded():
            groups = self.api("rules", type="alert")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r.get("lastEvaluation", "").startswith("2")
                                          and not r["lastEvaluation"].startswith("0001")
                                          for r in rules) else None
        rules = harness.wait_for(loaded, timeout=30, interval=0.5, what="rule evaluation")
        self.assertEqual({r["name"] for r in rules}, {q[6:] for q, _ in alert_queries()})
        for r in rules:
            with self.subTest(alert=r["name"]):
                self.assertEqual(r["health"], "ok", r.get("lastError"))


if __name__ == "__main__":
    unittest.main()
