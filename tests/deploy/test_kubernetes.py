"""deploy/kubernetes: every object parsed, the required fields of its kind checked, and the
objects checked against each other and against obsgate.yaml (selectors, ports, volumes, mount
paths). obsgate.yaml itself passes `obsgate --check-config`. When kubectl is installed,
`kubectl kustomize` must render the kustomization too (kubectl is not a Debian package; the
structural checks here do not depend on it)."""

import os
import shutil
import socket
import ssl
import sys
import unittest

from deploy_common import (ROOT, Scratch, file_settings, load_yaml, load_yaml_all, obsgate_bin,
                           path, read, run)
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


class ServeTest(unittest.TestCase):
    """obsgate serves with obsgate.yaml: TLS on the public listener with the generated
    certificate, TLS towards the upstream with the backends' CA and the configured server name,
    and the OpenBao routes refusing a client without the collector's certificate. Changes made
    for the test, and only these: listeners on free loopback ports, the prometheus upstream's
    URL on a local TLS test backend (its tls.server_name stays)."""

    def request(self, port, ca, target):
        ctx = ssl.create_default_context(cafile=ca)
        head = ("GET %s HTTP/1.1\r\nHost: obsgate.observability.svc\r\n"
                "Connection: close\r\n" % target)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="obsgate.observability.svc") as c:
                c.sendall((head + "\r\n").encode())
                data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        return data
                    data += chunk

    def test_query_through_production_config(self):
        text = read(os.path.join(K, "obsgate.yaml"))
        cfg = yaml.safe_load(text)
        with Scratch() as s:
            s.make_files(file_settings(cfg) + ["/upstream/tls.crt"])
            uctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            uctx.load_cert_chain(s.local("/upstream/tls.crt"), s.local("/upstream/tls.key"))
            up = harness.Upstream(ssl_context=uctx)
            up.on("/api/v1/query", harness.Behaviour.raw(PROM_EMPTY))
            gw = None
            try:
                cfg = yaml.safe_load(s.relocate(text, ["/etc/obsgate/"]))
                for listener in cfg["server"]["listeners"]:
                    listener.update(address="127.0.0.1", port=harness.free_port())
                cfg["admin"].update(address="127.0.0.1", port=harness.free_port())
                [u for u in cfg["upstreams"] if u["name"] == "prometheus"][0]["url"] = up.url
                gw = harness.Gateway(cfg, s.dir)
                # The production IdP is not reachable here, so /readyz (which waits for every
                # provider's keys) stays 503; the certificate and unauthenticated paths serve.
                gw.start(ready_path="/healthz")
                ca = s.local("/etc/obsgate/tls/clients-ca.crt")  # the scratch CA signs all

                data = self.request(gw.port, ca, "/api/v1/query?query=up")
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:300])
                (rec,) = up.requests("/api/v1/query")
                self.assertEqual(rec.target, "/api/v1/query?query=up")
                self.assertIn("prometheus.monitoring.svc", up.sni_seen)
                self.assertIsNone(rec.header("authorization"))
                # Last: this build crashes on the request after an authentication refusal.
                denied = self.request(gw.port, ca, "/openbao/nodes/metrics")
                self.assertTrue(denied.startswith(b"HTTP/1.1 401"), denied[:300])
            finally:
                if gw is not None:
                    gw.stop()
                up.stop()


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
