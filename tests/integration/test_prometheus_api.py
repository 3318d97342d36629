"""The Prometheus query API through obsgate (enforcer: prometheus), against a recording double.

Tokens are minted by obsgate_mint_token (tests/tools/) for a JWKS-file provider; each test
asserts what the client got and what the upstream received (decoded query string and form body),
in particular that a refused request never reached it.
"""

import http.server
import json
import os
import subprocess
import threading
import unittest
import urllib.parse

from harness import (HOST, GatewayTestCase, TokenIssuer, base_config, free_port, obsgate_bin,
                     wait_for)

ISSUER = "https://idp.test/prom"
AUDIENCE = "obsgate"
HIDDEN = "client_ip"

ENV = None


class Env(TokenIssuer):
    def __init__(self):
        super().__init__(ISSUER, AUDIENCE, prefix="obsgate-it-prom-", lifetime=600)

    def token(self, groups=(), roles=("obs-reader",)):
        return super().token(groups=list(groups), roles=list(roles))

def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    import shutil
    if ENV is not None:
        ENV.close()


# --------------------------------------------------------------------------------------------
# A Prometheus double: records each request's method, path, URL and form parameters and headers,
# and answers per path with a canned body.

class Seen:
    def __init__(self, method, path, query, form, headers):
        self.method = method
        self.path = path
        self.query = query  # [(k, v)] decoded, in order
        self.form = form    # [(k, v)] decoded from an urlencoded body, in order
        self.headers = headers

    def params(self, key):
        return [v for k, v in self.form + self.query if k == key]


class PromDouble:
    def __init__(self):
        self.seen = []
        self.bodies = {}  # path -> (status, content type, bytes)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_one(self):
                u = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                form = []
                if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
                with outer.lock:
                    outer.seen.append(Seen(self.command, u.path,
                                           urllib.parse.parse_qsl(u.query,
                                                                  keep_blank_values=True),
                                           form, dict(self.headers.items())))
                    status, ctype, data = outer.bodies.get(
                        u.path, (200, "application/json",
                                 b'{"status":"success","data":{"resultType":"vector",'
                                 b'"result":[]}}'))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = handle_one
            do_POST = handle_one

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d" % (HOST, self.server.server_address[1])

    def answer(self, path, body, status=200, ctype="application/json"):
        with self.lock:
            self.bodies[path] = (status, ctype, body if isinstance(body, bytes) else body.encode())

    def requests(self, path=None):
        with self.lock:
            return [s for s in self.seen if path is None or s.path == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


PATHS = ["/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars", "/api/v1/series",
         "/api/v1/labels", "/api/v1/label/{name}/values", "/federate", "/api/v1/rules",
         "/api/v1/alerts", "/api/v1/metadata", "/api/v1/status/buildinfo"]
PARAMS = ["query", "time", "start", "end", "step", "timeout", "limit", "match[]", "type",
          "metric"]


def tenants_section():
    return {
        "unrestricted_roles": ["platform-admin"],
        "tenants": [
            {"name": "team-a", "metrics": {"rules": ['{namespace="team-a"}'],
                                           "hidden_labels": [HIDDEN]}},
            {"name": "team-b", "metrics": {"rules": ['{namespace="team-b"}']}},
            {"name": "team-c"},  # no metrics section: no access
        ],
    }


def gateway_config(up_url):
    routes = []
    for p in PATHS:
        name = p.strip("/").replace("/", "-").replace("{", "").replace("}", "")
        routes.append({"name": name, "methods": ["GET", "POST"] if "{" not in p else ["GET"],
                       "path": p, "upstream": "prom", "enforcer": "prometheus",
                       "query_params": PARAMS})
    cfg = base_config(free_port(), free_port(), [{"name": "prom", "url": up_url,
                                                  "api": "prometheus"}], routes)
    cfg["identity"] = {"providers": [{
        "name": "local", "issuer": ISSUER, "audiences": [AUDIENCE],
        "keys": {"jwks_file": ENV.path("jwks.json")},
        "mapping": {
            "roles": [{"claim": "roles", "values": {"obs-admin": ["platform-admin"],
                                                    "obs-reader": ["reader"]}}],
            "tenants": [{"claim": "groups", "values": {"/team-a": ["team-a"],
                                                       "/team-b": ["team-b"],
                                                       "/team-c": ["team-c"]}}],
        }}]}
    cfg["tenants"] = tenants_section()
    return cfg


class PrometheusApiTest(GatewayTestCase):
    def setUp(self):
        import shutil
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix="obsgate-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.prom = PromDouble()
        self.addCleanup(self.prom.stop)
        self.gw = self.start_gateway(gateway_config(self.prom.url))
        self.tok_a = ENV.token(groups=["/team-a"])

    # -- helpers

    def call(self, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        return self.gw.request(method, path, body=body, headers=h)

    def assert_error(self, resp, status, text=None):
        st, headers, body = resp
        self.assertEqual(st, status, body)
        doc = json.loads(body)
        self.assertEqual(doc["status"], "error")
        if text:
            self.assertIn(text, doc["error"])
        self.assertEqual(self.prom.requests(), [], "a refused request reached the upstream")

    def only(self, path):
        reqs = wait_for(lambda: self.prom.requests(path), what="upstream request")
        self.assertEqual(len(reqs), 1)
        return reqs[0]

    # -- requests

    def test_get_query_is_scoped(self):
        st, _, body = self.call("GET", "/api/v1/query?query=" + urllib.parse.quote("up") +
                                "&time=10", self.tok_a)
        self.assertEqual(st, 200, body)
        seen = self.only("/api/v1/query")
        self.assertEqual(seen.method, "GET")
        self.assertEqual(seen.params("query"), ['up{namespace="team-a"}'])
        self.assertEqual(seen.params("time"), ["10"])
        self.assertNotIn("Authorization", seen.headers)

    def test_post_form_is_scoped_and_rebuilt(self):
        st, _, body = self.call("POST", "/api/v1/query_range?start=1",
                                self.tok_a, body="query=rate(x%5B5m%5D)&end=2&step=1")
        self.assertEqual(st, 200, body)
        seen = self.only("/api/v1/query_range")
        self.assertEqual(seen.method, "POST")
        self.assertEqual(seen.query, [], "a POST is forwarded with its parameters in the body")
        self.assertEqual(seen.params("query"), ['rate(x{namespace="team-a"}[5m])'])
        self.assertEqual(sorted(k for k, _ in seen.form), ["end", "query", "start", "step"])

    def test_parameter_pollution_is_refused(self):
        # All on one gateway, one after another: every refusal is a local reply, and the
        # gateway must keep serving after each (it once aborted after the first).
        cases = [
            ("query in URL and body", "POST", "/api/v1/query?query=up", "query=secret",
             "query"),
            ("query twice in URL", "GET", "/api/v1/query?query=up&query=secret", None,
             "query"),
            ("query twice in body", "POST", "/api/v1/query", "query=up&query=secret", "query"),
            ("time twice in body", "POST", "/api/v1/query", "query=up&time=1&time=2", "time"),
            ("time in URL and body", "POST", "/api/v1/query?time=1", "query=up&time=2", "time"),
            ("range start twice", "GET",
             "/api/v1/query_range?query=up&start=1&start=2&end=3&step=1", None, "start"),
            ("range step in URL and body", "POST", "/api/v1/query_range?step=1",
             "query=up&start=1&end=3&step=2", "step"),
            ("unlisted parameter", "GET", "/api/v1/query?query=up&debug=1", None, None),
        ]
        for name, method, path, body, text in cases:
            with self.subTest(name):
                st, _, resp = self.call(method, path, self.tok_a, body=body)
                self.assertEqual(st, 400, resp)
                doc = json.loads(resp)
                self.assertEqual((doc["status"], doc["errorType"]), ("error", "bad_data"))
                if text:
                    self.assertIn(text, doc["error"])
                self.assertEqual(self.prom.requests(), [], "a refused request reached Prometheus")
        st, _, resp = self.call("GET", "/api/v1/query?query=up", self.tok_a)
        self.assertEqual(st, 200, resp)
        self.assertEqual(self.only("/api/v1/query").params("query"), ['up{namespace="team-a"}'])

    def test_match_in_url_and_body_both_enforced(self):
        self.prom.answer("/api/v1/series", '{"status":"success","data":[]}')
        st, _, body = self.call("POST", "/api/v1/series?match[]=a", self.tok_a,
                                body="match%5B%5D=b")
        self.assertEqual(st, 200, body)
        seen = self.only("/api/v1/series")
        self.assertEqual(sorted(seen.params("match[]")),
                         ['a{namespace="team-a"}', 'b{namespace="team-a"}'])

    def test_hidden_label_in_query_is_400_naming_it(self):
        q = urllib.parse.quote("sum by (%s) (up)" % HIDDEN)
        self.assert_error(self.call("GET", "/api/v1/query?query=" + q, self.tok_a), 400, HIDDEN)

    def test_hidden_label_values_is_403(self):
        self.assert_error(self.call("GET", "/api/v1/label/%s/values" % HIDDEN, self.tok_a), 403)

    def test_label_values_get_the_scope(self):
        self.prom.answer("/api/v1/label/job/values", '{"status":"success","data":["api"]}')
        st, _, body = self.call("GET", "/api/v1/label/job/values", self.tok_a)
        self.assertEqual(st, 200, body)
        seen = self.only("/api/v1/label/job/values")
        self.assertEqual(seen.params("match[]"), ['{__name__=~".+", namespace="team-a"}'])

    def test_no_tenant_no_access(self):
        self.assert_error(self.call("GET", "/api/v1/query?query=up", ENV.token(groups=[])), 403)

    def test_tenant_without_metrics_no_access(self):
        self.assert_error(self.call("GET", "/api/v1/query?query=up",
                                    ENV.token(groups=["/team-c"])), 403)

    def test_tenant_header(self):
        tok = ENV.token(groups=["/team-a", "/team-b"])
        st, _, body = self.call("GET", "/api/v1/query?query=up", tok,
                                headers={"X-Obsgate-Tenant": "team-b"})
        self.assertEqual(st, 200, body)
        seen = self.only("/api/v1/query")
        self.assertEqual(seen.params("query"), ['up{namespace="team-b"}'])
        self.assertNotIn("X-Obsgate-Tenant", seen.headers)
        self.prom.seen.clear()
        self.assert_error(self.call("GET", "/api/v1/query?query=up", self.tok_a,
                                    headers={"X-Obsgate-Tenant": "team-b"}), 403)

    def test_unrestricted_role_passes_untouched(self):
        tok = ENV.token(roles=["obs-admin"])
        st, _, body = self.call("GET", "/api/v1/query?query=up", tok)
        self.assertEqual(st, 200, body)
        self.assertEqual(self.only("/api/v1/query").params("query"), ["up"])

    def test_buildinfo_passes(self):
        self.prom.answer("/api/v1/status/buildinfo", '{"status":"success","data":{}}')
        st, _, body = self.call("GET", "/api/v1/status/buildinfo", self.tok_a)
        self.assertEqual(st, 200, body)
        self.only("/api/v1/status/buildinfo")

    # -- responses

    def test_hidden_labels_stripped_from_results(self):
        self.prom.answer("/api/v1/query", json.dumps({
            "status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "up", HIDDEN: "1.2.3.4", "namespace": "team-a"},
                 "value": [1, "1"]}]}}))
        st, _, body = self.call("GET", "/api/v1/query?query=up", self.tok_a,
                                headers={"Accept-Encoding": "gzip"})
        self.assertEqual(st, 200, body)
        doc = json.loads(body)
        self.assertEqual(doc["data"]["result"][0]["metric"],
                         {"__name__": "up", "namespace": "team-a"})
        self.assertIsNone(self.only("/api/v1/query").headers.get("Accept-Encoding"))

    def test_tenant_without_hidden_labels_streams_untouched(self):
        raw = '{"status":"success","data":{"resultType":"vector","result":[' \
              '{"metric":{"client_ip":"x","namespace":"team-b"},"value":[1,"1"]}]}}'
        self.prom.answer("/api/v1/query", raw)
        st, _, body = self.call("GET", "/api/v1/query?query=up", ENV.token(groups=["/team-b"]))
        self.assertEqual(st, 200)
        self.assertEqual(body.decode(), raw)

    def test_alerts_filtered_by_scope(self):
        self.prom.answer("/api/v1/alerts", json.dumps({"status": "success", "data": {"alerts": [
            {"labels": {"alertname": "A", "namespace": "team-a"}, "state": "firing"},
            {"labels": {"alertname": "B", "namespace": "team-b"}, "state": "firing"}]}}))
        st, _, body = self.call("GET", "/api/v1/alerts", self.tok_a)
        self.assertEqual(st, 200, body)
        names = [a["labels"]["alertname"] for a in json.loads(body)["data"]["alerts"]]
        self.assertEqual(names, ["A"])

    # (Was skipped while the session aborted after a step's local reply; fixed in cd36f41.)
    def test_rewrite_errors_are_counted(self):
        q = urllib.parse.quote("sum(")
        self.call("GET", "/api/v1/query?query=" + q, self.tok_a)
        wait_for(lambda: (self.gw.metric("obsgate_rewrite_errors_total", api="prometheus",
                                         reason="query") or 0) >= 1,
                 what="rewrite error counter")


class RewriteConfigTest(unittest.TestCase):
    """obsgate rewrite --config F --tenant T: the policy from the file, resolved as the gateway
    resolves it."""

    def setUp(self):
        import shutil
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="obsgate-it-rw-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        cfg = base_config(free_port(), free_port(),
                          [{"name": "prom", "url": "http://127.0.0.1:1", "api": "prometheus"}],
                          [{"name": "q", "methods": ["GET"], "path": "/api/v1/query",
                            "upstream": "prom", "auth": "unsafe_none"}])
        cfg["tenants"] = tenants_section()
        cfg["tenants"]["audit"] = {"streams": ['{stream="audit"}'], "auditor_roles": ["auditor"]}
        cfg["tenants"]["tenants"][0]["logs"] = {"rules": ['{namespace="team-a"}']}
        self.file = os.path.join(self.dir, "obsgate.yaml")
        with open(self.file, "w") as f:
            json.dump(cfg, f)

    def run_rewrite(self, *args):
        p = subprocess.run([obsgate_bin(), "rewrite", "--config", self.file] + list(args),
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def test_cases(self):
        cases = [
            ("promql", ["--tenant", "team-a", "--promql", "up"], 0,
             'up{namespace="team-a"}\n', None),
            ("two tenants collapse", ["--tenant", "team-a", "--tenant", "team-b", "--promql",
                                      "up"], 0, 'up{namespace=~"team\\\\-a|team\\\\-b"}\n', None),
            ("hidden label", ["--tenant", "team-a", "--promql", "sum by (client_ip) (up)"], 1,
             "", "client_ip"),
            ("no metrics scope", ["--tenant", "team-c", "--promql", "up"], 1, "", "no metrics"),
            ("unknown tenant", ["--tenant", "nope", "--promql", "up"], 1, "", "not configured"),
            ("unrestricted role", ["--tenant", "team-a", "--role", "platform-admin", "--promql",
                                   "up"], 0, "up\n", None),
            ("logql with audit negation", ["--tenant", "team-a", "--logql", '{app="x"}'], 0,
             '{app="x", namespace="team-a", stream!="audit"}\n', None),
            ("logql auditor", ["--tenant", "team-a", "--role", "auditor", "--logql",
                               '{app="x"}'], 0, '{app="x", namespace="team-a"}\n', None),
            ("no --tenant", ["--promql", "up"], 2, "", "--tenant"),
            ("--scope with --config", ["--tenant", "team-a", "--scope", '{a="b"}', "--promql",
                                       "up"], 2, "", "--config"),
        ]
        for name, args, code, out, err in cases:
            with self.subTest(name):
                rc, stdout, stderr = self.run_rewrite(*args)
                self.assertEqual(rc, code, stderr)
                if out is not None:
                    self.assertEqual(stdout, out)
                if err is not None:
                    self.assertIn(err, stderr)


if __name__ == "__main__":
    unittest.main()
