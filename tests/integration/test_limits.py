"""Request limits and framing: 431/413/400 answers, and nothing ambiguous reaches the upstream."""

import threading
import time
import unittest

from harness import GatewayTestCase, RawConn, base_config, free_port, prom_routes
from harness import wait_for

MAX_HEADER_BYTES = 8 * 1024
MAX_HEADER_COUNT = 20
MAX_BODY = 1024 * 1024
REQUEST_READ = 2.0
IDLE = 2.0


def head(method, target, headers, version="HTTP/1.1", host=True):
    lines = ["%s %s %s" % (method, target, version)]
    if host:
        lines.append("Host: gw.test")
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(data, size=64 * 1024):
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out) + b"0\r\n\r\n"


class LimitsTest(GatewayTestCase):
    def make_config(self, up):
        ups = [{"name": "prom", "url": up.url, "api": "prometheus"}]
        return base_config(free_port(), free_port(), ups, prom_routes(),
                           limits={"max_header_bytes": MAX_HEADER_BYTES,
                                   "max_header_count": MAX_HEADER_COUNT,
                                   "max_body_bytes": MAX_BODY},
                           timeouts={"request_read": "%dms" % (REQUEST_READ * 1000),
                                     "idle": "%dms" % (IDLE * 1000)})

    def assert_upstream_saw_nothing(self):
        self.assertEqual(self.up.requests(complete_only=False), [])
        self.assertEqual(sum(c.bytes_in for c in self.up.connections()), 0)

    def exchange(self, data):
        """Sends data, reads one response; the connection must then be closed by obsgate."""
        c = RawConn(self.gw.port)
        try:
            c.send_quiet(data)
            r = c.read_response()
            self.assertIsNotNone(r, "no response to %r" % data[:200])
            return r, c
        finally:
            c.close()

    # -- header limits

    def test_header_block_limit(self):
        cases = [("just_under", MAX_HEADER_BYTES - 200, 200),
                 ("over", MAX_HEADER_BYTES + 100, 431),
                 ("far_over", 4 * MAX_HEADER_BYTES, 431)]
        for name, total, want in cases:
            with self.subTest(name):
                base = head("GET", "/api/v1/query", [("X-Pad", "")])
                pad = "a" * (total - len(base))
                data = head("GET", "/api/v1/query", [("X-Pad", pad)])
                self.assertEqual(len(data), total)
                r, _ = self.exchange(data)
                self.assertEqual(r.status, want)
                if want == 431:
                    self.assertIn("header_too_large", r.body.decode())
        self.assertEqual(len(self.up.requests()), 1)  # only the one under the limit

    def test_header_count_limit(self):
        cases = [("at_limit", MAX_HEADER_COUNT, 200), ("over", MAX_HEADER_COUNT + 1, 431),
                 ("far_over", 5 * MAX_HEADER_COUNT, 431)]
        for name, count, want in cases:
            with self.subTest(name):
                headers = [("X-H%d" % i, "v") for i in range(count - 1)]  # + Host
                r, _ = self.exchange(head("GET", "/api/v1/query", headers))
                self.assertEqual(r.status, want)
                if want == 431:
                    self.assertIn("too_many_headers", r.body.decode())
        self.assertEqual(len(self.up.requests()), 1)

    # -- body limits

    def test_body_limit_content_length(self):
        r, _ = self.exchange(head("POST", "/api/v1/write", [("Content-Length", MAX_BODY + 1)]))
        self.assertEqual(r.status, 413)
        self.assertIn("body_too_large", r.body.decode())
        self.assert_upstream_saw_nothing()
        # Exactly at the limit passes.
        body = b"x" * MAX_BODY
        status, _, _ = self.gw.request("POST", "/api/v1/write", body=body)
        self.assertEqual(status, 200)
        self.assertEqual(self.up.requests()[0].body_len, MAX_BODY)

    def test_body_limit_chunked(self):
        c = RawConn(self.gw.port)
        try:
            c.send(head("POST", "/api/v1/write", [("Transfer-Encoding", "chunked")]))
            sender = threading.Thread(target=c.send_quiet,
                                      args=(chunked(b"y" * (MAX_BODY + 100000)),), daemon=True)
            sender.start()
            r = c.read_response()
            sender.join(10)
        finally:
            c.close()
        self.assertIsNotNone(r)
        self.assertEqual(r.status, 413)
        self.assertIn("body_too_large", r.body.decode())
        # Streaming means the start of the body may have gone out, but the upstream never got
        # a complete request.
        time.sleep(0.2)
        self.assertEqual(self.up.requests(), [])
        # Exactly at the limit passes.
        c = RawConn(self.gw.port)
        try:
            c.send(head("POST", "/api/v1/write", [("Transfer-Encoding", "chunked")]) +
                   chunked(b"z" * MAX_BODY))
            self.assertEqual(c.read_response().status, 200)
        finally:
            c.close()
        self.assertEqual(self.up.requests()[0].body_len, MAX_BODY)

    # -- framing and smuggling

    SMUGGLING = [
        ("cl_and_te", head("POST", "/api/v1/write", [
            ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"),
        ("te_and_cl", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked"), ("Content-Length", "5")]) + b"0\r\n\r\n"),
        ("two_cl_equal", head("POST", "/api/v1/write", [
            ("Content-Length", "5"), ("Content-Length", "5")]) + b"hello"),
        ("two_cl_different", head("POST", "/api/v1/write", [
            ("Content-Length", "5"), ("Content-Length", "6")]) + b"hello!"),
        ("cl_negative", head("POST", "/api/v1/write", [("Content-Length", "-5")])),
        ("cl_plus", head("POST", "/api/v1/write", [("Content-Length", "+5")]) + b"hello"),
        ("obs_fold", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\nX-A: one\r\n two\r\n\r\n"),
        ("obs_fold_te", b"POST /api/v1/write HTTP/1.1\r\nHost: gw.test\r\nX-A: x\r\n"
                        b"\tTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello"),
        ("bare_lf", b"GET /api/v1/query HTTP/1.1\nHost: gw.test\n\n"),
        ("bare_lf_one_line", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\nX-A: 1\r\n\r\n"),
        ("bare_cr", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\rX-A: 1\r\n\r\n"),
        ("te_gzip_chunked", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "gzip, chunked")]) + b"0\r\n\r\n"),
        ("te_chunked_chunked", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked, chunked")]) + b"0\r\n\r\n"),
        ("te_twice", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"),
        ("te_identity", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "identity")]) + b"hello"),
        ("te_xchunked", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "xchunked")]) + b"0\r\n\r\n"),
        ("space_before_colon", head("POST", "/api/v1/write", [
            ("Content-Length ", "5")]) + b"hello"),
        ("missing_host", head("GET", "/api/v1/query", [], host=False)),
        ("two_hosts", head("GET", "/api/v1/query", [("Host", "other.test")])),
        ("nul_in_header", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\nX-A: a\x00b\r\n\r\n"),
        ("bad_version", b"GET /api/v1/query HTTP/1.7\r\nHost: gw.test\r\n\r\n"),
        ("lower_case_version", b"GET /api/v1/query http/1.1\r\nHost: gw.test\r\n\r\n"),
        ("http09", b"GET /api/v1/query\r\n\r\n"),
        ("http2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("double_space_request_line", b"GET  /api/v1/query HTTP/1.1\r\nHost: gw.test\r\n\r\n"),
        ("space_in_name", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\nX A: b\r\n\r\n"),
        ("tab_before_colon", head("POST", "/api/v1/write", [("Content-Length\t", "5")]) +
         b"hello"),
        ("empty_name", b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\n: x\r\n\r\n"),
        ("cl_two_numbers", head("POST", "/api/v1/write", [("Content-Length", "5 5")]) +
         b"hello"),
        ("connect_authority", b"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n"),
    ]

    # Broken chunked bodies: the head was fine, so obsgate may have opened the upstream
    # connection and even streamed part of the body, but no complete request may get through.
    BODY_SMUGGLING = [
        ("chunk_size_not_hex", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"zz\r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_negative", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"-5\r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_0x", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"0x5\r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_overflow", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"10000000000000005\r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_empty", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"\r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_bare_lf", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"5\nhello\r\n0\r\n\r\n"),
        ("chunk_size_trailing_space", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"5 \r\nhello\r\n0\r\n\r\n"),
        ("chunk_size_leading_space", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b" 5\r\nhello\r\n0\r\n\r\n"),
        ("chunk_ext_bare_lf", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"5;a=b\nhello\r\n0\r\n\r\n"),
        ("chunk_data_overrun", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"5\r\nhelloXX\r\n0\r\n\r\n"),
        ("trailer_content_length", head("POST", "/api/v1/write", [
            ("Transfer-Encoding", "chunked")]) + b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n"),
    ]

    def test_smuggling_attempts_get_400_and_reach_nothing(self):
        for name, data in self.SMUGGLING:
            with self.subTest(name):
                c = RawConn(self.gw.port)
                try:
                    c.send_quiet(data)
                    r = c.read_response()
                    self.assertIsNotNone(r, "no response")
                    self.assertEqual(r.status, 400, r.body)
                    self.assertTrue(c.closed_by_peer(5), "connection left open after a 400")
                finally:
                    c.close()
        time.sleep(0.2)
        self.assert_upstream_saw_nothing()
        status, _, _ = self.gw.request("GET", "/api/v1/query?query=up")
        self.assertEqual(status, 200)

    def test_broken_chunked_bodies_get_400_and_no_complete_request(self):
        for name, data in self.BODY_SMUGGLING:
            with self.subTest(name):
                c = RawConn(self.gw.port)
                try:
                    c.send_quiet(data)
                    r = c.read_response()
                    self.assertIsNotNone(r, "no response")
                    self.assertEqual(r.status, 400, r.body)
                    self.assertIn(b"malformed_body", r.body)
                    self.assertTrue(c.closed_by_peer(5), "connection left open after a 400")
                finally:
                    c.close()
        wait_for(lambda: all(x.closed for x in self.up.connections()), timeout=5,
                 what="every upstream connection closed")
        self.assertEqual(self.up.requests(), [])
        status, _, _ = self.gw.request("GET", "/api/v1/query?query=up")
        self.assertEqual(status, 200)

    # -- timeouts

    def test_absolute_form_target_400(self):
        c = RawConn(self.gw.port)
        try:
            c.send(b"GET http://evil.test/api/v1/query HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 400)
            self.assertIn("absolute", r.body.decode())
            # The framing was sound, so the connection may carry on.
            c.send(head("GET", "/api/v1/query?query=up", []))
            self.assertEqual(c.read_response().status, 200)
        finally:
            c.close()
        self.assertEqual([r.target for r in self.up.requests()], ["/api/v1/query?query=up"])

    # Bug: obsgate accepts "Content-Length: 5, 5" (Beast folds the list to 5) and forwards the
    # header verbatim, so the upstream gets a Content-Length it may frame differently. RFC 9112
    # 6.3 / RFC 9110 8.6: reject with 400, or forward one normalised "Content-Length: 5".
    def test_content_length_list_rejected_or_normalised(self):
        c = RawConn(self.gw.port)
        try:
            c.send_quiet(head("POST", "/api/v1/write", [("Content-Length", "5, 5")]) + b"hello")
            r = c.read_response()
        finally:
            c.close()
        self.assertIsNotNone(r)
        recs = self.up.requests(complete_only=False)
        if r.status == 400:
            self.assertEqual(recs, [])
        else:
            self.assertEqual(len(recs), 1)
            self.assertEqual(recs[0].header_all("Content-Length"), ["5"])
            self.assertEqual(r.status, 200)

    def test_many_slow_clients_do_not_block_others(self):
        slow = []
        try:
            for _ in range(200):
                c = RawConn(self.gw.port, timeout=10)
                c.send(b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\nX-Slow: ")
                slow.append(c)
            wait_for(lambda: self.gw.metric("obsgate_open_connections", listener="public")
                     >= 200, what="200 open connections")
            t0 = time.monotonic()
            status, _, _ = self.gw.request("GET", "/api/v1/query?query=up", timeout=5)
            self.assertEqual(status, 200)
            self.assertLess(time.monotonic() - t0, 1.0)
            # All of them are cut off by request_read.
            for c in slow:
                self.assertTrue(c.closed_by_peer(REQUEST_READ + 3))
        finally:
            for c in slow:
                c.close()
        wait_for(lambda: self.gw.metric("obsgate_open_connections", listener="public") == 0,
                 what="0 open connections")
        self.assertEqual(len(self.up.requests()), 1)

    def test_slowloris_head_times_out(self):
        c = RawConn(self.gw.port, timeout=10)
        try:
            start = time.monotonic()
            c.send(b"GET /api/v1/query HTTP/1.1\r\nHost: gw.test\r\nX-Slow: ")
            closed = False
            deadline = start + REQUEST_READ * 4
            while time.monotonic() < deadline:
                if not c.send_quiet(b"a"):
                    closed = True
                    break
                if c.closed_by_peer(0.25):
                    closed = True
                    break
            elapsed = time.monotonic() - start
            self.assertTrue(closed, "connection still open after %.1fs" % elapsed)
            self.assertGreaterEqual(elapsed, REQUEST_READ * 0.9)
            self.assertLess(elapsed, REQUEST_READ + 2.0)
            if c.buf:
                self.assertTrue(c.buf.startswith(b"HTTP/1.1 408"), c.buf[:100])
        finally:
            c.close()
        self.assert_upstream_saw_nothing()

    # -- more timeouts

    def test_expect_continue_with_oversize_length_gets_413_without_100(self):
        c = RawConn(self.gw.port)
        try:
            c.send(head("POST", "/api/v1/write", [("Content-Length", MAX_BODY + 1),
                                                  ("Expect", "100-continue")]))
            r = c.read_response()
            self.assertEqual(r.status, 413)
            self.assertTrue(c.closed_by_peer(5))
        finally:
            c.close()
        self.assert_upstream_saw_nothing()

    # Bug: send_request() reads the client body with http::async_read into a 32 KiB buffer_body
    # under one request_read deadline, so a client that uploads steadily in small pieces (each
    # well within the documented "body inactivity" timeout) is cut off once request_read has
    # elapsed in total, and nothing reaches the upstream until 32 KiB have accumulated.
    # Request: POST with Content-Length 8000, 1000 bytes every 0.5 s (request_read 2 s).
    # Expected: 200 and the upstream gets all 8000 bytes. Actual: connection closed after ~2 s.
    def test_trickling_upload_within_inactivity_timeout(self):
        c = RawConn(self.gw.port, timeout=15)
        try:
            c.send(head("POST", "/api/v1/write", [("Content-Length", "8000")]))
            for _ in range(8):
                time.sleep(0.5)
                if not c.send_quiet(b"u" * 1000):
                    break
            r = c.read_response()
        finally:
            c.close()
        self.assertIsNotNone(r, "no response at all")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.up.requests()[0].body_len, 8000)

    def test_idle_keep_alive_connection_closed_quietly(self):
        c = RawConn(self.gw.port, timeout=10)
        try:
            c.send(head("GET", "/api/v1/query?query=up", []))
            self.assertEqual(c.read_response().status, 200)
            start = time.monotonic()
            self.assertTrue(c.closed_by_peer(IDLE * 3), "idle connection not closed")
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, IDLE * 0.9)
            self.assertEqual(c.buf, b"")  # no 408 for a connection between requests
        finally:
            c.close()

    def test_stalled_request_body_times_out(self):
        c = RawConn(self.gw.port, timeout=10)
        try:
            c.send(head("POST", "/api/v1/write", [("Content-Length", "1000")]) + b"x" * 10)
            start = time.monotonic()
            self.assertTrue(c.closed_by_peer(REQUEST_READ * 3), "stalled body not cut off")
            elapsed = time.monotonic() - start
            self.assertGreaterEqual(elapsed, REQUEST_READ * 0.9)
        finally:
            c.close()
        # The upstream never got a complete request, and its connection was closed too.
        self.assertEqual(self.up.requests(), [])
        wait_for(lambda: all(x.closed for x in self.up.connections()), timeout=5,
                 what="the upstream connection to be closed")


if __name__ == "__main__":
    unittest.main()
