"""Upstream failures and client disconnects: honest error replies, no hangs, no leaks."""

import socket
import struct
import time
import unittest

from harness import Behaviour, Blackhole, GatewayTestCase, RawConn, base_config, free_port
from harness import prom_routes, wait_for

UPSTREAM_RESPONSE_TIMEOUT = 1.5
UPSTREAM_CONNECT_TIMEOUT = 1.0


def get(target):
    return ("GET %s HTTP/1.1\r\nHost: gw.test\r\n\r\n" % target).encode()


class FailuresTest(GatewayTestCase):
    def make_config(self, up):
        self.dead_port = free_port()  # nothing listens here
        self.blackhole = Blackhole()
        self.addCleanup(self.blackhole.close)
        ups = [{"name": "prom", "url": up.url, "api": "prometheus"},
               {"name": "down", "url": "http://127.0.0.1:%d" % self.dead_port,
                "api": "prometheus"},
               {"name": "blackhole", "url": "http://127.0.0.1:%d" % self.blackhole.port,
                "api": "loki"}]
        for flavor in ("generic", "loki", "openbao"):
            ups.append({"name": "down-" + flavor, "url": "http://127.0.0.1:%d" % self.dead_port,
                        "api": flavor})
        routes = prom_routes() + [
            {"name": "down", "methods": ["GET", "POST"], "path": "/down", "upstream": "down",
             "auth": "unsafe_none"},
            {"name": "garbage", "methods": ["GET"], "path": "/garbage", "upstream": "prom",
             "auth": "unsafe_none"},
            {"name": "blackhole", "methods": ["GET"], "path": "/loki/api/v1/query",
             "upstream": "blackhole", "auth": "unsafe_none", "unsafe_any_query_params": True}]
        for flavor in ("generic", "loki", "openbao"):
            routes.append({"name": "down-" + flavor, "methods": ["GET"],
                           "path": "/down-" + flavor, "upstream": "down-" + flavor,
                           "auth": "unsafe_none"})
        return base_config(free_port(), free_port(), ups, routes, timeouts={
            "upstream_response": "%dms" % (UPSTREAM_RESPONSE_TIMEOUT * 1000),
            "upstream_connect": "%dms" % (UPSTREAM_CONNECT_TIMEOUT * 1000)})

    def still_serving(self):
        status, _, _ = self.gw.request("GET", "/api/v1/query?query=up")
        self.assertEqual(status, 200)

    def test_upstream_down_502_prometheus_json(self):
        c = RawConn(self.gw.port)
        try:
            c.send(b"GET /down HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: it-down-1\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 502)
            self.assertEqual(r.header("Content-Type"), "application/json")
            j = r.json()
            self.assertEqual(j["status"], "error")
            self.assertEqual(j["errorType"], "unavailable")
            self.assertEqual(j["reason"], "upstream_error{connect}")
            self.assertEqual(r.header("X-Request-Id"), "it-down-1")
            # A request without a body keeps the client connection usable.
            c.send(get("/api/v1/query?query=up"))
            self.assertEqual(c.read_response().status, 200)
        finally:
            c.close()
        log = wait_for(lambda: [l for l in self.gw.stderr().splitlines()
                                if "upstream 'down' connect" in l and "it-down-1" in l],
                       what="an upstream error log line")
        self.assertIn('"level":"warn"', log[0])
        self.assertEqual(self.gw.metric("obsgate_upstream_errors_total", upstream="down",
                                        kind="connect"), 1)
        e = self.gw.wait_access_log(lambda e: e.get("request_id") == "it-down-1")[0]
        self.assertEqual(e["status"], 502)
        self.assertEqual(e["detail"], "upstream_error{connect}")

    def test_502_body_follows_the_upstream_api_flavor(self):
        cases = [
            ("/down", "application/json",
             b'{"status":"error","errorType":"unavailable","error":"upstream unavailable",'
             b'"reason":"upstream_error{connect}"}'),
            ("/down-generic", "application/json",
             b'{"error":"upstream unavailable","reason":"upstream_error{connect}"}'),
            ("/down-loki", "text/plain; charset=utf-8",
             b"upstream unavailable (upstream_error{connect})\n"),
            ("/down-openbao", "application/json", b'{"errors":["upstream unavailable"]}'),
        ]
        for path, ctype, body in cases:
            with self.subTest(path):
                status, headers, got = self.gw.request("GET", path)
                self.assertEqual(status, 502)
                self.assertEqual(headers["content-type"], ctype)
                self.assertEqual(got, body)

    def test_upstream_connect_timeout_504_loki_format(self):
        t0 = time.monotonic()
        status, headers, body = self.gw.request("GET", "/loki/api/v1/query?query=x")
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 504)
        # Loki's error format: text/plain, the message and a newline.
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.assertTrue(body.startswith(b"upstream timed out"), body)
        self.assertTrue(body.endswith(b"\n"))
        self.assertGreaterEqual(elapsed, UPSTREAM_CONNECT_TIMEOUT * 0.9)
        self.assertLess(elapsed, UPSTREAM_CONNECT_TIMEOUT + 3)
        self.assertEqual(self.gw.metric("obsgate_upstream_errors_total", upstream="blackhole",
                                        kind="connect_timeout"), 1)

    def test_upstream_stalls_mid_body_client_cut_off(self):
        self.up.on("/big", Behaviour.stream(4 * 256 * 1024, rate_sleep=UPSTREAM_RESPONSE_TIMEOUT
                                            * 3))
        c = RawConn(self.gw.port, timeout=15)
        try:
            t0 = time.monotonic()
            c.send(b"GET /big HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: it-stall\r\n\r\n")
            r = c.read_response()
            elapsed = time.monotonic() - t0
        finally:
            c.close()
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete)
        self.assertGreater(len(r.body), 0)
        self.assertLess(len(r.body), 2 * 256 * 1024)
        self.assertLess(elapsed, UPSTREAM_RESPONSE_TIMEOUT * 3)
        e = self.gw.wait_access_log(lambda e: e.get("request_id") == "it-stall")[0]
        self.assertEqual(e["detail"], "upstream_error{response_timeout}")
        self.still_serving()

    # Bug: relay_response() reads the upstream body with http::async_read into a 32 KiB
    # buffer_body, which completes only when the 32 KiB buffer is full or the message ends, and
    # the upstream_response deadline is set once per such read. So (1) bytes that arrived are
    # held back until 32 KiB accumulate, and (2) an upstream that keeps sending small pieces
    # well within the "body inactivity" timeout is cut off after upstream_response in total.
    # Upstream: Content-Length 12000, 1000 bytes every 0.4 s (timeout 1.5 s). Expected: a
    # complete 200. Actual: no response at all (the head waits for the first 32 KiB too); the
    # connection is closed after about 1.5 s with upstream_error{response_timeout}.
    def test_upstream_trickling_body_within_inactivity_timeout(self):
        self.up.on("/big", Behaviour.stream(12000, piece=1000, rate_sleep=0.4))
        c = RawConn(self.gw.port, timeout=15)
        try:
            c.send(b"GET /big HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            r = c.read_response()
        finally:
            c.close()
        self.assertIsNotNone(r, "no response at all")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), 12000)
        self.assertTrue(r.complete)

    def test_client_aborts_upload_upstream_connection_closed(self):
        c = RawConn(self.gw.port)
        c.send(b"POST /api/v1/write HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000000\r\n"
               b"\r\n" + b"x" * 100000)
        wait_for(lambda: self.up.requests(complete_only=False), what="the upload upstream")
        c.close()
        wait_for(lambda: all(x.closed for x in self.up.connections()), timeout=5,
                 what="the upstream connection to be closed")
        rec = self.up.requests(complete_only=False)[0]
        self.assertFalse(rec.complete)
        self.assertLessEqual(rec.body_len, 100000)
        self.still_serving()

    def test_upstream_slow_504_timeout(self):
        self.up.on("/slow", Behaviour.sleep(UPSTREAM_RESPONSE_TIMEOUT * 3))
        t0 = time.monotonic()
        status, headers, body = self.gw.request("GET", "/slow")
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 504)
        self.assertIn(b'"errorType":"timeout"', body)
        self.assertIn(b'"status":"error"', body)
        self.assertGreaterEqual(elapsed, UPSTREAM_RESPONSE_TIMEOUT * 0.9)
        self.assertLess(elapsed, UPSTREAM_RESPONSE_TIMEOUT * 3)
        self.assertEqual(len(self.up.requests("/slow")), 1)  # it did reach the upstream
        # The timed-out request is not replayed.
        time.sleep(0.2)
        self.assertEqual(len(self.up.requests("/slow", complete_only=False)), 1)
        self.assertEqual(self.gw.metric("obsgate_upstream_errors_total", upstream="prom",
                                        kind="response_timeout"), 1)
        self.still_serving()

    def test_upstream_malformed_response_502(self):
        cases = [
            ("garbage_status", b"HTTP/1.1 ABC nonsense\r\n\r\n"),
            ("not_http", b"SSH-2.0-OpenSSH_9.0\r\n"),
            ("cl_and_te", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ("two_cl", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n"
                       b"hello!!"),
            ("huge_head", b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) +
                          b"\r\nContent-Length: 0\r\n\r\n"),
            ("closed_before_status", b""),
        ]
        for name, data in cases:
            with self.subTest(name):
                self.up.on("/garbage", Behaviour.raw(data))
                c = RawConn(self.gw.port)
                try:
                    c.send(get("/garbage"))
                    r = c.read_response()
                finally:
                    c.close()
                self.assertIsNotNone(r)
                self.assertEqual(r.status, 502, r.body)
                self.assertIn(b'"errorType":"unavailable"', r.body)
        self.still_serving()

    # Bug: relay_response() sends the response head together with the first body chunk, so
    # when the upstream's body fails before any of it was relayed (here: an invalid first chunk
    # size; likewise a Content-Length body cut off at 0 bytes) the client gets no response at
    # all: the connection just closes. The comment there says "the status line is already on
    # its way", but it is not. Expected: 502 with the Prometheus error body (nothing had been
    # sent), or at least the 200 head with a visibly truncated body. Actual: no bytes at all.
    def test_upstream_body_fails_before_first_byte(self):
        for name, data in [
                ("bad_first_chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    b"zz\r\n"),
                ("cut_at_zero", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")]:
            with self.subTest(name):
                self.up.on("/garbage", Behaviour.raw(data))
                c = RawConn(self.gw.port)
                try:
                    c.send(get("/garbage"))
                    r = c.read_response()
                finally:
                    c.close()
                self.assertIsNotNone(r, "no response at all")
                if r.status == 200:
                    self.assertFalse(r.complete)
                else:
                    self.assertEqual(r.status, 502)

    def check_truncated(self, chunked):
        self.up.on("/die", Behaviour.die(after=100000, declared=1000000, chunked=chunked))
        c = RawConn(self.gw.port, timeout=10)
        try:
            c.send(b"GET /die HTTP/1.1\r\nHost: gw.test\r\nX-Request-Id: it-die\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertFalse(r.complete, "a cut upstream body was delivered as complete")
            self.assertLessEqual(len(r.body), 100000)
            if not chunked:
                self.assertEqual(r.header("Content-Length"), "1000000")
            self.assertTrue(c.closed_by_peer(5), "client connection left open")
        finally:
            c.close()
        e = self.gw.wait_access_log(lambda e: e.get("request_id") == "it-die")[0]
        self.assertEqual(e["detail"], "upstream_error{reset}")
        self.assertEqual(self.gw.metric("obsgate_upstream_errors_total", upstream="prom",
                                        kind="reset"), 1)
        self.still_serving()

    def test_upstream_dies_mid_response_content_length(self):
        self.check_truncated(chunked=False)

    def test_upstream_dies_mid_response_chunked(self):
        self.check_truncated(chunked=True)

    def test_client_disconnect_mid_stream_closes_upstream(self):
        self.up.on("/big", Behaviour.stream(2 * 1000 * 1000 * 1000))
        c = RawConn(self.gw.port, timeout=10)
        c.send(b"GET /big HTTP/1.1\r\nHost: gw.test\r\n\r\n")
        got = 0
        while got < 4 * 1024 * 1024:
            data = c.sock.recv(1 << 20)
            self.assertTrue(data, "stream ended early")
            got += len(data)
        conns = self.up.connections()
        self.assertEqual(len(conns), 1)
        self.assertIsNone(conns[0].send_error)
        # Abort: close with unread data (and linger 0) so the gateway sees a reset.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        closed_at = time.monotonic()
        c.close()
        info = wait_for(lambda: conns[0].send_error_time and conns[0], timeout=5,
                        what="the upstream to see its connection closed")
        self.assertIn(info.send_error, ("BrokenPipeError", "ConnectionResetError"))
        print("\n[failures] upstream saw %s %.3fs after the client went away"
              % (info.send_error, info.send_error_time - closed_at))
        self.still_serving()
        wait_for(lambda: self.gw.metric("obsgate_open_connections", listener="public") == 0,
                 what="open connections back to 0")


if __name__ == "__main__":
    unittest.main()
