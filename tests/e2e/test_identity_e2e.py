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
  - a provider that never answered keeps /readyz at 503 naming it;
  - RFC 8705: a certificate-bound token the IdP issued over mTLS (its cnf.x5t#S256 is the client
    certificate's thumbprint) is accepted on obsgate's TLS listener with that certificate, and
    refused (401 invalid_token) with another certificate from the same CA, or none.

The mTLS-only identity (a certificate from the test CA is accepted as the collector, one from
another CA refused) needs no IdP and is checked in tests/integration/test_authn.py
(test_certificate_identity_accepted, test_certificate_from_other_ca_refused).

Ports are picked free (port 0); nothing listens beyond 127.0.0.1. Every wait is bounded.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import ssl
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


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token):
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


class Pki:
    """A test CA and leaf certificates made with the openssl CLI (as tests/integration does)."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir)
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                     "-subj", "/CN=obsgate-e2e-identity-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30,
                       cwd=self.dir)

    def leaf(self, name, usage, san="DNS:localhost,IP:127.0.0.1"):
        with open(self.path(name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=%s\nsubjectAltName=%s\n" % (usage, san))
        self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                     "-subj", "/CN=" + name)
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-CAcreateserial", "-out", name + ".crt", "-days", "2",
                     "-extfile", name + ".ext")
        return name

    def thumbprint(self, name):
        """RFC 8705 x5t#S256: base64url SHA-256 of the certificate's DER."""
        with open(self.path(name + ".crt")) as f:
            return b64url(hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).digest())

    def client_context(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        return ctx


class Idp:
    """deploy/local/idp/server.mjs started through its start.sh. With pki, it also serves HTTPS
    (TLS_PORT) with a server certificate from that CA and issues certificate-bound tokens."""

    def __init__(self, workdir, pki=None):
        self.port = harness.free_port()
        self.log = os.path.join(workdir, "idp-%d.log" % self.port)
        env = dict(os.environ, PORT=str(self.port))
        self.pki = pki
        if pki is not None:
            self.tls_port = harness.free_port()
            server = pki.leaf("idp-server", "serverAuth")
            env.update(TLS_PORT=str(self.tls_port), TLS_CERT_FILE=pki.path(server + ".crt"),
                       TLS_KEY_FILE=pki.path(server + ".key"))
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

    def bound_token(self, client, cert):
        """A token from the HTTPS token endpoint, presenting the client certificate `cert`."""
        auth = base64.b64encode(("%s:%s-secret" % (client, client)).encode()).decode()
        req = urllib.request.Request(
            "https://127.0.0.1:%d/token" % self.tls_port, method="POST",
            data=b"grant_type=client_credentials&resource=urn%3Aobsgate",
            headers={"Authorization": "Basic " + auth,
                     "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, timeout=10,
                                    context=self.pki.client_context(cert)) as r:
            return json.loads(r.read())["access_token"]

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
            "roles": [{"claim": "roles", "values": {"metrics-reader": ["reader"],
                                                    "metrics-collector": ["collector"]}}],
        },
    }


def gateway_config(up, providers, decision_log, listeners=None):
    cfg = harness.base_config(harness.free_port(), harness.free_port(),
                              [{"name": "prom", "url": up.url, "api": "prometheus"}],
                              [{"name": "buildinfo", "methods": ["GET"],
                                "path": "/api/v1/status/buildinfo", "upstream": "prom",
                                "auth": "required", "accept": ["token"]}],
                              listeners=listeners)
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


    def test_certificate_bound_token(self):
        pki = Pki(self.tmp)
        idp = Idp(self.tmp, pki)
        self.addCleanup(idp.stop)
        for name in ("client", "other"):
            pki.leaf(name, "clientAuth")
        gw_cert = pki.leaf("gateway", "serverAuth")
        tls = {"cert_file": pki.path(gw_cert + ".crt"), "key_file": pki.path(gw_cert + ".key"),
               "client_ca_file": pki.path("ca.crt"), "client_cert": "optional"}
        mtls_port = harness.free_port()
        listeners = [{"name": "public", "address": harness.HOST, "port": harness.free_port()},
                     {"name": "mtls", "address": harness.HOST, "port": mtls_port, "tls": tls}]
        decision_log = os.path.join(self.tmp, "decisions.log")
        gw = self.start_gateway(gateway_config(self.up, [provider("local", idp.issuer)],
                                               decision_log, listeners))

        def https_get(token, cert):
            req = urllib.request.Request(
                "https://localhost:%d/api/v1/status/buildinfo" % mtls_port,
                headers={"Authorization": "Bearer " + token})
            try:
                with urllib.request.urlopen(req, timeout=10,
                                            context=pki.client_context(cert)) as r:
                    return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()

        token = idp.bound_token("bound-collector", "client")
        with self.subTest("the IdP bound the token to the client certificate"):
            cnf = claims_of(token).get("cnf", {})
            self.assertEqual(cnf.get("x5t#S256"), pki.thumbprint("client"))
            self.assertNotEqual(pki.thumbprint("client"), pki.thumbprint("other"))

        with self.subTest("accepted with its certificate"):
            status, _, body = https_get(token, "client")
            self.assertEqual(status, 200, body)
            self.assertEqual(len(self.up.requests("/api/v1/status/buildinfo")), 1)
            d = harness.wait_for(lambda: [x for x in self.decisions(decision_log)
                                          if x.get("subject") == "bound-collector"], 5,
                                 what="decision line for bound-collector")[-1]
            self.assertEqual((d["decision"], d["roles"], d["issuer"]),
                             ("allow", ["collector"], idp.issuer))

        for cert in ("other", None):
            with self.subTest("refused with another certificate of the same CA", cert=cert):
                status, headers, body = https_get(token, cert)
                self.assertEqual(status, 401, body)
                challenge = {k.lower(): v for k, v in headers.items()}.get("www-authenticate")
                self.assertIn('error="invalid_token"', challenge or "")
                self.assertEqual(len(self.up.requests("/api/v1/status/buildinfo")), 1,
                                 "a refused request reached the upstream")

if __name__ == "__main__":
    unittest.main()
