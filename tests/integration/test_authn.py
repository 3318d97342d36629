"""Authentication end to end: obsgate with a local JWKS-file provider and certificate identities
in front of a recording upstream.

Checks what the client got (401/403 shapes, RFC 6750 challenges) and what the upstream saw
(no Authorization header unless the route forwards it, nothing at all for refused requests),
mTLS identities by CA, RFC 8705 certificate-bound tokens, tokens in the query string, and the
decision log (a keyed fingerprint, never the token).

Tokens are minted at test time by obsgate_mint_token (tests/tools/); certificates by the openssl
CLI. The mint tool is found through OBSGATE_MINT_TOKEN, else next to the build's obsgate binary.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import HOST, GatewayTestCase, base_config, free_port, mint_tool, wait_for

ISSUER = "https://idp.test/realms/obs"
AUDIENCE = "obsgate"
COLLECTOR_SPIFFE = "spiffe://test/ns/obs/sa/collector"
FINGERPRINT_KEY = b"integration-fingerprint-key-0123456789abcdef"

ENV = None  # set up once per module


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Env:
    """Keys, JWKS, certificates and the fingerprint key, in one temp dir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="obsgate-it-authn-")
        self.mint = mint_tool()
        # The provider's signing key and the JWKS obsgate reads; plus a key it doesn't know.
        self.run_mint("--generate", "--key", self.path("idp.pem"), "--jwks",
                      self.path("jwks.json"), "--alg", "ES256", "--kid", "idp-1")
        self.run_mint("--generate", "--key", self.path("evil.pem"), "--alg", "ES256",
                      "--kid", "idp-1")
        with open(self.path("fingerprint.key"), "wb") as f:
            f.write(FINGERPRINT_KEY + b"\n")
        self.ca("ca", "obsgate-it-authn-ca")
        self.ca("other-ca", "obsgate-it-authn-other-ca")
        self.leaf("server", "ca", "localhost",
                  "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        self.leaf("collector", "ca", "collector",
                  "subjectAltName=URI:%s\nextendedKeyUsage=clientAuth\n" % COLLECTOR_SPIFFE)
        # The same identity, from a CA obsgate does not trust.
        self.leaf("rogue", "other-ca", "collector",
                  "subjectAltName=URI:%s\nextendedKeyUsage=clientAuth\n" % COLLECTOR_SPIFFE)
        self.leaf("stranger", "ca", "stranger", "extendedKeyUsage=clientAuth\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_mint(self, *args):
        p = subprocess.run([self.mint] + list(args), capture_output=True, timeout=30, text=True)
        if p.returncode != 0:
            raise RuntimeError("obsgate_mint_token %s: %s" % (" ".join(args), p.stderr))
        return p.stdout.strip()

    def token(self, key="idp.pem", kid="idp-1", **claims):
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300}
        for k, v in claims.items():
            if v is None:
                body.pop(k, None)
            else:
                body[k] = v
        return self.run_mint("--key", self.path(key), "--alg", "ES256", "--kid", kid,
                             "--claims", json.dumps(body))

    def openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30,
                       cwd=self.dir)

    def ca(self, name, cn):
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                     "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, ca, cn, ext):
        with open(self.path(name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj",
                     "/CN=" + cn)
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
                     ca + ".key", "-CAcreateserial", "-out", name + ".crt", "-days", "2",
                     "-extfile", name + ".ext")

    def thumbprint(self, name):
        """RFC 8705 x5t#S256 of a certificate."""
        with open(self.path(name + ".crt")) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        return b64url(hashlib.sha256(der).digest())

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    if ENV is not None:
        ENV.cleanup()


def fingerprint(token):
    return hmac.new(FINGERPRINT_KEY, token.encode(), hashlib.sha256).hexdigest()[:32]


def challenge(error=None, description=None):
    out = 'Bearer realm="obsgate"'
    if error:
        out += ', error="%s"' % error
    if description:
        out += ', error_description="%s"' % description
    return out


class AuthnTest(GatewayTestCase):
    def make_config(self, up):
        p = ENV.path
        tls = {"cert_file": p("server.crt"), "key_file": p("server.key"),
               "client_ca_file": p("ca.crt"), "client_cert": "optional"}
        listeners = [
            {"name": "public", "address": HOST, "port": free_port()},
            {"name": "mtls", "address": HOST, "port": free_port(), "tls": tls},
        ]
        ups = [{"name": "prom", "url": up.url, "api": "prometheus"}]

        def route(name, path, **kw):
            r = {"name": name, "methods": ["GET"], "path": path, "upstream": "prom",
                 "unsafe_any_query_params": True}
            r.update(kw)
            return r

        routes = [
            route("query", "/api/v1/query"),
            route("listed", "/api/v1/query_range", unsafe_any_query_params=False,
                  query_params=["query"]),
            route("admin", "/admin", roles=["admin"]),
            route("forward", "/forward", forward_token=True),
            route("collector", "/collector", accept=["certificate"], roles=["writer"]),
            route("tokens", "/tokens", accept=["token"]),
        ]
        cfg = base_config(0, free_port(), ups, routes, listeners=listeners)
        cfg["identity"] = {
            "providers": [{
                "name": "local",
                "issuer": ISSUER,
                "audiences": [AUDIENCE],
                "keys": {"jwks_file": p("jwks.json")},
                "mapping": {
                    "roles": [{"claim": "roles",
                               "values": {"obs-admin": ["admin"], "obs-reader": ["reader"]}}],
                    "tenants": [{"claim": "groups", "values": {"/team-a": ["team-a"]}}],
                },
            }],
            "certificates": [{"uri_san": COLLECTOR_SPIFFE, "name": "collector",
                              "roles": ["writer"], "tenants": ["team-a"]}],
            "decision_fingerprint_key_file": p("fingerprint.key"),
        }
        return cfg

    # -- helpers

    def port(self, name):
        for l in self.gw.config["server"]["listeners"]:
            if l["name"] == name:
                return l["port"]
        raise KeyError(name)

    def get(self, path, token=None, headers=None):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return self.gw.request("GET", path, headers=h)

    def https_get(self, path, cert=None, token=None):
        ctx = ssl.create_default_context(cafile=ENV.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(ENV.path(cert + ".crt"), ENV.path(cert + ".key"))
        c = http.client.HTTPSConnection("localhost", self.port("mtls"), timeout=10, context=ctx)
        try:
            h = {"Authorization": "Bearer " + token} if token else {}
            c.request("GET", path, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def assert_refused(self, status, headers, want_status, want_challenge):
        self.assertEqual(status, want_status)
        self.assertEqual(headers.get("www-authenticate"), want_challenge)
        self.assertEqual(self.up.requests(), [], "a refused request reached the upstream")

    def upstream_saw_once(self, path):
        reqs = wait_for(lambda: self.up.requests(path), what="upstream request")
        self.assertEqual(len(reqs), 1)
        return reqs[0]

    # -- tokens

    def test_no_credentials_bare_challenge(self):
        status, headers, _ = self.get("/api/v1/query?query=up")
        self.assert_refused(status, headers, 401, challenge())

    def test_valid_token_reaches_upstream_without_authorization(self):
        token = ENV.token(roles=["obs-reader"], groups=["/team-a"])
        status, _, _ = self.get("/api/v1/query?query=up", token)
        self.assertEqual(status, 200)
        rec = self.upstream_saw_once("/api/v1/query")
        self.assertIsNone(rec.header("Authorization"))
        self.assertEqual(rec.target, "/api/v1/query?query=up")

    def test_forward_token_route_keeps_authorization(self):
        token = ENV.token()
        status, _, _ = self.get("/forward", token)
        self.assertEqual(status, 200)
        self.assertEqual(self.upstream_saw_once("/forward").header("Authorization"),
                         "Bearer " + token)

    def test_refused_tokens(self):
        now = int(time.time())
        cases = [
            ("expired", ENV.token(exp=now - 3600, iat=now - 7200),
             challenge("invalid_token", "token expired")),
            ("unknown signer", ENV.token(key="evil.pem"),
             challenge("invalid_token", "token invalid")),
            ("unknown kid", ENV.token(kid="idp-2"), challenge("invalid_token", "token invalid")),
            ("wrong audience", ENV.token(aud="grafana"),
             challenge("invalid_token", "token invalid")),
            ("unknown issuer", ENV.token(iss="https://evil.test"),
             challenge("invalid_token", "token invalid")),
            ("not a JWT", "abc.def.ghi", challenge("invalid_token", "token invalid")),
        ]
        for name, token, want in cases:
            with self.subTest(name):
                status, headers, body = self.get("/api/v1/query?query=up", token)
                self.assert_refused(status, headers, 401, want)
                self.assertNotIn(token.encode(), body)

    def test_basic_auth_is_no_bearer_credential(self):
        status, headers, _ = self.get("/api/v1/query", headers={"Authorization": "Basic dTpw"})
        self.assert_refused(status, headers, 401, challenge())

    def test_token_in_query_string_refused_and_not_forwarded(self):
        token = ENV.token()
        status, headers, _ = self.get("/api/v1/query?query=up&access_token=" + token)
        self.assert_refused(status, headers, 401,
                            challenge("invalid_request", "token not accepted in the URL"))
        # Even with a valid header token next to it.
        status, headers, _ = self.get("/api/v1/query?access_token=x", token)
        self.assert_refused(status, headers, 401,
                            challenge("invalid_request", "token not accepted in the URL"))
        # On a route with a parameter allowlist the request is refused too (400 or 401,
        # depending on which check runs first), and never forwarded.
        status, _, _ = self.get("/api/v1/query_range?query=up&access_token=" + token, token)
        self.assertIn(status, (400, 401))
        self.assertEqual(self.up.requests(), [])

    def test_roles(self):
        status, headers, _ = self.get("/admin", ENV.token(roles=["obs-reader"]))
        self.assert_refused(status, headers, 403, challenge("insufficient_scope"))
        status, _, _ = self.get("/admin", ENV.token(roles=["obs-reader", "obs-admin"]))
        self.assertEqual(status, 200)
        self.upstream_saw_once("/admin")

    # -- certificates

    def test_certificate_identity_accepted(self):
        status, _, _ = self.https_get("/collector", cert="collector")
        self.assertEqual(status, 200)
        self.assertIsNone(self.upstream_saw_once("/collector").header("Authorization"))

    def test_certificate_from_other_ca_refused(self):
        # The listener's client CA refuses the handshake (or the request gets no identity).
        try:
            status, _, _ = self.https_get("/collector", cert="rogue")
        except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
            status = None
        self.assertIn(status, (None, 401))
        self.assertEqual(self.up.requests(), [])

    def test_unmapped_certificate_and_missing_certificate(self):
        for cert in ("stranger", None):
            with self.subTest(cert=cert):
                status, headers, _ = self.https_get("/collector", cert=cert)
                self.assert_refused(status, headers, 401, challenge())

    def test_certificate_only_route_ignores_tokens(self):
        status, headers, _ = self.get("/collector", ENV.token(roles=["obs-admin"]))
        self.assert_refused(status, headers, 401, challenge())

    def test_token_only_route_ignores_certificates(self):
        status, headers, _ = self.https_get("/tokens", cert="collector")
        self.assert_refused(status, headers, 401, challenge())

    def test_certificate_bound_token(self):
        bound = ENV.token(cnf={"x5t#S256": ENV.thumbprint("collector")})
        status, _, _ = self.https_get("/tokens", cert="collector", token=bound)
        self.assertEqual(status, 200)
        self.upstream_saw_once("/tokens")
        self.up.reset()
        for cert in ("stranger", None):
            with self.subTest(cert=cert):
                status, headers, _ = self.https_get("/tokens", cert=cert, token=bound)
                self.assert_refused(status, headers, 401,
                                    challenge("invalid_token", "token invalid"))

    # -- decision log and metrics

    def test_decision_log_has_fingerprint_not_token(self):
        good = ENV.token(roles=["obs-reader"])
        bad = ENV.token(key="evil.pem")
        self.assertEqual(self.get("/api/v1/query", good)[0], 200)
        self.assertEqual(self.get("/api/v1/query", bad)[0], 401)

        def decision_lines():
            out = []
            for line in self.gw.stderr().splitlines():
                line = line.strip()
                if line.startswith("{") and (fingerprint(good) in line or
                                             fingerprint(bad) in line):
                    out.append(json.loads(line))
            return out if len(out) >= 2 else None

        lines = wait_for(decision_lines, what="two decision lines")
        text = json.dumps(lines)
        self.assertIn(fingerprint(good), text)
        self.assertIn(fingerprint(bad), text)
        for t in (good, bad):
            for part in t.split("."):
                self.assertNotIn(part, self.gw.stderr())
                self.assertNotIn(part, self.gw.stdout())

    def test_metrics(self):
        token = ENV.token()
        for _ in range(2):
            self.assertEqual(self.get("/api/v1/query", token)[0], 200)
        self.assertEqual(self.get("/api/v1/query")[0], 401)
        m = self.gw.metric
        self.assertEqual(m("obsgate_authn_total", result="allow", reason="token"), 2)
        self.assertEqual(m("obsgate_authn_total", result="deny", reason="no_credentials"), 1)
        self.assertEqual(m("obsgate_token_cache_total", result="hit"), 1)
        self.assertEqual(m("obsgate_token_cache_total", result="miss"), 1)


if __name__ == "__main__":
    unittest.main()
