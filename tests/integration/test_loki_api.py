"""The Loki query API through obsgate (enforcer: loki / loki_tail), against the Loki double
(tests/doubles) in multi-tenant mode.

Tokens are minted by obsgate_mint_token (tests/tools/). Every test asserts what the double
received (the enforced selector, the X-Scope-OrgID) as well as what the client got; refused
requests must not reach the double at all.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import urllib.parse

from harness import REPO_ROOT, GatewayTestCase, TokenIssuer, base_config, free_port, wait_for

sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "doubles"))
from launch import LokiDouble  # noqa: E402
import websocket  # noqa: E402

ISSUER = "https://idp.test/loki"
AUDIENCE = "obsgate"
HIDDEN = "client_ip"
ORG_A = "org-a"  # team-a's Loki tenant id (tenant_header values mapping)

ENV = None


class Env(TokenIssuer):
    def __init__(self):
        super().__init__(ISSUER, AUDIENCE, prefix="obsgate-it-loki-")

    def token(self, groups=(), roles=("obs-reader",)):
        return super().token(groups=list(groups), roles=list(roles))


# Stored streams, per Loki tenant. team-a's tenant holds its own operational streams, the
# OpenBao audit stream (same namespace: only the audit rule keeps it apart) and another
# namespace it must not see.
SEED = {"tenants": {
    ORG_A: [
        {"labels": {"namespace": "team-a", "app": "api", HIDDEN: "10.0.0.1"},
         "entries": [["now-10m", "level=info msg=A1"], ["now-5m", "level=error msg=A2"]]},
        {"labels": {"namespace": "team-a", "app": "openbao", "stream": "audit"},
         "entries": [["now-9m", "AUDIT secret/read by alice"],
                     ["now-4m", "AUDIT secret/write by bob"]]},
        {"labels": {"namespace": "other", "app": "api"},
         "entries": [["now-8m", "OTHER namespace line"]]},
    ],
    "team-b": [
        {"labels": {"namespace": "team-b", "app": "web"},
         "entries": [["now-7m", "B1 from team b"]]},
    ],
    "team-x": [
        {"labels": {"team": "x", "app": "api"},
         "entries": [["now-6m", "X1 from team x"], ["now-3m", "X2 from team x"]]},
    ],
}}

# (route path, request path, params, the parameter that carries the selector, expected value)
SCOPED = '{app="api", namespace="team-a", stream!="audit"}'
SCOPE_ONLY = '{namespace="team-a", stream!="audit"}'
ENDPOINTS = [
    ("/loki/api/v1/query", "/loki/api/v1/query",
     {"query": 'count_over_time({app="api"}[1h])'}, "query",
     'count_over_time(%s[1h])' % SCOPED),
    ("/loki/api/v1/query_range", "/loki/api/v1/query_range", {"query": '{app="api"}'}, "query",
     SCOPED),
    ("/loki/api/v1/labels", "/loki/api/v1/labels", {}, "query", SCOPE_ONLY),
    ("/loki/api/v1/label/{name}/values", "/loki/api/v1/label/app/values", {}, "query",
     SCOPE_ONLY),
    ("/loki/api/v1/series", "/loki/api/v1/series", {"match[]": '{app="api"}'}, "match[]",
     SCOPED),
    ("/loki/api/v1/index/stats", "/loki/api/v1/index/stats", {"query": '{app="api"}'}, "query",
     SCOPED),
    ("/loki/api/v1/index/volume", "/loki/api/v1/index/volume", {"query": '{app="api"}'},
     "query", SCOPED),
    ("/loki/api/v1/index/volume_range", "/loki/api/v1/index/volume_range",
     {"query": '{app="api"}', "step": "60"}, "query", SCOPED),
    ("/loki/api/v1/patterns", "/loki/api/v1/patterns", {"query": '{app="api"}'}, "query",
     SCOPED),
    ("/loki/api/v1/detected_labels", "/loki/api/v1/detected_labels", {"query": '{app="api"}'},
     "query", SCOPED),
    ("/loki/api/v1/detected_fields", "/loki/api/v1/detected_fields",
     {"query": '{app="api"} | logfmt'}, "query", SCOPED + " | logfmt"),
]
PARAMS = ["query", "time", "start", "end", "since", "step", "limit", "direction", "match[]",
          "match", "targetLabels", "aggregateBy", "line_limit", "delay_for"]


def gateway_config(loki_url):
    routes = []
    for route_path, _, _, _, _ in ENDPOINTS:
        name = route_path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
        routes.append({"name": name, "methods": ["GET", "POST"], "path": route_path,
                       "upstream": "loki", "enforcer": "loki", "query_params": PARAMS})
    routes.append({"name": "tail", "methods": ["GET"], "path": "/loki/api/v1/tail",
                   "upstream": "loki", "enforcer": "loki_tail", "query_params": PARAMS})
    ups = [{"name": "loki", "url": loki_url, "api": "loki",
            "tenant_header": {"name": "X-Scope-OrgID", "values": {"team-a": ORG_A}}}]
    cfg = base_config(free_port(), free_port(), ups, routes)
    cfg["identity"] = {"providers": [{
        "name": "local", "issuer": ISSUER, "audiences": [AUDIENCE],
        "keys": {"jwks_file": ENV.path("jwks.json")},
        "mapping": {
            "roles": [{"claim": "roles", "values": {"obs-admin": ["platform-admin"],
                                                    "obs-reader": ["reader"],
                                                    "obs-auditor": ["auditor"]}}],
            "tenants": [{"claim": "groups", "values": {"/team-a": ["team-a"],
                                                       "/team-b": ["team-b"],
                                                       "/team-x": ["team-x"]}}],
        }}]}
    cfg["tenants"] = {
        "unrestricted_roles": ["platform-admin"],
        "audit": {"streams": ['{stream="audit"}'], "auditor_roles": ["auditor"]},
        "tenants": [
            {"name": "team-a", "logs": {"rules": ['{namespace="team-a"}'],
                                        "hidden_labels": [HIDDEN]}},
            {"name": "team-b", "logs": {"rules": ['{namespace="team-b"}']}},
            # Differs from team-a's rule in its label: the two cannot be one selector.
            {"name": "team-x", "logs": {"rules": ['{team="x"}']}},
        ],
    }
    return cfg


def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    if ENV is not None:
        ENV.close()


class LokiApiTest(GatewayTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="obsgate-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.loki = LokiDouble(seed=SEED, multi_tenant=True)
        self.addCleanup(self.loki.stop)
        self.gw = self.start_gateway(gateway_config(self.loki.url))
        self.tok_a = ENV.token(groups=["/team-a"])

    # -- helpers

    def call(self, method, path, token=None, params=None, headers=None, form=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if params:
            path += "?" + urllib.parse.urlencode(params)
        body = None
        if form is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(form)
        return self.gw.request(method, path, body=body, headers=h)

    def ok(self, resp):
        st, _, body = resp
        self.assertEqual(st, 200, body)
        return json.loads(body) if body else None

    def refused(self, resp, status, text=None):
        st, headers, body = resp
        self.assertEqual(st, status, body)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        if text:
            self.assertIn(text, body.decode())
        self.assertEqual(self.loki.requests(), [], "a refused request reached Loki")

    def seen(self, path):
        recs = wait_for(lambda: self.loki.requests(path), what="request at the Loki double")
        return recs

    @staticmethod
    def params(rec, key):
        return [v for k, v in rec["params"] if k == key]

    @staticmethod
    def lines(doc):
        out = []
        for s in doc["data"]["result"]:
            out += [v[1] for v in s["values"]]
        return out

    def range_lines(self, query, token=None, **extra):
        params = {"query": query, "limit": "1000"}
        params.update(extra)
        return self.lines(self.ok(self.call("GET", "/loki/api/v1/query_range",
                                            token or self.tok_a, params)))

    # -- every endpoint: the enforced selector and the tenant reach Loki

    def test_every_endpoint_gets_the_enforced_selector_and_tenant(self):
        for _, path, params, key, want in ENDPOINTS:
            for method in ("GET", "POST"):
                with self.subTest(path=path, method=method):
                    self.loki.reset()
                    if method == "GET":
                        resp = self.call("GET", path, self.tok_a, params)
                    else:
                        resp = self.call("POST", path, self.tok_a, form=params)
                    self.assertEqual(resp[0], 200, resp[2])
                    recs = self.seen(path)
                    self.assertEqual(len(recs), 1)
                    rec = recs[0]
                    self.assertEqual(rec["method"], method)
                    self.assertEqual(self.params(rec, key), [want])
                    self.assertEqual(rec["tenant"], ORG_A)
                    if method == "POST":
                        self.assertEqual(rec["query"], [],
                                         "a POST is forwarded with its parameters in the body")

    def test_spoofed_org_id_never_passes(self):
        for name, headers in [("one", {"X-Scope-OrgID": "team-b"}),
                              ("multi", {"X-Scope-OrgID": "team-b|team-x"}),
                              ("lower case", {"x-scope-orgid": "team-x"})]:
            with self.subTest(name):
                self.loki.reset()
                doc = self.ok(self.call("GET", "/loki/api/v1/query_range", self.tok_a,
                                        {"query": '{app=~".+"}'}, headers=headers))
                rec = self.seen("/loki/api/v1/query_range")[0]
                orgs = [v for k, v in rec["headers"] if k.lower() == "x-scope-orgid"]
                self.assertEqual(orgs, [ORG_A])
                self.assertNotIn("B1 from team b", self.lines(doc))
                self.assertNotIn("X1 from team x", self.lines(doc))

    def test_no_scope_no_access(self):
        for name, tok in [("no tenant", ENV.token(groups=[])),
                          ("no token", None)]:
            with self.subTest(name):
                st, _, body = self.call("GET", "/loki/api/v1/query_range", tok,
                                        {"query": '{app="api"}'})
                self.assertIn(st, (401, 403), body)
                self.assertEqual(self.loki.requests(), [])

    # Each refused request gets its own test (and gateway): see the report on the session's
    # local-reply crash in the working tree this was written against.
    def pollute(self, path, form):
        h = {"Authorization": "Bearer " + self.tok_a,
             "Content-Type": "application/x-www-form-urlencoded"}
        body = urllib.parse.urlencode(form, doseq=True)
        self.refused(self.gw.request("POST", path, body=body, headers=h), 400)

    def test_pollution_query_in_url_and_body(self):
        self.pollute("/loki/api/v1/query_range?query=%7Bapp%3D%22api%22%7D",
                     {"query": '{app="x"}'})

    def test_pollution_limit_twice_in_body(self):
        self.pollute("/loki/api/v1/query_range", {"query": '{app="api"}', "limit": ["1", "2"]})

    # -- the audit stream

    def test_non_auditor_never_sees_audit_lines(self):
        log_queries = [
            '{stream="audit"}',
            '{stream=~"aud.*"}',
            '{namespace="team-a"}',
            '{namespace="team-a"} |= "AUDIT" or "secret"',
            '{app=~".+"} |~ "AUDIT|secret"',
            '{namespace="team-a"} | stream="audit"',
            '{namespace="team-a"} != "nothing"',
        ]
        for q in log_queries:
            with self.subTest(q):
                lines = self.range_lines(q)
                self.assertFalse([l for l in lines if "AUDIT" in l], lines)
        metric_queries = [
            'sum by (stream) (count_over_time({namespace="team-a"}[1h]))',
            'sum(count_over_time({stream="audit"}[1h]))',
            'count_over_time({stream=~".+"}[1h]) or count_over_time({app="openbao"}[1h])',
        ]
        for q in metric_queries:
            with self.subTest(q):
                doc = self.ok(self.call("GET", "/loki/api/v1/query", self.tok_a, {"query": q}))
                for series in doc["data"]["result"]:
                    self.assertNotEqual(series["metric"].get("stream"), "audit", doc)
                    self.assertNotEqual(series["metric"].get("app"), "openbao", doc)
        # Label values cannot reveal the audit stream either.
        doc = self.ok(self.call("GET", "/loki/api/v1/label/stream/values", self.tok_a))
        self.assertNotIn("audit", doc.get("data") or [])
        # Control: the unrestricted admin, not an auditor, does not see them either...
        admin = ENV.token(roles=["obs-admin"])
        lines = self.range_lines('{namespace="team-a"}', token=admin)
        self.assertTrue(lines)
        self.assertFalse([l for l in lines if "AUDIT" in l], lines)

    def test_auditor_sees_audit_lines_and_is_recorded(self):
        auditor = ENV.token(groups=["/team-a"], roles=["obs-auditor"])
        lines = self.range_lines('{stream="audit"}', token=auditor)
        self.assertIn("AUDIT secret/read by alice", lines)
        rec = self.seen("/loki/api/v1/query_range")[-1]
        self.assertEqual(self.params(rec, "query"), ['{stream="audit", namespace="team-a"}'])
        wait_for(lambda: "audit_access" in self.gw.stderr() or "audit_access" in
                 self.gw.stdout(), what="audit_access in the decision log")

    # -- hidden labels

    def test_hidden_labels(self):
        doc = self.ok(self.call("GET", "/loki/api/v1/query_range", self.tok_a,
                                {"query": '{app="api"}'}))
        self.assertTrue(doc["data"]["result"])
        for s in doc["data"]["result"]:
            self.assertNotIn(HIDDEN, s["stream"])
        doc = self.ok(self.call("GET", "/loki/api/v1/labels", self.tok_a))
        self.assertIn("app", doc["data"])
        self.assertNotIn(HIDDEN, doc["data"])
        doc = self.ok(self.call("GET", "/loki/api/v1/series", self.tok_a))
        self.assertTrue(doc["data"])
        for labels in doc["data"]:
            self.assertNotIn(HIDDEN, labels)

    def test_hidden_label_in_query_is_400_naming_it(self):
        q = '{app="api"} | %s="10.0.0.1"' % HIDDEN
        self.refused(self.call("GET", "/loki/api/v1/query_range", self.tok_a, {"query": q}),
                     400, HIDDEN)

    def test_hidden_label_values_is_403(self):
        self.refused(self.call("GET", "/loki/api/v1/label/%s/values" % HIDDEN, self.tok_a), 403)

    # -- several tenants

    def test_two_tenants_query_as_loki_multi_tenant(self):
        tok = ENV.token(groups=["/team-a", "/team-b"])
        lines = self.range_lines('{app=~".+"}', token=tok)
        self.assertIn("B1 from team b", lines)
        self.assertIn("level=info msg=A1", lines)
        self.assertFalse([l for l in lines if "AUDIT" in l or "OTHER" in l], lines)
        rec = self.seen("/loki/api/v1/query_range")[-1]
        self.assertEqual(rec["tenant"], ORG_A + "|team-b")
        self.assertEqual(self.params(rec, "query"),
                         [r'{app=~".+", namespace=~"team\\-a|team\\-b", stream!="audit"}'])
        # Narrowed with X-Obsgate-Tenant: one tenant, one rule.
        self.loki.reset()
        lines = self.range_lines('{app=~".+"}', token=tok)
        st, _, body = self.call("GET", "/loki/api/v1/query_range", tok,
                                {"query": '{app=~".+"}'}, headers={"X-Obsgate-Tenant": "team-b"})
        self.assertEqual(st, 200, body)
        rec = self.seen("/loki/api/v1/query_range")[-1]
        self.assertEqual(rec["tenant"], "team-b")

    def test_uncollapsible_rules_fan_out_and_merge(self):
        tok = ENV.token(groups=["/team-a", "/team-x"])
        doc = self.ok(self.call("GET", "/loki/api/v1/query_range", tok,
                                {"query": '{app="api"}', "limit": "3", "direction": "forward"}))
        recs = self.seen("/loki/api/v1/query_range")
        self.assertEqual(sorted(self.params(r, "query")[0] for r in recs),
                         ['{app="api", namespace="team-a", stream!="audit"}',
                          '{app="api", team="x", stream!="audit"}'])
        for r in recs:
            self.assertEqual(r["tenant"], ORG_A + "|team-x")
        # Oldest three of A1 (-10m), A2 (-5m), X1 (-6m), X2 (-3m), in forward order.
        entries = sorted((int(v[0]), v[1]) for s in doc["data"]["result"] for v in s["values"])
        self.assertEqual([l for _, l in entries],
                         ["level=info msg=A1", "X1 from team x", "level=error msg=A2"])
        for s in doc["data"]["result"]:
            self.assertNotIn(HIDDEN, s["stream"])

    def test_fan_out_queries_run_concurrently(self):
        # The double holds every request for 2 s before answering. Run one after the other,
        # the second sub-query would reach it 2 s after the first; run concurrently, both
        # arrive together. The merged answer is the same either way.
        tok = ENV.token(groups=["/team-a", "/team-x"])
        self.loki.set_mode("normal", delay=2.0)
        doc = self.ok(self.call("GET", "/loki/api/v1/query_range", tok,
                                {"query": '{app="api"}', "limit": "3", "direction": "forward"}))
        self.loki.set_mode("normal")
        recs = self.seen("/loki/api/v1/query_range")
        self.assertEqual(len(recs), 2)
        self.assertLess(abs(recs[0]["time"] - recs[1]["time"]), 1.0,
                        "the per-rule queries reached Loki one after the other")
        entries = sorted((int(v[0]), v[1]) for s in doc["data"]["result"] for v in s["values"])
        self.assertEqual([l for _, l in entries],
                         ["level=info msg=A1", "X1 from team x", "level=error msg=A2"])

    def test_fan_out_failure_is_one_loki_error(self):
        # One sub-query failing fails the request, in Loki's plain-text error format.
        tok = ENV.token(groups=["/team-a", "/team-x"])
        self.loki.set_mode("error", status=500, text="rpc error: code = Internal desc = boom")
        st, headers, body = self.call("GET", "/loki/api/v1/query_range", tok,
                                      {"query": '{app="api"}'})
        self.loki.set_mode("normal")
        self.assertEqual(st, 502, body)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        self.assertIn(b"boom", body)

    def test_uncollapsible_rules_on_labels_ask_for_narrowing(self):
        tok = ENV.token(groups=["/team-a", "/team-x"])
        self.refused(self.call("GET", "/loki/api/v1/labels", tok), 400, "X-Obsgate-Tenant")

    # -- tail

    def push_to_double(self, streams):
        """Writes streams straight into the double's team-a tenant (what a tail sees live)."""
        now = time.time_ns()
        body = {"streams": [{"stream": labels, "values": [[str(now + i), line]]}
                            for i, (labels, line) in enumerate(streams)]}
        st, _, data = self.loki.request("POST", "/loki/api/v1/push", body=body,
                                        headers={"Content-Type": "application/json",
                                                 "X-Scope-OrgID": ORG_A})
        self.assertEqual(st, 204, data)

    def tail_lines(self, ws, want, seconds=5):
        """Reads tail frames until every line of `want` arrived (or time is up); checks each
        stream on the way and returns every line received."""
        lines = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not set(want) <= set(lines):
            msg = ws.recv(timeout=0.5)
            if msg is None:
                continue
            self.assertEqual(msg[0], websocket.TEXT, msg)
            doc = json.loads(msg[1])
            for s in doc["streams"]:
                self.assertNotIn(HIDDEN, s["stream"])
                self.assertEqual(s["stream"].get("namespace"), "team-a", s)
                self.assertNotEqual(s["stream"].get("stream"), "audit", s)
                lines += [v[1] for v in s["values"]]
        return lines

    def test_tail_is_enforced_before_it_reaches_loki(self):
        # The client asks for every stream (and spoofs another tenant): team-a's Loki tenant
        # holds an audit stream and another namespace, which the double would send back too
        # if the query reached it unenforced.
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode(
            {"query": '{app=~".+"}', "limit": "100", "delay_for": "0"})
        ws, status, headers = websocket.client_connect(
            "127.0.0.1", self.gw.port, target,
            headers=[("Authorization", "Bearer " + self.tok_a), ("X-Scope-OrgID", "team-b")])
        self.assertEqual(status, 101, headers.get("__body__", headers))
        try:
            rec = self.seen("/loki/api/v1/tail")[-1]
            self.assertEqual(self.params(rec, "query"),
                             ['{app=~".+", namespace="team-a", stream!="audit"} | drop %s'
                              % HIDDEN])
            self.assertEqual(rec["tenant"], ORG_A)
            # The backlog: the visible stream only (its hidden label dropped by Loki).
            lines = self.tail_lines(ws, ["level=info msg=A1", "level=error msg=A2"])
            self.assertIn("level=info msg=A1", lines)
            self.assertIn("level=error msg=A2", lines)
            self.assertFalse([l for l in lines if "AUDIT" in l or "OTHER" in l], lines)
            # Live entries: an audit line, another namespace's line and a visible one are
            # written; only the visible one may come through the tunnel.
            self.push_to_double([
                ({"namespace": "team-a", "app": "openbao", "stream": "audit"},
                 "AUDIT live secret/delete by mallory"),
                ({"namespace": "other", "app": "api"}, "OTHER live line"),
                ({"namespace": "team-a", "app": "api", HIDDEN: "10.0.0.9"}, "live visible line"),
            ])
            lines = self.tail_lines(ws, ["live visible line"])
            self.assertIn("live visible line", lines)
            self.assertFalse([l for l in lines if "AUDIT" in l or "OTHER" in l], lines)
            # A ping crosses the tunnel and Loki's pong comes back with the same payload.
            ws.send_ping(b"obsgate-ping")
            pong = None
            deadline = time.monotonic() + 5
            while pong is None and time.monotonic() < deadline:
                msg = ws.recv(timeout=0.5)
                if msg is not None and msg[0] == websocket.PONG:
                    pong = msg[1]
            self.assertEqual(pong, b"obsgate-ping")
            # Closing: our close reaches Loki, which answers it; the tail ends at the double.
            ws.send_close(1000, "done")
            with self.assertRaises(websocket.WsClosed) as closed:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    ws.recv(timeout=0.5)
            self.assertEqual(closed.exception.code, 1000)
            wait_for(lambda: self.loki.tails()["active"] == 0, what="the double's tail ended")
            rec = self.seen("/loki/api/v1/tail")[-1]
            self.assertEqual(rec["tail"]["close_code"], 1000)
            self.assertGreaterEqual(rec["tail"]["frames_sent"], 2)
        finally:
            ws.close()

    def test_tail_of_an_auditor_sees_the_audit_stream(self):
        # Control for the test above: the same double and tunnel do deliver audit lines, to an
        # auditor who asks for them.
        auditor = ENV.token(groups=["/team-a"], roles=["obs-auditor"])
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": '{stream="audit"}'})
        ws, status, headers = websocket.client_connect(
            "127.0.0.1", self.gw.port, target, headers=[("Authorization", "Bearer " + auditor)])
        self.assertEqual(status, 101, headers.get("__body__", headers))
        try:
            lines = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and "AUDIT secret/read by alice" not in lines:
                msg = ws.recv(timeout=0.5)
                if msg is not None:
                    lines += [v[1] for s in json.loads(msg[1])["streams"] for v in s["values"]]
            self.assertIn("AUDIT secret/read by alice", lines)
            ws.send_close(1000)
        finally:
            ws.close()

    def test_tail_of_several_tenants_asks_for_narrowing(self):
        tok = ENV.token(groups=["/team-a", "/team-b"])
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": '{app=~".+"}'})
        ws, status, headers = websocket.client_connect(
            "127.0.0.1", self.gw.port, target, headers=[("Authorization", "Bearer " + tok)])
        self.assertIsNone(ws)
        self.assertEqual(status, 400, headers)
        self.assertIn("X-Obsgate-Tenant", headers["__body__"])
        self.assertEqual(self.loki.requests(), [])


if __name__ == "__main__":
    unittest.main()
