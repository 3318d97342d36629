"""End to end: obsgate against the real local OpenID provider (deploy/local/idp, oidc-provider).

What is shown, against the real IdP (not a double):
  - obsgate discovers the provider (/.well-known/openid-configuration -> jwks_uri) and /readyz
    turns ready only once the keys are in;
  - a client-credentials access token is accepted and maps to the client's tenant (decision log);
    a token from a client of another tenant maps to that tenant; no token -> 401;
  - after the IdP rotates its signing key, a token with the new kid is accepted at once (unknown-
    kid refetch), and a rotation nobody presents a token for is picked up by the scheduled refresh
    (refresh.max 3s) -- obsgate_jwks_keys follows the IdP's key count;
  - with the IdP stopped, tokens signed with cached keys keep working, /readyz stays ready and the
    failed refreshes are counted;
  - a provider that never answered keeps /readyz at 503 naming it.

Ports are picked free (port 0); nothing listens beyond 127.0.0.1. Every wait is bounded.
"""

import base64
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
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
IDP_DIR = os.path.join(REPO, "deploy", "local", "idp")
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import harness  # noqa: E402  (tests/integration/harness.py: Upstream, Gateway, free_port)


def http(method, url, headers=None, data=None, timeout=10):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Idp:
    """deploy/local/idp/server.mjs started through its start.sh."""

    def __init__(self, workdir):
        self.port = harness.free_port()
        self.log = os.path.join(workdir, "idp-%d.log" % self.port)
        env = dict(os.environ, PORT=str(self.port))
        p = subprocess.run([os.path.join(IDP_DIR, "start.sh"), self.log], env=env,
                           capture_output=True, text=True, timeout=400)
        if p.returncode != 0:
            raise RuntimeError("idp start.sh failed: %s" % p.stderr)
        self.pid = int(p.stdout.strip())
        self.issuer = "http://127.0.0.1:%d" % self.port

    def token(self, client):
        auth = base64.b64encode(("%s:%s-secret" % (client, client)).encode()).decode()
        status, body = http("POST", self.issuer + "/token",
                            {"Authorization": "Basic " + auth,
                             "Content-Type": "application/x-www-form-urlencoded"},
                            b"grant_type=client_credentials&resource=urn%3Aobsgate")
        if status != 200:
            raise AssertionError("token for %s: %d %s" % (client, status, body))
        return json.loads(body)["access_token"]

    def keys(self):
        return json.loads(http("GET", self.issuer + "/__test/keys")[1])

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(50):
                os.kill(self.pid, 0)
                time.sleep(0.1)
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.pid = None


def kid_of(token):
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def provider(name, issuer):
    return {
        "name": name, "issuer": issuer, "audiences": ["obsgate"], "algorithms": ["RS256"],
        "keys": {"discovery": True}, "require_typ_at_jwt": True,
        "refresh": {"min": "1s", "max": "3s", "default": "2s"},
        "refetch_interval": "1s", "fetch_timeout": "1s",
        "mapping": {
            "tenants": [{"claim": "tenant", "values": {"team-a": ["team-a"],
                                                       "team-b": ["team-b"]}}],
            "roles": [{"claim": "roles", "values": {"metrics-reader": ["reader"]}}],
        },
    }


def gateway_config(up, providers, decision_log):
    cfg = harness.base_config(harness.free_port(), harness.free_port(),
                              [{"name": "prom", "url": up.url, "api": "prometheus"}],
                              [{"name": "buildinfo", "methods": ["GET"],
                                "path": "/api/v1/status/buildinfo", "upstream": "prom",
                                "auth": "required", "accept": ["token"]}])
    cfg["identity"] = {"providers": providers}
    cfg["logging"]["decision_log"] = decision_log
    return cfg


class IdentityE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None:
            raise unittest.SkipTest("node not installed (scripts/setup.sh installs it)")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="obsgate-idp-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.up = harness.Upstream()
        self.addCleanup(self.up.stop)

    def start_gateway(self, cfg, wait_ready=True):
        d = os.path.join(self.tmp, "gw%d" % len(os.listdir(self.tmp)))
        os.makedirs(d)
        gw = harness.Gateway(cfg, d)
        self.addCleanup(gw.stop)
        if wait_ready:
            gw.start(timeout=20)
            return gw
        gw.write_config()
        gw._out = open(gw.stdout_path, "ab")
        gw._err = open(gw.stderr_path, "ab")
        gw.proc = subprocess.Popen([harness.obsgate_bin(), "--config", gw.config_path],
                                   stdout=gw._out, stderr=gw._err, stdin=subprocess.DEVNULL)
        harness.wait_for(lambda: self.admin_status(gw) is not None, 15, what="admin port")
        return gw

    @staticmethod
    def admin_status(gw):
        try:
            return gw.admin_get("/readyz", timeout=1)
        except OSError:
            return None

    def get(self, gw, token):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return http("GET", "http://127.0.0.1:%d/api/v1/status/buildinfo" % gw.port, headers)

    def metric(self, gw, name, **labels):
        text = gw.admin_get("/metrics")[1]
        text = text.decode() if isinstance(text, bytes) else text
        for line in text.splitlines():
            if not line.startswith(name + "{"):
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        return None

    def decisions(self, path):
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]

    def test_discovery_rotation_and_outage(self):
        idp = Idp(self.tmp)
        self.addCleanup(idp.stop)
        decision_log = os.path.join(self.tmp, "decisions.log")
        gw = self.start_gateway(gateway_config(self.up, [provider("local", idp.issuer)],
                                               decision_log))
        # Ready means the keys arrived through discovery.
        self.assertEqual(self.metric(gw, "obsgate_jwks_refresh_total", provider="local",
                                     result="ok") >= 1, True)

        with self.subTest("tokens map to their client's tenant"):
            for client, tenant in (("tenant-a-reader", "team-a"), ("tenant-b-reader", "team-b")):
                status, body = self.get(gw, idp.token(client))
                self.assertEqual(status, 200, body)
                d = harness.wait_for(lambda: [x for x in self.decisions(decision_log)
                                              if x.get("subject") == client], 5,
                                     what="decision line for " + client)[-1]
                self.assertEqual((d["decision"], d["tenants"], d["roles"], d["issuer"]),
                                 ("allow", [tenant], ["reader"], idp.issuer))
            self.assertEqual(self.get(gw, None)[0], 401)

        with self.subTest("rotated key: the new kid is fetched on first use"):
            before = kid_of(idp.token("tenant-a-reader"))
            rotated = json.loads(http("POST", idp.issuer + "/__test/rotate")[1])
            token = idp.token("tenant-a-reader")
            self.assertEqual(kid_of(token), rotated["active_kid"])
            self.assertNotEqual(kid_of(token), before)
            status, body = self.get(gw, token)
            self.assertEqual(status, 200, body)

        with self.subTest("a rotation nobody uses yet is followed by the scheduled refresh"):
            os.kill(idp.pid, signal.SIGUSR2)
            want = harness.wait_for(lambda: len(idp.keys()["kids"]) >= 4 and idp.keys(), 5,
                                    what="second rotation")
            harness.wait_for(lambda: self.metric(gw, "obsgate_jwks_keys", provider="local")
                             == len(want["kids"]), 10, what="obsgate_jwks_keys to follow")

        with self.subTest("IdP stopped: cached keys keep working, still ready"):
            unused = [idp.token("tenant-a-reader"), idp.token("tenant-b-reader")]
            errors_before = self.metric(gw, "obsgate_jwks_refresh_total", provider="local",
                                        result="fetch_error") or 0
            idp.stop()
            harness.wait_for(lambda: (self.metric(gw, "obsgate_jwks_refresh_total",
                                                  provider="local", result="fetch_error") or 0)
                             > errors_before, 10, what="a failed refresh")
            for t in unused:
                status, body = self.get(gw, t)
                self.assertEqual(status, 200, body)
            self.assertEqual(gw.admin_get("/readyz")[0], 200)

    def test_provider_that_never_answered_is_not_ready(self):
        dead = "http://127.0.0.1:%d" % harness.free_port()  # nothing listens there
        gw = self.start_gateway(gateway_config(self.up, [provider("never", dead)],
                                               os.path.join(self.tmp, "d.log")),
                                wait_ready=False)
        harness.wait_for(lambda: (self.metric(gw, "obsgate_jwks_refresh_total", provider="never",
                                              result="fetch_error") or 0) >= 2, 15,
                         what="two failed fetches")
        status, body = gw.admin_get("/readyz")
        body = body.decode() if isinstance(body, bytes) else body
        self.assertEqual(status, 503)
        self.assertIn("never", body)


if __name__ == "__main__":
    unittest.main()
