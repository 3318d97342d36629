"""TLS on both sides: HTTPS listeners with optional/required client certificates, and https://
upstreams verified against a configured CA with SNI and host-name checks.

Certificates are generated with the openssl CLI into a temp dir when the module loads.
"""

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import HOST, GatewayTestCase, Upstream, base_config, free_port, prom_routes

PKI = None  # set up once per module
REQUEST_READ = 2.0


class Pki:
    """A test CA, a second unrelated CA, server and client certificates (EC P-256)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="obsgate-it-pki-")
        self.ca("ca", "obsgate-it-ca")
        self.ca("other-ca", "obsgate-it-other-ca")
        self.leaf("server", "ca", "localhost",
                  "subjectAltName=DNS:localhost,DNS:upstream.test,IP:127.0.0.1\n"
                  "extendedKeyUsage=serverAuth\n")
        self.leaf("client", "ca", "client-alice", "extendedKeyUsage=clientAuth\n")
        self.leaf("rogue-client", "other-ca", "client-mallory", "extendedKeyUsage=clientAuth\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30,
                       cwd=self.dir)

    def ca(self, name, cn):
        self.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                 "-subj", "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def leaf(self, name, ca, cn, ext):
        with open(self.path(name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        self.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        self.run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile",
                 name + ".ext")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global PKI
    PKI = Pki()


def tearDownModule():
    if PKI is not None:
        PKI.cleanup()


class TlsTest(GatewayTestCase):
    def make_config(self, up):
        p = PKI.path
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(p("server.crt"), p("server.key"))
        self.tls_up = Upstream(ssl_context=ctx)
        self.addCleanup(self.tls_up.stop)
        mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        mctx.load_cert_chain(p("server.crt"), p("server.key"))
        mctx.load_verify_locations(p("ca.crt"))
        mctx.verify_mode = ssl.CERT_REQUIRED
        self.mtls_up = Upstream(ssl_context=mctx)
        self.addCleanup(self.mtls_up.stop)
        tls = {"cert_file": p("server.crt"), "key_file": p("server.key")}
        listeners = [
            {"name": "public", "address": HOST, "port": free_port()},
            {"name": "tls", "address": HOST, "port": free_port(), "tls": dict(tls)},
            {"name": "mtls", "address": HOST, "port": free_port(),
             "tls": dict(tls, client_ca_file=p("ca.crt"), client_cert="require")},
            {"name": "mtls-optional", "address": HOST, "port": free_port(),
             "tls": dict(tls, client_ca_file=p("ca.crt"), client_cert="optional")},
        ]
        url = self.tls_up.url
        ups = [
            {"name": "prom", "url": up.url, "api": "prometheus"},
            {"name": "secure", "url": url, "api": "prometheus",
             "tls": {"ca_file": p("ca.crt"), "server_name": "upstream.test"}},
            {"name": "by-ip", "url": url, "api": "prometheus", "tls": {"ca_file": p("ca.crt")}},
            {"name": "wrong-ca", "url": url, "api": "prometheus",
             "tls": {"ca_file": p("other-ca.crt"), "server_name": "upstream.test"}},
            {"name": "wrong-name", "url": url, "api": "prometheus",
             "tls": {"ca_file": p("ca.crt"), "server_name": "wrong.test"}},
            {"name": "mtls-up", "url": self.mtls_up.url, "api": "prometheus",
             "tls": {"ca_file": p("ca.crt"), "server_name": "upstream.test",
                     "cert_file": p("client.crt"), "key_file": p("client.key")}},
            {"name": "mtls-up-nocert", "url": self.mtls_up.url, "api": "prometheus",
             "tls": {"ca_file": p("ca.crt"), "server_name": "upstream.test"}},
        ]
        routes = prom_routes()
        for name in ("secure", "by-ip", "wrong-ca", "wrong-name", "mtls-up", "mtls-up-nocert"):
            routes.append({"name": name, "methods": ["GET"], "path": "/" + name,
                           "upstream": name, "auth": "unsafe_none"})
        return base_config(0, free_port(), ups, routes, listeners=listeners,
                           timeouts={"request_read": "%dms" % (REQUEST_READ * 1000)})

    def port(self, name):
        for l in self.gw.config["server"]["listeners"]:
            if l["name"] == name:
                return l["port"]
        raise KeyError(name)

    def client_ctx(self, cert=None):
        ctx = ssl.create_default_context(cafile=PKI.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(PKI.path(cert + ".crt"), PKI.path(cert + ".key"))
        return ctx

    def https_get(self, listener, path, cert=None):
        c = http.client.HTTPSConnection("localhost", self.port(listener), timeout=10,
                                        context=self.client_ctx(cert))
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def assert_refused(self, listener, cert):
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.HTTPException,
                                OSError)):
            self.https_get(listener, "/api/v1/query?query=up", cert)

    # -- listeners

    def test_https_listener_serves(self):
        status, _ = self.https_get("tls", "/api/v1/query?query=up")
        self.assertEqual(status, 200)
        recs = self.up.requests("/api/v1/query")
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0].header("X-Forwarded-Proto"), "https")
        e = self.gw.wait_access_log(lambda e: e.get("listener") == "tls")[0]
        self.assertEqual(e["status"], 200)

    def test_plain_http_on_tls_port_gets_no_response(self):
        s = socket.create_connection((HOST, self.port("tls")), timeout=5)
        try:
            s.sendall(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
            except (ConnectionResetError, socket.timeout):
                pass
            self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        finally:
            s.close()
        self.assertEqual(self.up.requests(complete_only=False), [])

    def test_stalled_handshake_closed(self):
        s = socket.create_connection((HOST, self.port("tls")), timeout=10)
        try:
            start = time.monotonic()
            s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            elapsed = time.monotonic() - start
        finally:
            s.close()
        self.assertEqual(data, b"")
        self.assertGreaterEqual(elapsed, REQUEST_READ * 0.9)
        self.assertLess(elapsed, REQUEST_READ + 3)
        self.assertEqual(self.gw.request("GET", "/api/v1/query?query=up")[0], 200)

    def test_client_cert_required(self):
        with self.subTest("no certificate"):
            self.assert_refused("mtls", None)
        with self.subTest("certificate from another CA"):
            self.assert_refused("mtls", "rogue-client")
        self.assertEqual(self.up.requests(complete_only=False), [])
        with self.subTest("certificate from the CA"):
            status, _ = self.https_get("mtls", "/api/v1/query?query=up", "client")
            self.assertEqual(status, 200)
        self.assertEqual(len(self.up.requests()), 1)

    def test_client_cert_optional(self):
        self.assertEqual(self.https_get("mtls-optional", "/api/v1/query?query=a")[0], 200)
        self.assertEqual(self.https_get("mtls-optional", "/api/v1/query?query=b",
                                        "client")[0], 200)
        self.assert_refused("mtls-optional", "rogue-client")  # presented, but untrusted
        self.assertEqual(len(self.up.requests()), 2)

    # -- upstreams

    def test_https_upstream_verified_with_sni(self):
        status, headers, body = self.gw.request("GET", "/secure")
        self.assertEqual(status, 200, body)
        recs = self.tls_up.requests("/secure")
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0].header("Host"), "127.0.0.1:%d" % self.tls_up.port)
        self.assertIn("upstream.test", self.tls_up.sni_seen)

    def test_https_upstream_by_ip_checks_ip_san(self):
        status, _, body = self.gw.request("GET", "/by-ip")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.tls_up.requests("/by-ip")), 1)
        self.assertNotIn("127.0.0.1", self.tls_up.sni_seen)  # SNI carries host names only

    def test_https_upstream_wrong_ca_502(self):
        status, _, body = self.gw.request("GET", "/wrong-ca")
        self.assertEqual(status, 502)
        self.assertIn(b'"errorType":"unavailable"', body)
        self.assertIn(b"upstream_error{tls}", body)
        self.assertEqual(self.tls_up.requests(complete_only=False), [])
        self.assertEqual(self.gw.metric("obsgate_upstream_errors_total", upstream="wrong-ca",
                                        kind="tls"), 1)

    def test_https_upstream_wrong_name_502(self):
        status, _, body = self.gw.request("GET", "/wrong-name")
        self.assertEqual(status, 502)
        self.assertIn(b"upstream_error{tls}", body)
        self.assertEqual(self.tls_up.requests(complete_only=False), [])
        self.assertIn("wrong.test", self.tls_up.sni_seen)

    def test_client_certificate_towards_upstream(self):
        status, _, body = self.gw.request("GET", "/mtls-up")
        self.assertEqual(status, 200, body)
        self.assertEqual([c.peer_cn for c in self.mtls_up.connections()], ["client-alice"])
        self.assertEqual(len(self.mtls_up.requests("/mtls-up")), 1)
        status, _, body = self.gw.request("GET", "/mtls-up-nocert")
        self.assertEqual(status, 502)
        self.assertEqual(len(self.mtls_up.requests()), 1)

    def test_https_upstream_connection_reused(self):
        for i in range(5):
            self.assertEqual(self.gw.request("GET", "/secure")[0], 200)
        self.assertEqual(len(self.tls_up.requests("/secure")), 5)
        self.assertEqual(len(self.tls_up.connections()), 1)


if __name__ == "__main__":
    unittest.main()
