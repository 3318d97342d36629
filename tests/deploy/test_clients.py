"""The clients the artifacts configure against the routes of kubernetes/obsgate.yaml: every
request Prometheus (scrapes, remote write), Alloy (both log writers) and Grafana (both data
sources) make goes to a route with that method and path, with a credential the route accepts,
from an identity obsgate.yaml maps to a role the route admits, and with parameters the route
lets through. Writers also land in a tenant whose write policy accepts what they send. So a
renamed route, a tightened `accept`, or a client renamed on one side fails here.

obsgate itself serving these clients with this configuration is deploy:test_kubernetes
(ServeTest); this module checks that the artifacts agree with the configuration it serves."""

import os
import re
import unittest
import urllib.parse

import alloy_syntax as alloy
from deploy_common import load_yaml, path, read

CONFIG = load_yaml(path("kubernetes", "obsgate.yaml"))
ROUTES = CONFIG["routes"]
PORT = CONFIG["server"]["listeners"][0]["port"]

# The Prometheus HTTP API paths Grafana's Prometheus data source calls for queries, the query
# editor and version detection; and the Loki ones of its Loki data source (explore, label
# browser, live tail).
GRAFANA_PROMETHEUS = ["/api/v1/query", "/api/v1/query_range", "/api/v1/series",
                      "/api/v1/labels", "/api/v1/label/job/values", "/api/v1/status/buildinfo"]
GRAFANA_LOKI = ["/loki/api/v1/query", "/loki/api/v1/query_range", "/loki/api/v1/labels",
                "/loki/api/v1/label/app/values", "/loki/api/v1/series", "/loki/api/v1/tail"]


def matches(pattern, target_path):
    regex = "^" + re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", re.escape(pattern)) + "$"
    return re.match(regex, target_path) is not None


def route_for(method, target_path):
    found = [r for r in ROUTES if method in r["methods"] and matches(r["path"], target_path)]
    assert len(found) == 1, "%s %s: %d routes" % (method, target_path, len(found))
    return found[0]


def accepts(route, credential):
    return credential in route.get("accept", ["token", "certificate"])


def client_roles(client_id):
    """Roles and tenants a client-credentials token of client_id gets (its azp)."""
    (provider,) = CONFIG["identity"]["providers"]
    roles, tenants = set(), set()
    for rule in provider["mapping"]["roles"]:
        if rule["claim"] == "azp":
            roles |= set(rule["values"].get(client_id, []))
    for rule in provider["mapping"]["tenants"]:
        if rule["claim"] == "azp":
            tenants |= set(rule["values"].get(client_id, []))
    return roles, tenants


def cert_rule(name):
    (rule,) = [c for c in CONFIG["identity"]["certificates"] if c["name"] == name]
    return rule


def admits(route, roles):
    return not route.get("roles") or bool(set(route["roles"]) & set(roles))


def tenant(name):
    (t,) = [t for t in CONFIG["tenants"]["tenants"] if t["name"] == name]
    return t


class PrometheusTest(unittest.TestCase):
    def scrape_jobs(self):
        return (load_yaml(path("prometheus", "scrape-openbao.yml"))["scrape_configs"] +
                load_yaml(path("prometheus", "scrape-openbao-per-node.yml"))["scrape_configs"])

    def test_scrapes_reach_certificate_routes_as_the_collector(self):
        collector = cert_rule("metrics-collector")
        for job in self.scrape_jobs():
            with self.subTest(job=job["job_name"]):
                self.assertTrue(job["tls_config"].get("cert_file"))
                paths = [job.get("metrics_path", "/metrics")]
                rename = [r for r in job.get("relabel_configs", [])
                          if r.get("target_label") == "__metrics_path__"]
                if rename:  # one target per node: the path is built from the node's name
                    (r,) = rename
                    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
                    repl = re.sub(r"\$\{?(\d+)\}?", r"\\\1", r["replacement"])
                    paths = [re.fullmatch(r["regex"], t).expand(repl) for t in targets]
                    self.assertEqual(paths, ["/openbao/nodes/%s/metrics" % t for t in targets])
                for p in paths:
                    route = route_for("GET", p)
                    self.assertTrue(accepts(route, "certificate"), route["name"])
                    self.assertTrue(admits(route, collector["roles"]), route["name"])
                    for param in job.get("params", {}):
                        self.assertIn(param, route.get("query_params", []), route["name"])

    def test_remote_write_is_a_writer_of_a_tenant_with_a_write_policy(self):
        for w in load_yaml(path("prometheus", "remote-write.yml"))["remote_write"]:
            with self.subTest(url=w["url"]):
                u = urllib.parse.urlsplit(w["url"])
                self.assertEqual(u.port, PORT)
                route = route_for("POST", u.path)
                self.assertEqual(route.get("enforcer"), "remote_write")
                self.assertTrue(accepts(route, "token"))
                roles, tenants = client_roles(w["oauth2"]["client_id"])
                self.assertTrue(admits(route, roles), (w["oauth2"]["client_id"], roles))
                self.assertEqual(len(tenants), 1, tenants)
                self.assertIn("write", tenant(tenants.pop()))

    def test_token_url_is_the_providers(self):
        (provider,) = CONFIG["identity"]["providers"]
        issuer = urllib.parse.urlsplit(provider["issuer"])
        for w in load_yaml(path("prometheus", "remote-write.yml"))["remote_write"]:
            self.assertEqual(urllib.parse.urlsplit(w["oauth2"]["token_url"]).hostname,
                             issuer.hostname)


class AlloyTest(unittest.TestCase):
    def setUp(self):
        body = alloy.parse(read(path("alloy", "openbao-logs.alloy")))
        self.blocks = {"%s.%s" % (b.name, b.label): b for b in body}
        self.route = route_for("POST", "/loki/api/v1/push")

    def endpoint(self, writer):
        (ep,) = self.blocks["loki.write." + writer].blocks("endpoint")
        return ep

    def push_path(self, ep):
        u = urllib.parse.urlsplit(ep.attr("url"))
        self.assertEqual(u.port, PORT)
        return u.path

    def test_push_route(self):
        self.assertEqual(self.route.get("enforcer"), "loki_push")

    def test_operational_writer_is_a_token_of_the_openbao_tenant(self):
        ep = self.endpoint("operational")
        self.assertEqual(route_for("POST", self.push_path(ep))["name"], self.route["name"])
        self.assertTrue(accepts(self.route, "token"))
        (oauth,) = ep.blocks("oauth2")
        roles, tenants = client_roles(oauth.attr("client_id"))
        self.assertTrue(admits(self.route, roles), roles)
        self.assertEqual(tenants, {"openbao"})
        # Its streams carry the label value the tenant's write policy stamps and checks.
        labels = self.blocks["loki.source.journal.openbao"].attr("labels")
        write = tenant("openbao")["write"]
        self.assertEqual(labels[write["tenant_label"]], write.get("tenant_value", "openbao"))

    def test_audit_writer_is_the_audit_shipper_certificate(self):
        ep = self.endpoint("audit")
        self.assertEqual(route_for("POST", self.push_path(ep))["name"], self.route["name"])
        (tls,) = ep.blocks("tls_config")
        self.assertTrue(tls.attr("cert_file") and not ep.blocks("oauth2"))
        self.assertTrue(accepts(self.route, "certificate"))
        rule = cert_rule("openbao-audit-shipper")
        self.assertTrue(admits(self.route, rule["roles"]))
        self.assertEqual(CONFIG["tenants"]["audit"]["shipper"],
                         {"cert_identity": "uri:" + rule["uri_san"]})
        self.assertEqual(rule["tenants"], ["openbao"])
        targets = self.blocks["local.file_match.openbao_audit"].attr("path_targets")
        write = tenant("openbao")["write"]
        for t in targets:
            self.assertEqual(t[write["tenant_label"]], write.get("tenant_value", "openbao"))

    def test_audit_streams_are_the_configured_ones(self):
        # The audit writer's streams are what obsgate treats as audit streams.
        self.assertEqual(CONFIG["tenants"]["audit"]["streams"], ['{stream="audit"}'])
        targets = self.blocks["local.file_match.openbao_audit"].attr("path_targets")
        self.assertEqual({t["stream"] for t in targets}, {"audit"})


class GrafanaTest(unittest.TestCase):
    def setUp(self):
        doc = load_yaml(path("grafana", "provisioning", "datasources", "obsgate.yaml"))
        self.ds = {d["type"]: d for d in doc["datasources"]}

    def check(self, ds, paths, post):
        self.assertEqual(urllib.parse.urlsplit(ds["url"]).port, PORT)
        for p in paths:
            with self.subTest(path=p):
                methods = ["GET"] + (["POST"] if post and "/label/" not in p and
                                     not p.endswith(("/buildinfo", "/tail")) else [])
                for m in methods:
                    route = route_for(m, p)
                    self.assertTrue(accepts(route, "token"), route["name"])
                    self.assertTrue(route.get("roles"), route["name"])

    def test_prometheus_data_source(self):
        ds = self.ds["prometheus"]
        self.check(ds, GRAFANA_PROMETHEUS, ds["jsonData"].get("httpMethod") == "POST")

    def test_loki_data_source(self):
        self.check(self.ds["loki"], GRAFANA_LOKI, False)

    def test_matching_can_fail(self):
        self.assertFalse(matches("/api/v1/label/{name}/values", "/api/v1/label/a/b/values"))
        self.assertTrue(matches("/api/v1/label/{name}/values", "/api/v1/label/job/values"))
        with self.assertRaises(AssertionError):
            route_for("DELETE", "/api/v1/query")


if __name__ == "__main__":
    unittest.main()
