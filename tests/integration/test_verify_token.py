"""`obsgate verify-token` as an operator runs it: keys and tokens are made at test time with the
`openssl` CLI (RSA 2048 and EC P-256), signed outside obsgate, and checked for exit codes,
the printed claims and the rejection names on stderr.

The --discover test serves the discovery document and the JWKS over plain HTTP on 127.0.0.1
(an http issuer is acceptable for a test; real issuers are https)."""
import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import obsgate_bin

ISS = "https://idp.example.test/realms/obs"
AUD = "obsgate"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def openssl(*args, data=None):
    p = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))
    return p.stdout


def der_ecdsa_to_raw(der, size=32):
    """ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) -> JOSE r||s."""
    assert der[0] == 0x30, "not a DER sequence"
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[pos] == 0x02, "not a DER integer"
        n = der[pos + 1]
        value = der[pos + 2:pos + 2 + n].lstrip(b"\x00")
        out += value.rjust(size, b"\x00")
        pos += 2 + n
    return out


def run(*args, timeout=30, env=None):
    p = subprocess.run([obsgate_bin(), "verify-token", *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


class Keys:
    """An RSA and an EC key on disk, their JWKS, and a token signer."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.rsa = os.path.join(tmp, "rsa.pem")
        self.ec = os.path.join(tmp, "ec.pem")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", self.rsa)
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", self.ec)
        modulus = openssl("rsa", "-in", self.rsa, "-noout", "-modulus").decode().strip()
        assert modulus.startswith("Modulus="), modulus
        n = bytes.fromhex(modulus[len("Modulus="):])
        spki = openssl("pkey", "-in", self.ec, "-pubout", "-outform", "DER")
        point = spki[-65:]  # the SubjectPublicKeyInfo ends with the uncompressed point
        assert point[0] == 0x04, "expected an uncompressed EC point"
        self.jwks = {"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64url(n), "e": "AQAB"},
            {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256",
             "x": b64url(point[1:33]), "y": b64url(point[33:])},
        ]}
        self.jwks_file = os.path.join(tmp, "jwks.json")
        with open(self.jwks_file, "w") as f:
            json.dump(self.jwks, f)

    def sign(self, claims, alg="RS256", kid="rsa-1", typ="JWT", extra_header=None):
        header = {"alg": alg, "typ": typ}
        if kid is not None:
            header["kid"] = kid
        header.update(extra_header or {})
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode())).encode()
        if alg == "RS256":
            sig = openssl("dgst", "-sha256", "-sign", self.rsa, data=signing_input)
        elif alg == "RS384":
            sig = openssl("dgst", "-sha384", "-sign", self.rsa, data=signing_input)
        elif alg == "PS256":
            sig = openssl("dgst", "-sha256", "-sign", self.rsa, "-sigopt",
                          "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
                          data=signing_input)
        elif alg == "ES256":
            sig = der_ecdsa_to_raw(openssl("dgst", "-sha256", "-sign", self.ec,
                                           data=signing_input))
        else:
            raise ValueError(alg)
        return signing_input.decode() + "." + b64url(sig)


def claims(**over):
    now = int(time.time())
    c = {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now - 10, "exp": now + 600,
         "groups": ["/team-a"], "scope": "openid metrics:read"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


class VerifyTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl CLI not found")
        cls.tmp = tempfile.mkdtemp(prefix="obsgate-vt-")
        cls.keys = Keys(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def base_args(self, *extra):
        return ["--issuer", ISS, "--audience", AUD, "--jwks", self.keys.jwks_file, *extra]

    def test_rejections(self):
        k = self.keys
        now = int(time.time())
        good = k.sign(claims())
        tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
        cases = [
            # (name, token, extra args, exit code, stderr substring)
            ("expired", k.sign(claims(iat=now - 7200, exp=now - 3600)), [], 1, "expired"),
            ("wrong audience", k.sign(claims(aud="someone-else")), [], 1, "wrong_audience"),
            ("wrong issuer", k.sign(claims(iss="https://evil.example.test")), [], 1,
             "wrong_issuer"),
            ("alg not on the allowlist", good, ["--alg", "ES256"], 1, "alg_not_allowed"),
            # Without --alg the CLI takes a configured provider's default list
            # (config::default_provider_algorithms), which leaves RS384 opt-in.
            ("RS384 is not a default alg", k.sign(claims(), alg="RS384"), [], 1,
             "alg_not_allowed"),
            ("tampered signature", tampered, [], 1, "bad_signature"),
            ("unknown kid", k.sign(claims(), kid="rotated-away"), [], 1, "unknown_kid"),
            ("not yet valid", k.sign(claims(nbf=now + 3600, exp=now + 7200)), [], 1,
             "not_yet_valid"),
            ("lifetime above --max-lifetime", k.sign(claims(iat=now - 10, exp=now + 7200)),
             ["--max-lifetime", "1h"], 1, "lifetime_too_long"),
            ("typ required", good, ["--typ", "at+jwt"], 1, "typ_mismatch"),
            ("garbage", "not.a.token", [], 1, "malformed"),
        ]
        for name, token, extra, code, err in cases:
            with self.subTest(name):
                rc, out, stderr = run(*self.base_args(*extra), token)
                self.assertEqual(rc, code, stderr)
                self.assertIn("rejected: " + err + "\n", stderr)
                self.assertEqual(out, "")

    def test_valid_tokens(self):
        k = self.keys
        cases = [
            # (name, token, extra args, expected header kid)
            ("RS256", k.sign(claims()), [], "rsa-1"),
            ("ES256", k.sign(claims(), alg="ES256", kid="ec-1"), [], "ec-1"),
            ("PS256", k.sign(claims(), alg="PS256"), [], "rsa-1"),
            ("Bearer prefix", "Bearer " + k.sign(claims()), [], "rsa-1"),
            ("at+jwt required and given", k.sign(claims(), typ="at+jwt"), ["--typ", "at+jwt"],
             "rsa-1"),
            ("explicit alg list", k.sign(claims(), alg="ES256", kid="ec-1"),
             ["--alg", "ES256", "--alg", "RS256"], "ec-1"),
            ("RS384 when asked for", k.sign(claims(), alg="RS384"), ["--alg", "RS384"], "rsa-1"),
        ]
        for name, token, extra, kid in cases:
            with self.subTest(name):
                rc, out, err = run(*self.base_args(*extra), token)
                self.assertEqual(rc, 0, err)
                self.assertIn('"sub": "alice"', out)
                self.assertIn('"iss": "%s"' % ISS, out)
                self.assertIn('"kid": "%s"' % kid, out)
                self.assertIn("no mapping given", out)

    def test_header_and_claims_are_json(self):
        rc, out, err = run(*self.base_args(), self.keys.sign(claims(), alg="ES256", kid="ec-1"))
        self.assertEqual(rc, 0, err)
        header = out.split("header: ", 1)[1].split("\nclaims: ", 1)[0]
        body = out.split("\nclaims: ", 1)[1].split("\nprincipal: ", 1)[0]
        self.assertEqual(json.loads(header), {"alg": "ES256", "kid": "ec-1", "typ": "JWT"})
        self.assertEqual(json.loads(body)["groups"], ["/team-a"])

    def test_mapping(self):
        mapping = os.path.join(self.tmp, "mapping.yaml")
        with open(mapping, "w") as f:
            f.write("tenants:\n"
                    "  - claim: groups\n"
                    "    values:\n"
                    "      /team-a: [team-a]\n"
                    "roles:\n"
                    "  - claim: scope\n"
                    "    split: space\n"
                    "    values:\n"
                    "      'metrics:read': [reader]\n")
        rc, out, err = run(*self.base_args("--mapping", mapping), self.keys.sign(claims()))
        self.assertEqual(rc, 0, err)
        principal = json.loads(out.split("\nprincipal: ", 1)[1])
        self.assertEqual(principal, {"issuer": ISS, "subject": "alice", "tenants": ["team-a"],
                                     "roles": ["reader"]})

    def test_certificate_binding(self):
        key = os.path.join(self.tmp, "client.key")
        cert = os.path.join(self.tmp, "client.pem")
        other = os.path.join(self.tmp, "other.pem")
        for path in (cert, other):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", path, "-subj", "/CN=client", "-days", "1")
        der = openssl("x509", "-in", cert, "-outform", "DER")
        token = self.keys.sign(claims(cnf={"x5t#S256": b64url(hashlib.sha256(der).digest())}))
        cases = [
            ("matching certificate", ["--cert", cert], 0, None),
            ("other certificate", ["--cert", other], 1, "rejected: cnf_mismatch"),
            ("no certificate", [], 1, "rejected: cnf_mismatch"),
        ]
        for name, extra, code, err in cases:
            with self.subTest(name):
                rc, _, stderr = run(*self.base_args(*extra), token)
                self.assertEqual(rc, code, stderr)
                if err is not None:
                    self.assertIn(err, stderr)

    def test_usage_errors_exit_2(self):
        token = self.keys.sign(claims())
        cases = [
            ("no token", self.base_args()),
            ("no issuer", ["--audience", AUD, "--jwks", self.keys.jwks_file, token]),
            ("no audience", ["--issuer", ISS, "--jwks", self.keys.jwks_file, token]),
            ("no key source", ["--issuer", ISS, "--audience", AUD, token]),
            ("both key sources", self.base_args("--discover", token)),
            ("HS256 refused", self.base_args("--alg", "HS256", token)),
            ("bad duration", self.base_args("--clock-skew", "soon", token)),
            ("unknown flag", self.base_args("--frobnicate", token)),
            ("two tokens", self.base_args(token, token)),
        ]
        for name, args in cases:
            with self.subTest(name):
                rc, out, err = run(*args)
                self.assertEqual(rc, 2, err)
                self.assertIn("usage:", err)
                self.assertEqual(out, "")

    def test_unreadable_jwks_exit_1(self):
        rc, _, err = run("--issuer", ISS, "--audience", AUD, "--jwks",
                         os.path.join(self.tmp, "missing.json"), self.keys.sign(claims()))
        self.assertEqual(rc, 1)
        self.assertIn("missing.json", err)


class DiscoverTest(unittest.TestCase):
    """--discover against a local issuer (plain HTTP on 127.0.0.1)."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl CLI not found")
        cls.tmp = tempfile.mkdtemp(prefix="obsgate-vt-")
        cls.keys = Keys(cls.tmp)
        documents = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = documents.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = cls.server.server_address[1]
        cls.issuer = "http://127.0.0.1:%d/realms/obs" % port
        documents["/realms/obs/.well-known/openid-configuration"] = json.dumps(
            {"issuer": cls.issuer, "jwks_uri": "http://127.0.0.1:%d/certs" % port}).encode()
        documents["/certs"] = json.dumps(cls.keys.jwks).encode()
        cls.missing_issuer = "http://127.0.0.1:%d/realms/none" % port
        cls.huge_issuer = "http://127.0.0.1:%d/realms/huge" % port
        documents["/realms/huge/.well-known/openid-configuration"] = json.dumps(
            {"issuer": cls.huge_issuer, "pad": "x" * (1024 * 1024)}).encode()
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_discover(self):
        good = self.keys.sign(claims(iss=self.issuer), alg="ES256", kid="ec-1")
        cases = [
            # (name, issuer, token, exit code, stdout substring, stderr substring)
            ("valid", self.issuer, good, 0, '"iss": "%s"' % self.issuer, None),
            ("wrong audience after discovery", self.issuer,
             self.keys.sign(claims(iss=self.issuer, aud="x")), 1, None,
             "rejected: wrong_audience"),
            ("discovery document missing", self.missing_issuer, good, 1, None,
             self.missing_issuer + "/.well-known/openid-configuration: HTTP status 404"),
            ("discovery document above 1 MiB", self.huge_issuer, good, 1, None,
             self.huge_issuer + "/.well-known/openid-configuration: response above 1 MiB"),
        ]
        for name, issuer, token, code, out_has, err_has in cases:
            with self.subTest(name):
                rc, out, err = run("--issuer", issuer, "--audience", AUD, "--discover", token)
                self.assertEqual(rc, code, err)
                if out_has is not None:
                    self.assertIn(out_has, out)
                if err_has is not None:
                    self.assertIn(err_has, err)

    def test_unreachable_issuer_names_url(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        issuer = "http://127.0.0.1:%d" % port
        rc, _, err = run("--issuer", issuer, "--audience", AUD, "--discover",
                         self.keys.sign(claims(iss=issuer)))
        self.assertEqual(rc, 1)
        self.assertIn(issuer + "/.well-known/openid-configuration", err)
        self.assertIn("connect", err)


class DiscoverTlsTest(unittest.TestCase):
    """--discover over HTTPS: the issuer's certificate (DNS:localhost, self-signed) is made
    trusted through SSL_CERT_FILE, which OpenSSL's default verify paths honour."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl CLI not found")
        cls.tmp = tempfile.mkdtemp(prefix="obsgate-vt-")
        cls.keys = Keys(cls.tmp)
        cls.cert = os.path.join(cls.tmp, "server.pem")
        key = os.path.join(cls.tmp, "server.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", cls.cert, "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost", "-days", "1")
        documents = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                body = documents.get(self.path, b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cls.cert, key)
        cls.server.socket = ctx.wrap_socket(cls.server.socket, server_side=True)
        cls.port = cls.server.server_address[1]
        cls.issuer = "https://localhost:%d" % cls.port
        documents["/.well-known/openid-configuration"] = json.dumps(
            {"issuer": cls.issuer, "jwks_uri": cls.issuer + "/jwks"}).encode()
        documents["/jwks"] = json.dumps(cls.keys.jwks).encode()
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_https_discover(self):
        trusted = dict(os.environ, SSL_CERT_FILE=self.cert)
        untrusted = dict(os.environ, SSL_CERT_FILE=os.path.join(self.tmp, "rsa.pem"))
        by_ip = "https://127.0.0.1:%d" % self.port
        cases = [
            # (name, issuer, env, exit code, stderr substring)
            ("trusted certificate", self.issuer, trusted, 0, None),
            ("untrusted certificate", self.issuer, untrusted, 1, "certificate verify failed"),
            ("host name not in the certificate", by_ip, trusted, 1,
             "certificate verify failed"),
        ]
        for name, issuer, env, code, err_has in cases:
            with self.subTest(name):
                token = self.keys.sign(claims(iss=issuer))
                rc, out, err = run("--issuer", issuer, "--audience", AUD, "--discover", token,
                                   env=env)
                self.assertEqual(rc, code, err)
                if code == 0:
                    self.assertIn('"iss": "%s"' % issuer, out)
                else:
                    self.assertIn(issuer + "/.well-known/openid-configuration", err)
                    self.assertIn(err_has, err)


if __name__ == "__main__":
    unittest.main()
