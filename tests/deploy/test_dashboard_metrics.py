"""The dashboard's and the alerts' queries against the real obsgate.

obsgate is started (tests/integration/harness.py) in front of a recording upstream, driven
through the outcomes its metrics count (proxied request, unknown route, unknown parameter,
unreachable upstream, rejected reload), and its /metrics scraped. Then every PromQL expression
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
import unittest
import urllib.parse
import urllib.request

from deploy_common import (ROOT, grafana_to_promql, load_yaml, path,
                           promql_metric_names, promql_parse, read, tool)
import yaml

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (the integration tests' obsgate launcher and test upstream)

DASHBOARD = path("grafana", "dashboards", "obsgate.json")
RULES = path("prometheus", "obsgate-alerts.yml")

PROM_EMPTY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 63\r\n"
              b"\r\n" b'{"status":"success","data":{"resultType":"vector","result":[]}}')
_HEALTH = b'{"initialized":true,"sealed":false,"standby":false}'
BAO_HEALTH = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(_HEALTH)) + _HEALTH
_EXPOSITION = (b"# HELP vault_core_unsealed Whether the node is unsealed.\n"
               b"# TYPE vault_core_unsealed gauge\nvault_core_unsealed 1\n")
BAO_METRICS = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
               b"Content-Length: %d\r\n\r\n" % len(_EXPOSITION)) + _EXPOSITION

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


class DashboardMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="obsgate-dash.")
        cls.upstream = harness.Upstream()
        cls.upstream.on("/public/query", harness.Behaviour.raw(PROM_EMPTY, keep_open=True))
        cls.bao = harness.Upstream()  # one OpenBao node
        cls.bao.on("/v1/sys/health", harness.Behaviour.raw(BAO_HEALTH, keep_open=True))
        cls.bao.on("/v1/sys/metrics", harness.Behaviour.raw(BAO_METRICS, keep_open=True))
        token_file = os.path.join(cls.workdir, "bao.token")
        with open(token_file, "w") as f:
            f.write("s.test-metrics-token\n")
        dead = harness.free_port()  # nothing listens there: connect errors
        config = {
            "server": {"worker_threads": 1,
                       "listeners": [{"name": "public", "address": "127.0.0.1",
                                      "port": harness.free_port()}],
                       "timeouts": {"upstream_connect": "1s"}},
            "admin": {"address": "127.0.0.1", "port": harness.free_port()},
            "logging": {"access_log": "stdout", "decision_log": "stderr"},
            "upstreams": [
                {"name": "prometheus", "url": cls.upstream.url, "api": "prometheus"},
                {"name": "dead", "url": "http://127.0.0.1:%d" % dead, "api": "prometheus"},
                {"name": "openbao", "url": cls.bao.url, "api": "openbao"},
            ],
            "identity": {"certificates": [
                {"uri_san": "spiffe://test/reader", "name": "reader", "roles": ["metrics-reader"],
                 "tenants": ["team-a"]},
                {"uri_san": "spiffe://test/collector", "name": "collector",
                 "roles": ["metrics-collector"]}]},
            "tenants": {"tenants": [{"name": "team-a", "metrics": {
                "rules": ['{namespace="team-a"}'], "hidden_labels": ["secret"]}}]},
            "openbao": {"token_file": token_file, "scrape_timeout": "2s",
                        "nodes": [{"name": "bao-0", "url": cls.bao.url}]},
            "routes": [
                {"name": "prom-query", "methods": ["GET"], "path": "/api/v1/query",
                 "upstream": "prometheus", "auth": "required", "accept": ["certificate"],
                 "roles": ["metrics-reader"], "enforcer": "prometheus",
                 "query_params": ["query"]},
                {"name": "dead-query", "methods": ["GET"], "path": "/dead/query",
                 "upstream": "dead", "auth": "unsafe_none"},
                {"name": "public-query", "methods": ["GET"], "path": "/public/query",
                 "upstream": "prometheus", "auth": "unsafe_none", "query_params": ["query"]},
                {"name": "openbao-all-nodes", "methods": ["GET"], "path": "/openbao/nodes/metrics",
                 "upstream": "openbao", "auth": "required", "accept": ["certificate"],
                 "roles": ["metrics-collector"], "enforcer": "openbao_fanout"},
            ],
        }
        cls.gw = harness.Gateway(config, cls.workdir)
        cls.gw.start()
        try:
            cls.scrape = cls.drive()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.upstream.stop()
        cls.bao.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    @classmethod
    def drive(cls):
        gw = cls.gw
        # Requests on the auth-required routes are not driven: this build's obsgate crashes
        # (double free) on the request after an authentication step answers (reported). The
        # steps' outcome families are complete from start-up, so the authentication and
        # enforcement panels are still checked against the families obsgate registers.
        outcomes = [
            ("/nope", 404),                              # no route
            ("/public/query?foo=1", 400),                # parameter denied
            ("/dead/query", 502),                        # upstream error
            ("/public/query?query=up", 200),             # proxied
        ]
        for target, want in outcomes:
            status, _, body = gw.request("GET", target)
            assert status == want, (target, status, want, body[:300])
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
        self.assertTrue(has("obsgate_prometheus_requests_total"))

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
