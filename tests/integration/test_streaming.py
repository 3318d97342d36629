"""Large bodies stream through the gateway in both directions with bounded memory.

Each test moves 200 MB through obsgate and then reads the gateway's peak resident set size
(VmHWM in /proc/<pid>/status). A gateway that buffered a body would peak above 200 MB.
"""

import hashlib
import http.client
import json
import ssl
import sys
import threading
import time
import unittest

from harness import HOST, Behaviour, GatewayTestCase, Pattern, Upstream, base_config, free_port
from harness import prom_routes
from test_tls import Pki

SIZE = 200 * 1000 * 1000
MAX_HWM_KIB = 64 * 1024


class StreamingTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        self.base_hwm = self.gw.vm_hwm_kib()

    def check_memory(self, what):
        hwm = self.gw.vm_hwm_kib()
        print("\n[streaming] %s: obsgate VmHWM %.1f MiB (at start %.1f MiB)"
              % (what, hwm / 1024.0, self.base_hwm / 1024.0), file=sys.stderr)
        self.assertLess(hwm, MAX_HWM_KIB, "obsgate peaked at %d KiB while streaming" % hwm)

    def download(self, path):
        c = self.gw.connection(timeout=60)
        try:
            c.request("GET", path)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            h = hashlib.sha256()
            n = 0
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
            return r, n, h.hexdigest()
        finally:
            c.close()

    def test_response_200mb_content_length(self):
        self.up.on("/big", Behaviour.stream(SIZE))
        r, n, digest = self.download("/big")
        self.assertEqual(r.getheader("Content-Length"), str(SIZE))
        self.assertEqual(n, SIZE)
        self.assertEqual(digest, Pattern.sha256(SIZE))
        self.assertEqual(len(self.up.requests("/big")), 1)
        self.check_memory("200 MB response, content-length")

    def test_response_200mb_chunked(self):
        self.up.on("/big", Behaviour.stream(SIZE, chunked=True))
        r, n, digest = self.download("/big")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(n, SIZE)
        self.assertEqual(digest, Pattern.sha256(SIZE))
        self.check_memory("200 MB response, chunked")

    def test_slow_client_backpressure(self):
        self.up.on("/big", Behaviour.stream(SIZE))
        c = self.gw.connection(timeout=60)
        try:
            c.request("GET", "/big")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            h = hashlib.sha256()
            first = r.read(1 << 20)
            h.update(first)
            time.sleep(2)  # the client stops reading: the gateway must stop reading upstream
            sent = self.up.connections()[0].bytes_out
            print("\n[streaming] upstream got %.1f MB ahead of a stalled client" % (sent / 1e6),
                  file=sys.stderr)
            self.assertLess(sent, 32 * 1000 * 1000)
            n = len(first)
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
        finally:
            c.close()
        self.assertEqual(n, SIZE)
        self.assertEqual(h.hexdigest(), Pattern.sha256(SIZE))
        self.check_memory("200 MB response to a client that stalls")

    def test_slow_upstream_backpressure_on_upload(self):
        self.up.on("/api/v1/write", Behaviour.slow_reader(2.0))
        sent = [0]

        def body():
            for c in Pattern.chunks(SIZE):
                sent[0] += len(c)
                yield c

        result = {}

        def run():
            c = self.gw.connection(timeout=60)
            try:
                c.request("POST", "/api/v1/write", body=body(),
                          headers={"Content-Length": str(SIZE)})
                r = c.getresponse()
                result["r"] = (r.status, json.loads(r.read()))
            except Exception as e:  # reported below
                result["e"] = e
            finally:
                c.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        time.sleep(1.5)  # the upstream is not reading yet
        ahead = sent[0]
        print("\n[streaming] client got %.1f MB ahead of a stalled upstream" % (ahead / 1e6),
              file=sys.stderr)
        self.assertLess(ahead, 32 * 1000 * 1000)
        t.join(60)
        self.assertNotIn("e", result, result.get("e"))
        status, echoed = result["r"]
        self.assertEqual(status, 200)
        self.assertEqual(echoed["body_len"], SIZE)
        self.assertEqual(echoed["body_sha256"], Pattern.sha256(SIZE))
        self.check_memory("200 MB upload to an upstream that stalls")

    def upload(self, chunked):
        c = self.gw.connection(timeout=60)
        try:
            headers = {"Content-Type": "application/x-protobuf"}
            if chunked:
                c.request("POST", "/api/v1/write", body=Pattern.chunks(SIZE), headers=headers,
                          encode_chunked=True)
            else:
                headers["Content-Length"] = str(SIZE)
                c.request("POST", "/api/v1/write", body=Pattern.chunks(SIZE), headers=headers)
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def check_upload(self, status, echoed, chunked):
        self.assertEqual(status, 200)
        recs = self.up.requests("/api/v1/write")
        self.assertEqual(len(recs), 1)
        rec = recs[0]
        self.assertEqual(rec.body_len, SIZE)
        self.assertEqual(rec.body_sha256, Pattern.sha256(SIZE))
        self.assertEqual(echoed["body_sha256"], Pattern.sha256(SIZE))
        if chunked:
            self.assertEqual(rec.header("Transfer-Encoding"), "chunked")
            self.assertIsNone(rec.header("Content-Length"))
        else:
            self.assertEqual(rec.header("Content-Length"), str(SIZE))
            self.assertIsNone(rec.header("Transfer-Encoding"))

    def test_request_200mb_content_length(self):
        status, echoed = self.upload(chunked=False)
        self.check_upload(status, echoed, chunked=False)
        self.check_memory("200 MB request body, content-length")

    def test_request_200mb_chunked(self):
        status, echoed = self.upload(chunked=True)
        self.check_upload(status, echoed, chunked=True)
        self.check_memory("200 MB request body, chunked")


class TlsStreamingTest(StreamingTest):
    """The same 200 MB response through a TLS listener from an https upstream."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def make_config(self, up):
        p = self.pki.path
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(p("server.crt"), p("server.key"))
        self.tls_up = Upstream(ssl_context=ctx)
        self.addCleanup(self.tls_up.stop)
        listeners = [{"name": "tls", "address": HOST, "port": free_port(),
                      "tls": {"cert_file": p("server.crt"), "key_file": p("server.key")}}]
        ups = [{"name": "prom", "url": self.tls_up.url, "api": "prometheus",
                "tls": {"ca_file": p("ca.crt"), "server_name": "upstream.test"}}]
        return base_config(0, free_port(), ups, prom_routes(), listeners=listeners)

    def test_response_200mb_tls_both_sides(self):
        self.tls_up.on("/big", Behaviour.stream(SIZE))
        ctx = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
        c = http.client.HTTPSConnection("localhost", self.gw.port, timeout=60, context=ctx)
        try:
            c.request("GET", "/big")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            h = hashlib.sha256()
            n = 0
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
        finally:
            c.close()
        self.assertEqual(n, SIZE)
        self.assertEqual(h.hexdigest(), Pattern.sha256(SIZE))
        self.check_memory("200 MB response, TLS listener and https upstream")


# The plain-text tests are not repeated over TLS.
for _name in [n for n in vars(StreamingTest) if n.startswith("test_")]:
    setattr(TlsStreamingTest, _name, None)


if __name__ == "__main__":
    unittest.main()
