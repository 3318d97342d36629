"""Self-tests of the options every double shares: HTTPS (and client certificates), --base-path;
and the OpenBao double's exposition overrides."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import websocket as ws
from launch import HOST, LokiDouble, OpenBaoDouble
from push_encoder import push_request, snappy_compress

PKI = None


class Pki:
    """A throw-away CA, a server certificate for bao.test/127.0.0.1 and a client certificate."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="obsgate-doubles-pki-")
        self.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                 "-subj", "/CN=doubles-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.leaf("server", "bao.test", "subjectAltName=DNS:bao.test,IP:127.0.0.1\n"
                  "extendedKeyUsage=serverAuth\n")
        self.leaf("client", "client-alice", "extendedKeyUsage=clientAuth\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=30,
                       cwd=self.dir)

    def leaf(self, name, cn, ext):
        with open(self.path(name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        self.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
        self.run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile",
                 name + ".ext")

    def client_ctx(self, cert=True):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path("client.crt"), self.path("client.key"))
        return ctx


def setUpModule():
    global PKI
    if shutil.which("openssl") is None:
        raise unittest.SkipTest("no openssl CLI to make certificates")
    PKI = Pki()


def tearDownModule():
    if PKI is not None:
        shutil.rmtree(PKI.dir, ignore_errors=True)


def https_get(port, path, ctx, sni="bao.test", headers=None):
    """GET over TLS to 127.0.0.1:port, presenting (and checking) the name sni."""
    sock = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10),
                           server_hostname=sni)
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    c.sock = sock
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class TlsTest(unittest.TestCase):
    def test_https_with_sni(self):
        tls = {"cert": PKI.path("server.crt"), "key": PKI.path("server.key")}
        with OpenBaoDouble(name="bao-tls", tls=tls) as d:
            self.assertTrue(d.url.startswith("https://"))
            status, body = https_get(d.port, "/v1/sys/health", PKI.client_ctx(cert=False))
            self.assertEqual(status, 200)
            self.assertFalse(json.loads(body)["sealed"])
            rec = d.requests("/v1/sys/health")[0]
            self.assertEqual(rec["tls"]["sni"], "bao.test")
            self.assertTrue(rec["tls"]["version"].startswith("TLS"))
            self.assertIsNone(rec["tls"]["peer_cn"])
            # A plain-HTTP client fails the handshake; the double notes it and goes on.
            c = http.client.HTTPConnection(HOST, d.port, timeout=5)
            with self.assertRaises((http.client.HTTPException, OSError)):
                c.request("GET", "/v1/sys/health")
                c.getresponse()
            c.close()
            deadline = time.monotonic() + 5
            while not d.tls_errors() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(d.tls_errors())
            self.assertEqual(len(d.requests("/v1/sys/health")), 1)

    def test_client_certificates(self):
        tls = {"cert": PKI.path("server.crt"), "key": PKI.path("server.key"),
               "client_ca": PKI.path("ca.crt"),
               "control_cert": (PKI.path("client.crt"), PKI.path("client.key"))}
        with OpenBaoDouble(name="bao-mtls", tls=tls, token="t") as d:
            status, body = https_get(d.port, "/v1/sys/metrics?format=prometheus",
                                     PKI.client_ctx(), headers={"X-Vault-Token": "t"})
            self.assertEqual(status, 200)
            self.assertEqual(d.requests()[0]["tls"]["peer_cn"], "client-alice")
            with self.assertRaises((ssl.SSLError, OSError)):
                https_get(d.port, "/v1/sys/health", PKI.client_ctx(cert=False))
            self.assertEqual(len(d.requests()), 1)

    def test_tail_over_tls(self):
        tls = {"cert": PKI.path("server.crt"), "key": PKI.path("server.key")}
        seed = [{"labels": {"app": "t"}, "entries": [["now-1m", "before"]]}]
        with LokiDouble(seed=seed, tls=tls) as d:
            target = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": '{app="t"}'})
            conn, status, _ = ws.client_connect(HOST, d.port, target,
                                                ssl_context=PKI.client_ctx(cert=False),
                                                server_hostname="bao.test")
            self.assertEqual(status, 101)
            try:
                first = json.loads(conn.recv(timeout=5)[1])
                self.assertEqual(first["streams"][0]["values"][0][1], "before")
                ts = time.time_ns()
                body = snappy_compress(push_request([('{app="t"}', [(ts, "after", [])])]))
                status, _, _ = d.request("POST", "/loki/api/v1/push", body,
                                         {"Content-Type": "application/x-protobuf"})
                self.assertEqual(status, 204)
                msg = conn.recv(timeout=5)
                self.assertIsNotNone(msg)
                self.assertEqual(json.loads(msg[1])["streams"][0]["values"], [[str(ts), "after"]])
                conn.send_close(1000)
            finally:
                conn.close()


class BasePathTest(unittest.TestCase):
    def test_base_path(self):
        with OpenBaoDouble(base_path="/bao/") as d:
            self.assertTrue(d.url.endswith("/bao"))
            cases = [("/bao/v1/sys/health", 200), ("/v1/sys/health", 404),
                     ("/baox/v1/sys/health", 404), ("/bao/v1/sys/metrics", 403)]
            for path, code in cases:
                with self.subTest(path=path):
                    self.assertEqual(d.request("GET", path)[0], code)
            self.assertEqual([r["path"] for r in d.requests()], [p for p, _ in cases])
        with LokiDouble(base_path="/loki-a") as d:
            self.assertEqual(d.request("GET", "/loki-a/ready")[2], b"ready\n")
            self.assertEqual(d.request("GET", "/ready")[0], 404)


class MetricsOverrideTest(unittest.TestCase):
    def test_append_and_replace(self):
        with OpenBaoDouble(name="n1", token="t") as d:
            def scrape():
                status, _, body = d.request("GET", "/v1/sys/metrics?format=prometheus",
                                            headers={"X-Vault-Token": "t"})
                self.assertEqual(status, 200)
                return body.decode()

            extra = '# TYPE custom_metric gauge\ncustom_metric{node="inner"} 7\n'
            d.set_metrics(append=extra)
            text = scrape()
            self.assertTrue(text.endswith(extra))
            self.assertIn("vault_core_unsealed 1", text)
            d.set_metrics(replace="garbage{ 1\n")
            self.assertEqual(scrape(), "garbage{ 1\n")
            d.set_metrics()
            self.assertNotIn("custom_metric", scrape())
            status, _, _ = d.request("POST", "/__test/metrics", {"append": 5})
            self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
