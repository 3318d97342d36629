"""Admin endpoints, configuration reloads (SIGHUP), graceful drain (SIGTERM), --check-config."""

import copy
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import HOST, Behaviour, Gateway, GatewayTestCase, RawConn, Upstream, base_config
from harness import free_port, obsgate_bin, prom_routes, wait_for

DRAIN = 10.0


class LifecycleTest(GatewayTestCase):
    def make_config(self, up):
        ups = [{"name": "prom", "url": up.url, "api": "prometheus"}]
        return base_config(free_port(), free_port(), ups, prom_routes(),
                           timeouts={"drain": "%ds" % DRAIN})

    # -- admin endpoints

    def test_health_and_ready(self):
        self.assertEqual(self.gw.admin_get("/healthz"), (200, "ok\n"))
        self.assertEqual(self.gw.admin_get("/readyz"), (200, "ready\n"))
        self.assertEqual(self.gw.admin_get("/nope")[0], 404)
        self.assertEqual(self.up.requests(), [])  # admin traffic never reaches an upstream

    FAMILIES = [("obsgate_http_requests_total", "counter"),
                ("obsgate_http_request_duration_seconds", "histogram"),
                ("obsgate_upstream_errors_total", "counter"),
                ("obsgate_upstream_connections_total", "counter"),
                ("obsgate_open_connections", "gauge"),
                ("obsgate_config_last_reload_success", "gauge"),
                ("obsgate_build_info", "gauge")]

    def test_metrics_families(self):
        self.assertEqual(self.gw.request("GET", "/api/v1/query?query=up")[0], 200)
        self.assertEqual(self.gw.request("GET", "/nope")[0], 404)
        body = self.gw.metrics()
        for family, kind in self.FAMILIES:
            with self.subTest(family):
                self.assertTrue("# TYPE %s %s\n" % (family, kind) in body, "%s missing" % family)
        m = self.gw.metric
        self.assertEqual(m("obsgate_http_requests_total", route="query", method="GET",
                           code="200"), 1)
        self.assertEqual(m("obsgate_http_requests_total", route="none", method="GET",
                           code="404"), 1)
        self.assertEqual(m("obsgate_http_request_duration_seconds_count", route="query",
                           component="total"), 1)
        self.assertEqual(m("obsgate_http_request_duration_seconds_count", route="query",
                           component="upstream"), 1)
        self.assertEqual(m("obsgate_upstream_errors_total", upstream="prom", kind="connect"), 0)
        self.assertEqual(m("obsgate_open_connections", listener="public"), 0)
        self.assertEqual(m("obsgate_config_last_reload_success"), 1)
        self.assertTrue(any(l.startswith("obsgate_build_info{") and l.endswith(" 1")
                            for l in body.splitlines()))
        # The reload counter, once a reload happened.
        self.gw.signal(signal.SIGHUP)
        wait_for(lambda: self.reload_count("success") == 1, what="a successful reload")
        self.assertTrue("# TYPE obsgate_config_reloads_total counter\n" in self.gw.metrics())

    def test_open_connections_gauge_counts_clients(self):
        conns = [RawConn(self.gw.port) for _ in range(3)]
        try:
            wait_for(lambda: self.gw.metric("obsgate_open_connections", listener="public") == 3,
                     what="3 open connections")
        finally:
            for c in conns:
                c.close()
        wait_for(lambda: self.gw.metric("obsgate_open_connections", listener="public") == 0,
                 what="0 open connections")

    # Bug: obsgate_config_reloads_total has no samples until the first reload, so the family is
    # absent from /metrics and `increase(obsgate_config_reloads_total{result="failure"}[1h])`
    # has no series to alert on. Expected: result="success" and result="failure" exported as 0
    # from start-up (as obsgate_upstream_errors_total is).
    def test_reload_counter_exported_before_first_reload(self):
        self.assertEqual(self.reload_count_or_none("failure"), 0)
        self.assertEqual(self.reload_count_or_none("success"), 0)

    def reload_count_or_none(self, result):
        return self.gw.metric("obsgate_config_reloads_total", result=result)

    # -- reloads

    def reload_count(self, result):
        return self.gw.metric("obsgate_config_reloads_total", result=result) or 0

    def test_sighup_bad_config_keeps_old_routes(self):
        bad_cases = [
            ("yaml_syntax", "server: [unclosed\n"),
            ("unknown_upstream", None),
            ("listener_change", None),
        ]
        good = copy.deepcopy(self.gw.config)
        for i, (name, text) in enumerate(bad_cases, start=1):
            with self.subTest(name):
                cfg = copy.deepcopy(good)
                if name == "unknown_upstream":
                    cfg["routes"].append({"name": "x", "methods": ["GET"], "path": "/x",
                                          "upstream": "nope", "auth": "unsafe_none"})
                if name == "listener_change":
                    cfg["server"]["listeners"][0]["port"] = free_port()
                self.gw.write_config(cfg if text is None else None, text=text)
                self.gw.config = good
                self.gw.signal(signal.SIGHUP)
                wait_for(lambda: self.reload_count("failure") == i, what="a failed reload")
                self.assertEqual(self.reload_count("success"), 0)
                self.assertEqual(self.gw.metric("obsgate_config_last_reload_success"), 0)
                self.assertEqual(self.gw.request("GET", "/api/v1/query?query=up")[0], 200)
                self.assertEqual(self.gw.admin_get("/readyz")[0], 200)
        self.assertIn("configuration reload rejected", self.gw.stderr())
        self.assertIn("server.listeners changed", self.gw.stderr())
        self.assertEqual(self.gw.proc.poll(), None)
        self.assertEqual(len(self.up.requests()), len(bad_cases))

    def test_sighup_good_config_adds_route(self):
        self.assertEqual(self.gw.request("GET", "/api/v1/series")[0], 404)
        cfg = copy.deepcopy(self.gw.config)
        cfg["routes"].append({"name": "series", "methods": ["GET"], "path": "/api/v1/series",
                              "upstream": "prom", "auth": "unsafe_none",
                              "query_params": ["match[]"]})
        self.gw.write_config(cfg)
        self.gw.signal(signal.SIGHUP)
        wait_for(lambda: self.reload_count("success") == 1, what="a successful reload")
        self.assertEqual(self.gw.request("GET", "/api/v1/series?match[]=up")[0], 200)
        self.assertEqual(self.gw.request("GET", "/api/v1/series?other=1")[0], 400)
        self.assertEqual(len(self.up.requests("/api/v1/series")), 1)
        self.assertEqual(self.reload_count("failure"), 0)
        self.assertEqual(self.gw.metric("obsgate_config_last_reload_success"), 1)
        self.assertIn("configuration reloaded", self.gw.stderr())

    # Bug: Session::one_request() takes the runtime snapshot (rt_ = worker_.runtime()) *before*
    # read_head() waits for the next request, so the first request on a keep-alive connection
    # that sat idle across a SIGHUP is routed by the previous configuration. Request: GET of a
    # route added by the reload, on a connection opened before it. Expected 200; actual 404
    # (and a route removed by a reload stays reachable for one more request per idle
    # connection).
    def test_reload_applies_to_idle_keep_alive_connection(self):
        c = RawConn(self.gw.port)
        try:
            c.send(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: gw.test\r\n"
                   b"X-Request-Id: before-reload\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
            # The session logs the exchange, then loops to wait for the next request: let it
            # get there (and take its snapshot) before the reload, or the outcome is a race.
            self.gw.wait_access_log(lambda e: e.get("request_id") == "before-reload")
            time.sleep(0.3)
            cfg = copy.deepcopy(self.gw.config)
            cfg["routes"] = [r for r in cfg["routes"] if r["name"] != "big"]
            cfg["routes"].append({"name": "series", "methods": ["GET"],
                                  "path": "/api/v1/series", "upstream": "prom",
                                  "auth": "unsafe_none"})
            self.gw.write_config(cfg)
            self.gw.signal(signal.SIGHUP)
            wait_for(lambda: self.reload_count("success") == 1, what="a successful reload")
            c.send(b"GET /api/v1/series HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            first = c.read_response().status
            c.send(b"GET /big HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            second = c.read_response().status
        finally:
            c.close()
        self.assertEqual((first, second), (200, 404))
        self.assertEqual(self.up.requests("/big"), [])

    def test_sighup_removes_route(self):
        cfg = copy.deepcopy(self.gw.config)
        cfg["routes"] = [r for r in cfg["routes"] if r["name"] != "big"]
        self.gw.write_config(cfg)
        self.gw.signal(signal.SIGHUP)
        wait_for(lambda: self.reload_count("success") == 1, what="a successful reload")
        self.assertEqual(self.gw.request("GET", "/big")[0], 404)
        self.assertEqual(self.up.requests("/big"), [])

    def test_sighup_switches_upstream_url_without_reusing_old_connections(self):
        other = Upstream()
        self.addCleanup(other.stop)
        c = RawConn(self.gw.port)
        try:
            c.send(b"GET /api/v1/query?query=before HTTP/1.1\r\nHost: gw.test\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)
        finally:
            c.close()
        cfg = copy.deepcopy(self.gw.config)
        cfg["upstreams"][0]["url"] = other.url  # same upstream name, new address
        self.gw.write_config(cfg)
        self.gw.signal(signal.SIGHUP)
        wait_for(lambda: self.reload_count("success") == 1, what="a successful reload")
        for i in range(3):
            self.assertEqual(self.gw.request("GET", "/api/v1/query?query=after%d" % i)[0], 200)
        self.assertEqual([r.target for r in self.up.requests()], ["/api/v1/query?query=before"])
        self.assertEqual(len(other.requests()), 3)
        self.assertEqual(other.requests()[0].header("Host"), "127.0.0.1:%d" % other.port)

    # -- drain

    def test_sigterm_drains_in_flight_request(self):
        self.up.on("/slow", Behaviour.sleep(2.0))
        idle = RawConn(self.gw.port)  # an idle keep-alive connection
        idle.send(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: gw.test\r\n\r\n")
        self.assertEqual(idle.read_response().status, 200)
        result = {}

        def slow():
            try:
                result["r"] = self.gw.request("GET", "/slow", timeout=30)
            except Exception as e:  # reported by the assertion below
                result["e"] = e

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        wait_for(lambda: self.up.requests("/slow"), what="the slow request upstream")
        sent = time.monotonic()
        self.gw.signal(signal.SIGTERM)

        def refused():
            try:
                s = socket.create_connection((HOST, self.gw.port), timeout=1)
            except (ConnectionRefusedError, ConnectionResetError):
                # A connection still in the accept backlog when the listener closes is reset:
                # refused all the same.
                return True
            s.close()
            return False

        wait_for(refused, timeout=3, what="new connections to be refused")
        self.assertTrue(idle.closed_by_peer(3), "idle keep-alive connection not closed")
        self.assertEqual(self.gw.admin_get("/readyz"), (503, "draining\n"))
        idle.close()
        t.join(10)
        self.assertNotIn("e", result, result.get("e"))
        status, headers, body = result["r"]
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("connection", "").lower(), "close")
        rc = self.gw.wait_exit(DRAIN)
        elapsed = time.monotonic() - sent
        self.assertEqual(rc, 0, self.gw.stderr())
        self.assertLess(elapsed, DRAIN)
        self.assertIn("draining", self.gw.stderr())
        self.assertIn("obsgate stopped", self.gw.stderr())

    def test_sigterm_drain_timeout_bounds_exit(self):
        cfg = copy.deepcopy(self.gw.config)
        self.gw.stop()
        cfg["server"]["timeouts"]["drain"] = "1s"
        cfg["server"]["listeners"][0]["port"] = free_port()
        cfg["admin"]["port"] = free_port()
        gw = self.start_gateway(cfg)
        self.up.on("/slow", Behaviour.sleep(8.0))
        c = RawConn(gw.port, timeout=15)
        c.send(b"GET /slow HTTP/1.1\r\nHost: gw.test\r\n\r\n")
        wait_for(lambda: self.up.requests("/slow"), what="the slow request upstream")
        sent = time.monotonic()
        gw.signal(signal.SIGTERM)
        rc = gw.wait_exit(8)
        elapsed = time.monotonic() - sent
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5.0)
        self.assertTrue(c.closed_by_peer(2))  # the client is cut off, not left hanging
        c.close()
        self.assertIn("drain timeout", gw.stderr())


class LoggingTest(GatewayTestCase):
    """access_log to a file, decision_log off."""

    def make_config(self, up):
        self.access_path = os.path.join(self.tmp, "access.log")
        cfg = base_config(free_port(), free_port(),
                          [{"name": "prom", "url": up.url, "api": "prometheus"}], prom_routes())
        cfg["logging"] = {"access_log": self.access_path, "decision_log": "off"}
        return cfg

    def test_access_log_to_file(self):
        for i in range(3):
            self.gw.request("GET", "/api/v1/query?query=up", headers={"X-Request-Id": "f%d" % i})

        def lines():
            try:
                with open(self.access_path) as f:
                    return [json.loads(l) for l in f if l.strip()]
            except OSError:
                return []

        got = wait_for(lambda: len(lines()) == 3 and lines(), what="3 lines in the file")
        self.assertEqual([e["request_id"] for e in got], ["f0", "f1", "f2"])
        self.assertTrue(all(e["status"] == 200 and e["route"] == "query" for e in got))
        self.assertEqual(self.gw.access_log(), [])  # nothing on stdout


def pos(text, needle, nth=1):
    """1-based (line, column) of the nth occurrence of needle in text."""
    i = -1
    for _ in range(nth):
        i = text.index(needle, i + 1)
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, col


GOOD = """\
server:
  worker_threads: 1
  listeners:
    - name: public
      address: 127.0.0.1
      port: 18480
  timeouts:
    request_read: 30s
admin:
  port: 18490
upstreams:
  - name: prom
    url: http://127.0.0.1:9090
    api: prometheus
routes:
  - name: query
    methods: [GET, POST]
    path: /api/v1/query
    upstream: prom
    auth: unsafe_none
    query_params: [query, time]
"""


class CheckConfigTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="obsgate-it-check-")
        self.addCleanup(self.tmp.cleanup)

    def check(self, text):
        path = os.path.join(self.tmp.name, "cfg.yaml")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([obsgate_bin(), "--check-config", path], capture_output=True,
                           timeout=20, text=True)
        return path, p

    def test_good_config_ok(self):
        path, p = self.check(GOOD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(),
                         "%s: ok (1 listener(s), 1 upstream(s), 1 route(s))" % path)

    def test_bad_configs_name_file_line_col_and_key(self):
        # (name, edit of GOOD, the needle whose position the error must name (or None),
        #  key path, message)
        cases = [
            ("unknown_upstream", ("upstream: prom", "upstream: prometeus"), "prometeus",
             "routes[0].upstream", "unknown upstream 'prometeus'"),
            ("bad_duration", ("request_read: 30s", "request_read: 30 parsecs"), "30 parsecs",
             "server.timeouts.request_read",
             "expected a duration such as 250ms, 30s, 5m or 1h30m, got '30 parsecs'"),
            ("zero_duration", ("request_read: 30s", "request_read: 0s"), "0s",
             "server.timeouts.request_read", "must be greater than zero"),
            ("port_range", ("port: 18480", "port: 70000"), "70000",
             "server.listeners[0].port", "value 70000 out of range [1, 65535]"),
            ("unknown_key", ("  timeouts:", "  timeouts:\n    read_timeout: 5s"),
             "read_timeout", "server.timeouts.read_timeout",
             "unknown key (known keys: request_read, idle, upstream_connect, "
             "upstream_response, drain)"),
            ("bad_method", ("[GET, POST]", "[GET, FETCH]"), "[GET, FETCH]",
             "routes[0].methods",
             "unknown method 'FETCH' (GET HEAD POST PUT DELETE PATCH OPTIONS)"),
            ("bad_scheme", ("http://127.0.0.1:9090", "ftp://127.0.0.1:9090"), "ftp://",
             "upstreams[0].url", "scheme must be http or https, got 'ftp'"),
            ("bad_api", ("api: prometheus", "api: graphite"), "graphite",
             "upstreams[0].api", "expected generic, prometheus, loki or openbao, got 'graphite'"),
            ("bad_address", ("address: 127.0.0.1", "address: localhost"), "localhost",
             "server.listeners[0].address", "expected an IP address, got 'localhost'"),
            ("auth_required", ("    auth: unsafe_none\n", "    auth: required\n"), "name: query",
             "routes[0].auth", "'required' needs an identity provider"),
            ("bad_client_cert_mode", ("      port: 18480\n",
                                      "      port: 18480\n      tls:\n        cert_file: /c\n"),
             "cert_file", "server.listeners[0].tls.key_file", "required key is missing"),
        ]
        for name, (old, new), needle, key, message in cases:
            with self.subTest(name):
                self.assertIn(old, GOOD)
                text = GOOD.replace(old, new, 1)
                path, p = self.check(text)
                self.assertEqual(p.returncode, 1, p.stdout)
                line, col = pos(text, needle)
                want = "%s:%d:%d: %s: %s" % (path, line, col, key, message)
                lines = p.stderr.splitlines()
                self.assertTrue(any(l.startswith(want) for l in lines),
                                "want %r in:\n%s" % (want, p.stderr))

    def test_structural_errors(self):
        cases = [
            ("yaml_syntax", GOOD.replace("[GET, POST]", "[GET, POST"),
             None, "cfg.yaml:"),
            ("missing_admin", GOOD.replace("admin:\n  port: 18490\n", ""),
             "admin: required section is missing", None),
            ("no_listeners", GOOD.replace(
                "    - name: public\n      address: 127.0.0.1\n      port: 18480\n", "")
             .replace("  listeners:\n", "  listeners: []\n"),
             "server.listeners: at least one listener is required", None),
            ("overlapping_routes", GOOD + "  - name: query2\n    methods: [GET]\n"
             "    path: /api/v1/query\n    upstream: prom\n    auth: unsafe_none\n",
             "routes", None),
            ("not_a_map", "- just\n- a list\n", "expected a map, got a list", None),
        ]
        for name, text, fragment, prefix in cases:
            with self.subTest(name):
                path, p = self.check(text)
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertEqual(p.stdout, "")
                self.assertTrue(p.stderr.startswith(path + ":"), p.stderr)
                if fragment:
                    self.assertIn(fragment, p.stderr)

    def test_unreadable_file_and_usage(self):
        missing = os.path.join(self.tmp.name, "missing.yaml")
        p = subprocess.run([obsgate_bin(), "--check-config", missing], capture_output=True,
                           timeout=20, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(), missing + ": cannot read file")
        p = subprocess.run([obsgate_bin(), "--bogus"], capture_output=True, timeout=20,
                           text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: obsgate --config FILE", p.stderr)

    def test_serve_refuses_bad_config_and_busy_port(self):
        path, _ = self.check(GOOD.replace("upstream: prom", "upstream: nope"))
        p = subprocess.run([obsgate_bin(), "--config", path], capture_output=True, timeout=20,
                           text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("routes[0].upstream: unknown upstream 'nope'", p.stderr)
        busy = socket.socket()
        busy.bind((HOST, 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        cfg = base_config(port, free_port(), [{"name": "prom", "url": "http://127.0.0.1:1"}],
                          prom_routes())
        gw = Gateway(cfg, self.tmp.name)
        gw.write_config()
        p = subprocess.run([obsgate_bin(), "--config", gw.config_path], capture_output=True,
                           timeout=20, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot listen on 127.0.0.1:%d" % port, p.stderr)

    def test_every_error_reported(self):
        text = GOOD.replace("port: 18480", "port: 0").replace("api: prometheus", "api: x")
        path, p = self.check(text)
        self.assertEqual(p.returncode, 1)
        self.assertIn("server.listeners[0].port", p.stderr)
        self.assertIn("upstreams[0].api", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 2, p.stderr)


if __name__ == "__main__":
    unittest.main()
