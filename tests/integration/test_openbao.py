"""The OpenBao metrics routes (issue 7) through obsgate, against OpenBao node doubles.

Routes under test (enforcers openbao_active, openbao_node, openbao_fanout):
  GET /v1/sys/metrics                 metrics-reader role: the active node's metrics, token injected
  GET /openbao/nodes/{node}/metrics   collector role: one node's metrics
  GET /openbao/nodes/metrics          collector role: every node merged, with a node label
Tokens are minted by obsgate_mint_token (tests/tools/) for a JWKS-file provider. Each test
asserts what the client got and what the doubles received: the injected token reaches OpenBao,
the client's credentials never do, and refused requests reach no node at all.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from harness import HOST, REPO_ROOT, GatewayTestCase, TokenIssuer, base_config, free_port, wait_for

sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "doubles"))
from launch import OpenBaoCluster  # noqa: E402

ISSUER = "https://idp.test/bao"
AUDIENCE = "obsgate"
BAO_TOKEN = "s.bao-metrics-token-1"
CLIENT_BAO_TOKEN = "s.client-own-token"
SCRAPE_TIMEOUT = 1.0
ENV = None


class Env(TokenIssuer):
    def __init__(self):
        super().__init__(ISSUER, AUDIENCE, prefix="obsgate-it-bao-", lifetime=3600)
        self.reader = self.token(["bao-reader"])
        self.collector = self.token(["bao-collector"])
        self.other = self.token(["someone-else"])

    def token(self, roles):
        return super().token(sub="u-" + roles[0], roles=list(roles))

def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    if ENV is not None:
        ENV.close()


def closed_port():
    """A port nothing listens on (connections are refused)."""
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def header_values(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


def gateway_config(nodes, token_file, health_cache="300ms"):
    """nodes: [(name, url, unauthenticated_metrics)]."""
    routes = [
        {"name": "bao-active", "methods": ["GET"], "path": "/v1/sys/metrics", "upstream": "bao",
         "enforcer": "openbao_active", "roles": ["metrics-reader"], "query_params": ["format"]},
        {"name": "bao-node", "methods": ["GET"], "path": "/openbao/nodes/{node}/metrics",
         "upstream": "bao", "enforcer": "openbao_node", "roles": ["collector"]},
        {"name": "bao-fanout", "methods": ["GET"], "path": "/openbao/nodes/metrics",
         "upstream": "bao", "enforcer": "openbao_fanout", "roles": ["collector"]},
    ]
    cfg = base_config(free_port(), free_port(),
                      [{"name": "bao", "url": nodes[0][1], "api": "openbao"}], routes)
    cfg["identity"] = {"providers": [{
        "name": "local", "issuer": ISSUER, "audiences": [AUDIENCE],
        "keys": {"jwks_file": ENV.path("jwks.json")},
        "mapping": {"roles": [{"claim": "roles", "values": {
            "bao-reader": ["metrics-reader"], "bao-collector": ["collector"],
            "someone-else": ["reader"]}}]}}]}
    cfg["openbao"] = {
        "token_file": token_file, "health_cache": health_cache,
        "scrape_timeout": "%dms" % int(SCRAPE_TIMEOUT * 1000),
        "nodes": [{"name": n, "url": u, "unauthenticated_metrics": unauth}
                  for n, u, unauth in nodes]}
    return cfg


class OpenBaoTestBase(GatewayTestCase):
    unauthenticated = ()
    extra_nodes = ()  # [(name, url, unauthenticated)] appended after the doubles

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="obsgate-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cluster = OpenBaoCluster(names=("bao-0", "bao-1", "bao-2"), token=BAO_TOKEN,
                                      unauthenticated_metrics=self.unauthenticated)
        self.addCleanup(self.cluster.stop)
        self.token_file = os.path.join(self.tmp, "bao-token")
        self.write_token(BAO_TOKEN)
        nodes = [(n, d.url, n in self.unauthenticated) for n, d in self.cluster.nodes.items()]
        self.gw = self.start_gateway(gateway_config(nodes + list(self.extra_nodes),
                                                    self.token_file))

    def write_token(self, token):
        tmp = self.token_file + ".new"
        with open(tmp, "w") as f:
            f.write(token + "\n")
        os.replace(tmp, self.token_file)

    def call(self, path, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        return self.gw.request("GET", path, headers=h)

    def metrics_requests(self, node):
        return self.cluster.nodes[node].requests("/v1/sys/metrics")

    def reset_doubles(self):
        for d in self.cluster.nodes.values():
            d.reset()

    def assert_no_client_secret_reached_openbao(self, *secrets):
        for name, d in self.cluster.nodes.items():
            for rec in d.requests():
                for k, v in rec["headers"]:
                    for s in secrets:
                        self.assertNotIn(s, v, "%s received %s: %s" % (name, k, v))
                self.assertEqual(header_values(rec, "Authorization"), [],
                                 "%s received an Authorization header" % name)


class ActiveRouteTest(OpenBaoTestBase):
    def test_active_node_gets_the_injected_token_and_never_the_clients(self):
        st, headers, body = self.call("/v1/sys/metrics?format=prometheus", ENV.reader,
                                      {"X-Vault-Token": CLIENT_BAO_TOKEN})
        self.assertEqual(st, 200, body)
        self.assertIn("text/plain", headers["content-type"])
        self.assertIn(b"vault_core_active 1", body.replace(b"{", b" ").replace(b"}", b""))
        recs = self.metrics_requests("bao-0")
        self.assertEqual(len(recs), 1)
        rec = recs[0]
        self.assertEqual(header_values(rec, "X-Vault-Token"), [BAO_TOKEN])
        self.assertTrue(rec["token_ok"])
        self.assertEqual(dict(rec["query"]), {"format": "prometheus"})
        self.assertEqual(self.metrics_requests("bao-1") + self.metrics_requests("bao-2"), [])
        self.assert_no_client_secret_reached_openbao(CLIENT_BAO_TOKEN, ENV.reader)

    def test_format_is_forced_to_prometheus(self):
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 200, body)
        self.assertEqual(dict(self.metrics_requests("bao-0")[0]["query"]),
                         {"format": "prometheus"})
        st, _, body = self.call("/v1/sys/metrics?format=json", ENV.reader)
        self.assertEqual(st, 400, body)
        self.assertEqual(len(self.metrics_requests("bao-0")), 1, "refused request reached bao-0")

    def test_wrong_identities_are_refused_before_openbao(self):
        cases = [
            ("/v1/sys/metrics", None, 401),
            ("/v1/sys/metrics", ENV.collector, 403),
            ("/v1/sys/metrics", ENV.other, 403),
            ("/openbao/nodes/bao-0/metrics", None, 401),
            ("/openbao/nodes/bao-0/metrics", ENV.reader, 403),
            ("/openbao/nodes/metrics", ENV.reader, 403),
            ("/openbao/nodes/metrics", ENV.other, 403),
            ("/openbao/nodes/metrics", "not-a-jwt", 401),
        ]
        for path, token, want in cases:
            with self.subTest(path=path, status=want):
                st, _, body = self.call(path, token, {"X-Vault-Token": CLIENT_BAO_TOKEN})
                self.assertEqual(st, want, body)
        for name in self.cluster.nodes:
            self.assertEqual(self.metrics_requests(name), [], name)
        self.assert_no_client_secret_reached_openbao(CLIENT_BAO_TOKEN)

    def test_failover_to_the_new_active_node(self):
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 200, body)
        self.assertEqual(len(self.metrics_requests("bao-0")), 1)
        self.cluster.set_active("bao-1")
        # At once (bao-0 is still cached as active and now refuses: obsgate re-checks health)
        # and after the cache expired.
        for _ in range(2):
            st, _, body = self.call("/v1/sys/metrics", ENV.reader)
            self.assertEqual(st, 200, body)
            time.sleep(0.4)
        self.assertEqual(len(self.metrics_requests("bao-1")), 2)
        self.assertEqual(header_values(self.metrics_requests("bao-1")[-1], "X-Vault-Token"),
                         [BAO_TOKEN])

    def test_no_active_node(self):
        self.cluster.nodes["bao-0"].set_state("sealed")
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 502, body)
        self.assertIn(b"no active OpenBao node", body)

    def test_token_file_rotation(self):
        self.write_token("s.stale-token")
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 502, body)  # bao-0 refused the stale token (403)
        self.assertEqual(header_values(self.metrics_requests("bao-0")[-1], "X-Vault-Token"),
                         ["s.stale-token"])
        self.write_token(BAO_TOKEN)
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 200, body)
        self.assertEqual(header_values(self.metrics_requests("bao-0")[-1], "X-Vault-Token"),
                         [BAO_TOKEN])
        reloads = self.gw.metric("obsgate_openbao_token_reloads_total", result="ok")
        self.assertIsNotNone(reloads)
        self.assertGreaterEqual(reloads, 2)
        os.unlink(self.token_file)
        st, _, body = self.call("/v1/sys/metrics", ENV.reader)
        self.assertEqual(st, 502, body)
        self.assertIn(b"token is unavailable", body)


class NodeRoutesTest(OpenBaoTestBase):
    unauthenticated = ("bao-1", "bao-2")

    def test_node_route_per_node(self):
        for name, token_expected in (("bao-0", True), ("bao-1", False), ("bao-2", False)):
            with self.subTest(node=name):
                st, _, body = self.call("/openbao/nodes/%s/metrics" % name, ENV.collector,
                                        {"X-Vault-Token": CLIENT_BAO_TOKEN})
                self.assertEqual(st, 200, body)
                self.assertIn(b"vault_core_unsealed", body)
                rec = self.metrics_requests(name)[-1]
                self.assertEqual(header_values(rec, "X-Vault-Token"),
                                 [BAO_TOKEN] if token_expected else [])
        st, _, body = self.call("/openbao/nodes/bao-9/metrics", ENV.collector)
        self.assertEqual(st, 404, body)
        self.assert_no_client_secret_reached_openbao(CLIENT_BAO_TOKEN, ENV.collector)

    def test_fanout_merges_every_node(self):
        st, headers, body = self.call("/openbao/nodes/metrics", ENV.collector)
        self.assertEqual(st, 200, body)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        text = body.decode()
        for name in ("bao-0", "bao-1", "bao-2"):
            self.assertIn('openbao_node_up{node="%s"} 1' % name, text)
            self.assertIn('vault_core_unsealed{node="%s"' % name, text)
        self.assertIn('openbao_node_health_state{node="bao-0",state="active"} 1', text)
        self.assertIn('openbao_node_health_state{node="bao-1",state="standby"} 1', text)
        self.assertEqual(text.count("# TYPE vault_core_unsealed "), 1)
        check_with_promtool(self, body)
        scrapes = self.gw.metric("obsgate_openbao_scrapes_total", node="bao-1", result="ok")
        self.assertEqual(scrapes, 1)


class FanoutFailuresTest(OpenBaoTestBase):
    unauthenticated = ("bao-0", "bao-1", "bao-2")
    extra_nodes = (("bao-gone", "http://%s:%d" % (HOST, closed_port()), True),)

    def test_hanging_and_refusing_nodes_show_as_down_within_the_timeout(self):
        self.cluster.nodes["bao-1"].set_mode("hang")
        t0 = time.monotonic()
        st, _, body = self.call("/openbao/nodes/metrics", ENV.collector)
        took = time.monotonic() - t0
        self.assertEqual(st, 200, body)
        self.assertLess(took, SCRAPE_TIMEOUT + 2.0, "fan-out waited past the node timeout")
        text = body.decode()
        self.assertIn('openbao_node_up{node="bao-0"} 1', text)
        self.assertIn('openbao_node_up{node="bao-1"} 0', text)
        self.assertIn('openbao_node_up{node="bao-2"} 1', text)
        self.assertIn('openbao_node_up{node="bao-gone"} 0', text)
        self.assertIn('openbao_node_health_state{node="bao-gone",state="unreachable"} 1', text)
        self.assertIn('openbao_node_health_state{node="bao-1",state="unreachable"} 1', text)
        self.assertNotIn('vault_core_unsealed{node="bao-1"', text)
        self.assertIn('vault_core_unsealed{node="bao-2"', text)
        check_with_promtool(self, body)
        self.assertEqual(self.gw.metric("obsgate_openbao_scrapes_total", node="bao-1",
                                        result="timeout"), 1)
        self.assertEqual(self.gw.metric("obsgate_openbao_scrapes_total", node="bao-gone",
                                        result="unreachable"), 1)
        self.cluster.nodes["bao-1"].set_mode("normal")

    def test_invalid_exposition_marks_the_node_down(self):
        self.cluster.nodes["bao-2"].set_metrics(replace="broken{ 1\n")
        st, _, body = self.call("/openbao/nodes/metrics", ENV.collector)
        self.assertEqual(st, 200, body)
        self.assertIn(b'openbao_node_up{node="bao-2"} 0', body)
        self.assertEqual(self.gw.metric("obsgate_openbao_scrapes_total", node="bao-2",
                                        result="invalid"), 1)

    def test_type_clash_between_nodes_keeps_the_first(self):
        self.cluster.nodes["bao-1"].set_metrics(append="# TYPE clash counter\nclash 1\n")
        self.cluster.nodes["bao-2"].set_metrics(append="# TYPE clash gauge\nclash 2\n")
        st, _, body = self.call("/openbao/nodes/metrics", ENV.collector)
        self.assertEqual(st, 200, body)
        text = body.decode()
        self.assertIn('clash{node="bao-1"} 1', text)
        self.assertNotIn('clash{node="bao-2"}', text)
        self.assertIn('# obsgate: node "bao-2": family clash dropped', text)
        check_with_promtool(self, body)


def check_with_promtool(test, body):
    """promtool check metrics: exit 0 (clean) or 3 (lint findings, e.g. the doubles' camelCase
    vault_raft_commitTime) are fine; 1 means it could not parse the exposition."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return
    p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    test.assertIn(p.returncode, (0, 3), p.stderr.decode() + p.stdout.decode())


class PrometheusScrapesFanoutTest(OpenBaoTestBase):
    """A real Prometheus scrapes the fan-out route with the collector's credentials."""
    unauthenticated = ("bao-0", "bao-1", "bao-2")

    def test_node_labelled_series_are_queryable(self):
        prom = shutil.which("prometheus")
        if prom is None:
            self.skipTest("prometheus not installed")
        d = os.path.join(self.tmp, "prom")
        os.makedirs(d)
        with open(os.path.join(d, "token"), "w") as f:
            f.write(ENV.collector)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(json.dumps({
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [{
                    "job_name": "openbao", "metrics_path": "/openbao/nodes/metrics",
                    "authorization": {"credentials_file": os.path.join(d, "token")},
                    "static_configs": [{"targets": ["%s:%d" % (HOST, self.gw.port)]}]}]}))
        port = free_port()
        log = open(os.path.join(d, "prom.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [prom, "--config.file=" + os.path.join(d, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(d, "data"),
             "--web.listen-address=%s:%d" % (HOST, port)],
            stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(lambda: (proc.terminate(), proc.wait(10)))

        def query():
            url = "http://%s:%d/api/v1/query?query=%s" % (
                HOST, port, urllib.parse.quote("vault_core_unsealed"))
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    doc = json.load(r)
            except OSError:
                return None
            nodes = sorted(s["metric"].get("node", "") for s in doc["data"]["result"])
            return nodes if nodes == ["bao-0", "bao-1", "bao-2"] else None

        nodes = wait_for(query, timeout=30, interval=0.5, what="node-labelled series")
        self.assertEqual(nodes, ["bao-0", "bao-1", "bao-2"])
        up = wait_for(lambda: self.prom_value(port, 'openbao_node_up{node="bao-1"}'),
                      timeout=10, interval=0.5, what="openbao_node_up")
        self.assertEqual(up, "1")

    @staticmethod
    def prom_value(port, expr):
        url = "http://%s:%d/api/v1/query?query=%s" % (HOST, port, urllib.parse.quote(expr))
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                res = json.load(r)["data"]["result"]
        except OSError:
            return None
        return res[0]["value"][1] if res else None


if __name__ == "__main__":
    unittest.main()
