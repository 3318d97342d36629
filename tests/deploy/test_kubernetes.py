"""deploy/kubernetes: every object parsed, the required fields of its kind checked, and the
objects checked against each other and against obsgate.yaml (selectors, ports, volumes, mount
paths). obsgate.yaml itself passes `obsgate --check-config`. When kubectl is installed,
`kubectl kustomize` must render the kustomization too (kubectl is not a Debian package; the
structural checks here do not depend on it)."""

import json
import os
import shutil
import socket
import ssl
import sys
import time
import unittest
import urllib.parse

from deploy_common import (ROOT, Scratch, TokenIssuer, file_settings, load_yaml, load_yaml_all,
                           obsgate_bin, path, read, remote_write_body, run)
import yaml

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (the integration tests' obsgate launcher and test upstream)

K = path("kubernetes")
KUSTOMIZATION = load_yaml(os.path.join(K, "kustomization.yaml"))

# kind -> dotted paths that must be present and non-empty. A subset of the API schemas: the
# fields without which the object is rejected or does nothing.
REQUIRED = {
    "ServiceAccount": ["metadata.name", "metadata.namespace"],
    "Deployment": ["metadata.name", "metadata.namespace", "spec.selector.matchLabels",
                   "spec.template.metadata.labels", "spec.template.spec.containers"],
    "Service": ["metadata.name", "metadata.namespace", "spec.selector", "spec.ports"],
    "PodDisruptionBudget": ["metadata.name", "metadata.namespace", "spec.selector.matchLabels"],
    "HorizontalPodAutoscaler": ["metadata.name", "metadata.namespace", "spec.scaleTargetRef.kind",
                                "spec.scaleTargetRef.name", "spec.scaleTargetRef.apiVersion",
                                "spec.maxReplicas", "spec.metrics"],
    "NetworkPolicy": ["metadata.name", "metadata.namespace", "spec.podSelector",
                      "spec.policyTypes"],
    "ServiceMonitor": ["metadata.name", "metadata.namespace", "spec.selector.matchLabels",
                       "spec.endpoints"],
    "PrometheusRule": ["metadata.name", "metadata.namespace", "spec.groups"],
}
API_VERSIONS = {
    "ServiceAccount": "v1", "Service": "v1", "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
    "NetworkPolicy": "networking.k8s.io/v1", "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}


def get(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def objects():
    out = []
    for res in KUSTOMIZATION["resources"]:
        for doc in load_yaml_all(os.path.join(K, res)):
            out.append((res, doc))
    return out


def one(kind, name=None):
    found = [o for _, o in objects() if o["kind"] == kind and
             (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, "%d objects of kind %s" % (len(found), kind)
    return found[0]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class SchemaTest(unittest.TestCase):
    def test_every_resource_parses_and_has_required_fields(self):
        objs = objects()
        self.assertEqual({o["kind"] for _, o in objs}, set(REQUIRED))
        for res, o in objs:
            with self.subTest(resource=res, name=get(o, "metadata.name")):
                self.assertEqual(o.get("apiVersion"), API_VERSIONS[o["kind"]])
                for p in REQUIRED[o["kind"]]:
                    self.assertTrue(get(o, p), "%s: missing %s" % (o["kind"], p))

    def test_names_are_unique_per_kind_and_namespace(self):
        seen = set()
        for _, o in objects():
            key = (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])
            self.assertNotIn(key, seen)
            seen.add(key)

    def test_kustomization_lists_every_manifest(self):
        on_disk = {f for f in os.listdir(K) if f.endswith(".yaml")} - {"kustomization.yaml"}
        listed = set(KUSTOMIZATION["resources"])
        generated = {f for g in KUSTOMIZATION["configMapGenerator"] for f in g["files"]}
        self.assertEqual(on_disk, listed | generated)


class DeploymentTest(unittest.TestCase):
    def setUp(self):
        self.d = one("Deployment")
        self.pod = self.d["spec"]["template"]
        self.c = self.pod["spec"]["containers"][0]
        self.cfg = load_yaml(os.path.join(K, "obsgate.yaml"))

    def port(self, name):
        for p in self.c["ports"]:
            if p["name"] == name:
                return p["containerPort"]
        self.fail("no container port %s" % name)

    def test_selector_matches_template(self):
        self.assertTrue(selects(self.d["spec"]["selector"]["matchLabels"],
                                self.pod["metadata"]["labels"]))

    def test_probes(self):
        for probe, p in (("livenessProbe", "/healthz"), ("startupProbe", "/healthz"),
                         ("readinessProbe", "/readyz")):
            with self.subTest(probe=probe):
                g = self.c[probe]["httpGet"]
                self.assertEqual(g["path"], p)
                self.assertEqual(self.port(g["port"]), self.cfg["admin"]["port"])

    def test_ports_match_obsgate_yaml(self):
        self.assertEqual(self.port("admin"), self.cfg["admin"]["port"])
        self.assertEqual(self.port("https"), self.cfg["server"]["listeners"][0]["port"])

    def test_resources_and_security(self):
        req = self.c["resources"]["requests"]
        self.assertTrue(req.get("cpu") and req.get("memory"))
        self.assertTrue(self.c["resources"]["limits"].get("memory"))
        psc = self.pod["spec"]["securityContext"]
        self.assertTrue(psc["runAsNonRoot"])
        self.assertNotEqual(psc.get("runAsUser"), 0)
        sc = self.c["securityContext"]
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertFalse(self.pod["spec"]["automountServiceAccountToken"])

    def test_drain_fits_grace_period(self):
        drain = self.cfg["server"]["timeouts"]["drain"]
        self.assertTrue(drain.endswith("s"))
        pre = self.c["lifecycle"]["preStop"]["sleep"]["seconds"]
        self.assertLess(int(drain[:-1]) + pre, self.pod["spec"]["terminationGracePeriodSeconds"])

    def test_volumes_config_and_secrets(self):
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        for m in self.c["volumeMounts"]:
            self.assertIn(m["name"], volumes)
        gen = [g["name"] for g in KUSTOMIZATION["configMapGenerator"]]
        self.assertEqual(volumes["config"]["configMap"]["name"], gen[0])
        config_mount = [m for m in self.c["volumeMounts"] if m["name"] == "config"][0]
        self.assertEqual(self.c["args"], ["--config", config_mount["mountPath"]])
        # Token files and certificates come from Secrets, never from the ConfigMap.
        for name in ("tls", "backends-ca", "secrets"):
            self.assertIn("secret", volumes[name])

    def test_every_file_obsgate_yaml_names_is_mounted_from_a_secret(self):
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        mounts = [(m["mountPath"].rstrip("/") + "/", volumes[m["name"]])
                  for m in self.c["volumeMounts"]]
        for f in file_settings(self.cfg):
            with self.subTest(file=f):
                owner = [v for mp, v in mounts if f.startswith(mp)]
                self.assertEqual(len(owner), 1, "not under exactly one mount")
                v = owner[0]
                self.assertIn("secret", v)
                items = v["secret"].get("items")
                if items:
                    self.assertIn(os.path.basename(f), [i["path"] for i in items])

    def test_writable_paths_are_memory_only(self):
        volumes = {v["name"]: v for v in self.pod["spec"]["volumes"]}
        for m in self.c["volumeMounts"]:
            if not m.get("readOnly"):
                self.assertEqual(volumes[m["name"]]["emptyDir"]["medium"], "Memory")


class ServiceAndScalingTest(unittest.TestCase):
    def setUp(self):
        self.d = one("Deployment")
        self.labels = self.d["spec"]["template"]["metadata"]["labels"]
        self.port_names = {p["name"] for p in self.d["spec"]["template"]["spec"]["containers"][0]
                           ["ports"]}

    def test_service(self):
        s = one("Service")
        self.assertTrue(selects(s["spec"]["selector"], self.labels))
        for p in s["spec"]["ports"]:
            self.assertIn(p["targetPort"], self.port_names)

    def test_pdb_and_hpa(self):
        pdb = one("PodDisruptionBudget")
        self.assertTrue(selects(pdb["spec"]["selector"]["matchLabels"], self.labels))
        hpa = one("HorizontalPodAutoscaler")
        ref = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((ref["kind"], ref["name"]), ("Deployment", self.d["metadata"]["name"]))
        self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2)
        self.assertLess(pdb["spec"]["minAvailable"], hpa["spec"]["minReplicas"])

    def test_service_monitor(self):
        sm = one("ServiceMonitor")
        s = one("Service")
        self.assertTrue(selects(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"]))
        ports = {p["name"] for p in s["spec"]["ports"]}
        for e in sm["spec"]["endpoints"]:
            self.assertIn(e["port"], ports)
            self.assertEqual(e["path"], "/metrics")
        # The alerting rules select job="obsgate": the job label comes from this Service label.
        self.assertEqual(s["metadata"]["labels"][sm["spec"]["jobLabel"]], "obsgate")

    def test_prometheus_rule_matches_rules_file(self):
        rules = load_yaml(path("prometheus", "obsgate-alerts.yml"))
        self.assertEqual(one("PrometheusRule")["spec"]["groups"], rules["groups"],
                         "run tests/deploy/sync_prometheusrule.py")


class NetworkPolicyTest(unittest.TestCase):
    def setUp(self):
        self.d = one("Deployment")
        self.labels = self.d["spec"]["template"]["metadata"]["labels"]
        self.ns = self.d["metadata"]["namespace"]

    def admits_obsgate(self, peer):
        ns = get(peer, "namespaceSelector.matchLabels") or {}
        pods = get(peer, "podSelector.matchLabels") or {}
        return (ns.get("kubernetes.io/metadata.name") == self.ns and pods and
                selects(pods, self.labels))

    def test_backends_admit_only_obsgate_on_data_ports(self):
        # (namespace, port reserved for obsgate)
        want = {("openbao", 8209), ("loki", 8080), ("monitoring", 9090)}
        got = set()
        for _, o in objects():
            if o["kind"] != "NetworkPolicy" or o["metadata"]["namespace"] == self.ns:
                continue
            self.assertEqual(o["spec"]["policyTypes"], ["Ingress"])
            for port in (8209, 8080, 9090):
                rules = [r for r in o["spec"]["ingress"]
                         if port in [p["port"] for p in r.get("ports", [])]]
                if not rules:
                    continue
                for r in rules:
                    self.assertTrue(r.get("from"), "port %d open to all" % port)
                    for peer in r["from"]:
                        self.assertTrue(self.admits_obsgate(peer), (o["metadata"]["name"], peer))
                got.add((o["metadata"]["namespace"], port))
        self.assertEqual(got, want)

    def test_admin_port_only_from_prometheus(self):
        np = one("NetworkPolicy", "obsgate")
        self.assertTrue(selects(np["spec"]["podSelector"]["matchLabels"], self.labels))
        admin = [r for r in np["spec"]["ingress"]
                 if [p["port"] for p in r["ports"]] == [9091]]
        self.assertEqual(len(admin), 1)
        for peer in admin[0]["from"]:
            self.assertEqual(peer["namespaceSelector"]["matchLabels"],
                             {"kubernetes.io/metadata.name": "monitoring"})
            self.assertTrue(peer["podSelector"]["matchLabels"])


class ObsgateConfigTest(unittest.TestCase):
    """obsgate.yaml (the ConfigMap's content, and the systemd install's file) passes obsgate's
    own validation. The certificates and token files it names are generated in a scratch copy
    of /etc/obsgate."""

    def check(self, text):
        with Scratch() as s:
            s.make_files(file_settings(yaml.safe_load(text)))
            local = os.path.join(s.dir, "obsgate.yaml")
            with open(local, "w") as f:
                f.write(s.relocate(text, ["/etc/obsgate/"]))
            return run([obsgate_bin(), "--check-config", local])

    def test_check_config(self):
        r = self.check(read(os.path.join(K, "obsgate.yaml")))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_check_config_can_fail(self):
        text = read(os.path.join(K, "obsgate.yaml"))
        broken = text.replace("upstream: prometheus", "upstream: prometeus")
        self.assertNotEqual(broken, text)
        r = self.check(broken)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("prometeus", r.stderr + r.stdout)


PROM_EMPTY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 63\r\n"
              b"\r\n" b'{"status":"success","data":{"resultType":"vector","result":[]}}')
LOKI_EMPTY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n"
              b"\r\n" b'{"status":"success","data":{"resultType":"streams","result":[]}}')
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


class ServeTest(unittest.TestCase):
    """obsgate serves with obsgate.yaml as shipped: TLS on the public listener, TLS towards the
    backends with their CA and server names, and every kind of client the other artifacts
    configure, each with the identity obsgate.yaml gives it:
      - a person's token (Grafana forwards it) on the Prometheus and Loki query routes;
      - Prometheus's remote-write token (client tenant-a-writer, deploy/prometheus);
      - Alloy's operational token (client openbao-log-shipper) and audit certificate
        (deploy/alloy): audit streams only with the certificate;
      - the collector's certificate on the OpenBao routes (deploy/prometheus);
    and the refusals (no credentials, the wrong identity, another tenant's data).
    Changes made for the test, and only these: listeners on free loopback ports; the provider's
    keys from a JWK Set file (its issuer stays, tokens are minted for it); the prometheus and
    loki upstreams' URLs on a local TLS test backend (their tls.server_name stays)."""

    @classmethod
    def setUpClass(cls):
        cls.text = read(os.path.join(K, "obsgate.yaml"))
        cls.cfg = yaml.safe_load(cls.text)
        cls.scratch = Scratch()
        cls.up = cls.gw = None
        try:
            cls.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        s = cls.scratch
        s.make_files(file_settings(cls.cfg) + ["/upstream/tls.crt"])
        rules = {r["name"]: r["uri_san"] for r in cls.cfg["identity"]["certificates"]}
        cls.collector = s.client_cert("/clients/collector", rules["metrics-collector"])
        cls.shipper = s.client_cert("/clients/audit-shipper", rules["openbao-audit-shipper"])
        cls.stranger = s.client_cert("/clients/stranger", "spiffe://prod.example/ns/x/sa/y")
        uctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        uctx.load_cert_chain(s.local("/upstream/tls.crt"), s.local("/upstream/tls.key"))
        cls.up = harness.Upstream(ssl_context=uctx)
        cls.up.on("/api/v1/query", harness.Behaviour.raw(PROM_EMPTY, keep_open=True))
        cls.up.on("/api/v1/write", harness.Behaviour.raw(NO_CONTENT, keep_open=True))
        cls.up.on("/loki/api/v1/query_range", harness.Behaviour.raw(LOKI_EMPTY, keep_open=True))
        cls.up.on("/loki/api/v1/push", harness.Behaviour.raw(NO_CONTENT, keep_open=True))

        cfg = yaml.safe_load(s.relocate(cls.text, ["/etc/obsgate/"]))
        for listener in cfg["server"]["listeners"]:
            listener.update(address="127.0.0.1", port=harness.free_port())
        cfg["admin"].update(address="127.0.0.1", port=harness.free_port())
        for u in cfg["upstreams"]:
            if u["name"] in ("prometheus", "loki"):
                u["url"] = cls.up.url
        (provider,) = cfg["identity"]["providers"]
        cls.issuer = TokenIssuer(s.dir, provider["issuer"])
        provider["keys"] = {"jwks_file": cls.issuer.jwks}
        cls.gw = harness.Gateway(cfg, s.dir)
        cls.gw.start()  # /readyz: every provider's keys are loaded
        cls.ca = s.local("/etc/obsgate/tls/clients-ca.crt")  # the scratch CA signs all

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.stop()
        if cls.up is not None:
            cls.up.stop()
        cls.scratch.close()

    def token(self, **claims):
        """An access token of the production provider (RFC 9068 typ, as the config requires)."""
        return self.issuer.token(typ="at+jwt", sub=claims.pop("sub", "someone"), **claims)

    def request(self, method, target, headers=None, body=b"", cert=None):
        """(status, body) over TLS to the public listener, verifying obsgate's certificate."""
        ctx = ssl.create_default_context(cafile=self.ca)
        if cert:
            ctx.load_cert_chain(*cert)
        head = "%s %s HTTP/1.1\r\nHost: obsgate.observability.svc\r\nConnection: close\r\n" % (
            method, target)
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        head += "Content-Length: %d\r\n\r\n" % len(body)
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=20) as raw:
            with ctx.wrap_socket(raw, server_hostname="obsgate.observability.svc") as c:
                c.sendall(head.encode() + body)
                data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        status = int(data.split(b" ", 2)[1])
        return status, data.partition(b"\r\n\r\n")[2]

    def seen(self, path):
        return self.up.requests(path)

    def person(self, groups, roles):
        return {"Authorization": "Bearer " + self.token(
            groups=groups, realm_access={"roles": roles})}

    def client(self, client_id):
        """A client-credentials token: the client is named by azp, no user."""
        return {"Authorization": "Bearer " + self.token(sub="service-account-" + client_id,
                                                        azp=client_id)}

    def test_person_queries_metrics_in_their_tenant(self):
        n = len(self.seen("/api/v1/query"))
        st, body = self.request("GET", "/api/v1/query?query=up",
                                self.person(["/team-b"], ["obs-metrics-reader"]))
        self.assertEqual(st, 200, body)
        rec = self.seen("/api/v1/query")[n]
        self.assertIn('namespace="team-b"', urllib.parse.unquote(rec.target))
        self.assertIsNone(rec.header("authorization"))
        self.assertIn("prometheus.monitoring.svc", self.up.sni_seen)

    def test_person_queries_logs_as_their_tenant(self):
        n = len(self.seen("/loki/api/v1/query_range"))
        q = urllib.parse.urlencode({"query": '{app="api"}'})
        st, body = self.request("GET", "/loki/api/v1/query_range?" + q,
                                self.person(["/team-a"], ["obs-logs-reader"]))
        self.assertEqual(st, 200, body)
        rec = self.seen("/loki/api/v1/query_range")[n]
        self.assertEqual(rec.header("x-scope-orgid"), "team-a")
        self.assertIn('stream!="audit"', urllib.parse.unquote(rec.target))
        self.assertIn("loki-gateway.loki.svc", self.up.sni_seen)

    def test_refusals(self):
        q = "/api/v1/query?query=up"
        cases = [
            ("no credentials", q, {}, None, 401),
            ("a token of an unknown issuer", q,
             {"Authorization": "Bearer " + TokenIssuer(self.scratch.dir, "https://evil.example",
                                                       kid="k2").token(typ="at+jwt")}, None,
             401),
            ("a person without the reader role", q, self.person(["/team-a"], []), None, 403),
            ("a writer's token on a read route", q, self.client("tenant-a-writer"), None, 403),
            ("a collector certificate on a read route", q, {}, self.collector, 401),
            ("a token on the OpenBao routes (certificates only)", "/openbao/nodes/metrics",
             self.person(["/team-a"], ["obs-platform-admin"]), None, 401),
            ("an unknown certificate on the OpenBao routes", "/openbao/nodes/metrics", {},
             self.stranger, 401),
            ("no route", "/api/v1/admin/tsdb/snapshot", {}, None, 404),
        ]
        for name, target, headers, cert, want in cases:
            with self.subTest(case=name):
                st, body = self.request("GET", target, headers, cert=cert)
                self.assertEqual(st, want, body[:300])

    def test_remote_write_with_the_prometheus_client(self):
        rw = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}
        ms = int(time.time() * 1000)
        writer = dict(self.client("tenant-a-writer"), **rw)
        n = len(self.seen("/api/v1/write"))
        body = remote_write_body([({"__name__": "up", "namespace": "team-a"}, [(1, ms)])])
        st, got = self.request("POST", "/api/v1/write", writer, body)
        self.assertEqual(st, 204, got)
        self.assertEqual(len(self.seen("/api/v1/write")), n + 1)
        # Outside team-a's namespaces: refused, nothing reaches Prometheus.
        body = remote_write_body([({"__name__": "up", "namespace": "team-b"}, [(1, ms)])])
        st, got = self.request("POST", "/api/v1/write", writer, body)
        self.assertIn(st, (400, 403), got)
        self.assertEqual(len(self.seen("/api/v1/write")), n + 1)

    def test_log_shippers_and_audit_streams(self):
        ns = str(int(time.time() * 1e9))
        def push(stream):
            return json.dumps({"streams": [{"stream": stream, "values": [[ns, "x"]]}]}).encode()
        ops = dict(self.client("openbao-log-shipper"), **{"Content-Type": "application/json"})
        js = {"Content-Type": "application/json"}
        operational = {"service": "openbao", "stream": "operational"}
        audit = {"service": "openbao", "stream": "audit"}
        cases = [
            ("operational shipper, operational stream", ops, None, operational, 204),
            ("operational shipper, audit stream", ops, None, audit, 403),
            ("audit shipper certificate, audit stream", js, self.shipper, audit, 204),
            ("collector certificate", js, self.collector, operational, 403),
        ]
        for name, headers, cert, stream, want in cases:
            with self.subTest(case=name):
                n = len(self.seen("/loki/api/v1/push"))
                st, got = self.request("POST", "/loki/api/v1/push", headers, push(stream), cert)
                self.assertEqual(st, want, got[:300])
                recs = self.seen("/loki/api/v1/push")
                if want == 204:
                    self.assertEqual(recs[n].header("x-scope-orgid"), "openbao")
                else:
                    time.sleep(0.2)  # a forwarded push would have arrived by now
                    self.assertEqual(len(recs), n)

    def test_collector_scrapes_openbao(self):
        # The nodes' names do not resolve here: the fan-out still answers, every node down.
        st, body = self.request("GET", "/openbao/nodes/metrics", cert=self.collector)
        self.assertEqual(st, 200, body[:300])
        self.assertIn(b'openbao_node_up{node="openbao-0"} 0', body)


class KustomizeTest(unittest.TestCase):
    def test_kubectl_kustomize_renders(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl not installed (not a Debian package); structural checks ran")
        r = run([kubectl, "kustomize", K])
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
        self.assertEqual(len(docs), len(objects()) + 1)
        cms = [d for d in docs if d["kind"] == "ConfigMap"]
        self.assertEqual(len(cms), 1)
        self.assertEqual(cms[0]["data"]["obsgate.yaml"], read(os.path.join(K, "obsgate.yaml")))
        dep = [d for d in docs if d["kind"] == "Deployment"][0]
        vol = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"][0]
        self.assertEqual(vol["configMap"]["name"], cms[0]["metadata"]["name"])
        for d in docs:
            self.assertEqual(d["metadata"]["labels"]["app.kubernetes.io/part-of"], "obsgate")


if __name__ == "__main__":
    unittest.main()
