"""Self-tests of the OpenBao double (run by CTest as doubles:openbao)."""

import http.client
import json
import socket
import time
import unittest

from launch import HOST, OpenBaoCluster, OpenBaoDouble

TOKEN = "s.secret-metrics"


def health(d, query="", method="GET"):
    status, headers, body = d.request(method, "/v1/sys/health" + query)
    return status, (json.loads(body) if body else None)


class HealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = OpenBaoDouble(name="bao-7", state="active", token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_default_codes_and_bodies(self):
        # state, code, initialized, sealed, standby, performance_standby, dr mode
        cases = [
            ("active", 200, True, False, False, False, "disabled"),
            ("standby", 429, True, False, True, False, "disabled"),
            ("perfstandby", 473, True, False, True, True, "disabled"),
            ("drsecondary", 472, True, False, False, False, "secondary"),
            ("sealed", 503, True, True, True, False, "disabled"),
            ("uninitialized", 501, False, True, True, False, "disabled"),
        ]
        for state, code, init, sealed, standby, perf, dr in cases:
            with self.subTest(state=state):
                self.d.set_state(state)
                status, body = health(self.d)
                self.assertEqual(status, code)
                self.assertEqual(body["initialized"], init)
                self.assertEqual(body["sealed"], sealed)
                self.assertEqual(body["standby"], standby)
                self.assertEqual(body["performance_standby"], perf)
                self.assertEqual(body["replication_dr_mode"], dr)
                self.assertEqual(body["replication_performance_mode"], "disabled")
                self.assertIsInstance(body["server_time_utc"], int)
                self.assertIn("version", body)
                self.assertEqual("cluster_name" in body, not sealed)
                self.assertEqual("cluster_id" in body, not sealed)

    def test_query_parameters(self):
        cases = [
            ("standby", "?standbyok=true", 200),
            ("standby", "?standbyok=false", 429),
            ("standby", "?standbyok=1&activecode=204", 204),
            ("standby", "?standbycode=299", 299),
            ("perfstandby", "?standbyok=true", 473),  # standbyok does not cover perf standbys
            ("perfstandby", "?perfstandbyok=true", 200),
            ("perfstandby", "?performancestandbycode=288", 288),
            ("active", "?activecode=218", 218),
            ("sealed", "?sealedcode=200", 200),
            ("uninitialized", "?uninitcode=200", 200),
            ("uninitialized", "?sealedcode=200", 501),  # uninitialised wins over sealed
            ("drsecondary", "?drsecondarycode=200", 200),
            ("standby", "?standbyok=yes", 400),
            ("active", "?activecode=abc", 400),
            ("active", "?activecode=600", 600),
            ("active", "?activecode=150", 200),
        ]
        for state, query, code in cases:
            with self.subTest(state=state, query=query):
                self.d.set_state(state)
                status, body = health(self.d, query)
                self.assertEqual(status, code)
                if code == 400:
                    self.assertIn("errors", body)

    def test_impossible_status_code_drops_the_connection(self):
        self.d.set_state("active")
        for code in ("1", "99", "1000", "99999999999"):
            with self.subTest(code=code):
                with self.assertRaises((http.client.HTTPException, ConnectionError)):
                    health(self.d, "?activecode=" + code)
                self.assertEqual(self.d.requests()[-1]["status"], "closed")

    def test_head_has_no_body(self):
        self.d.set_state("standby")
        c = http.client.HTTPConnection(HOST, self.d.port, timeout=5)
        c.request("HEAD", "/v1/sys/health")
        r = c.getresponse()
        self.assertEqual(r.status, 429)
        self.assertEqual(r.read(), b"")
        c.close()

    def test_unknown_path(self):
        status, _, body = self.d.request("GET", "/v1/secret/data/x")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"errors": []})


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = OpenBaoDouble(name="bao-node-3", state="active", token=TOKEN)
        cls.open = OpenBaoDouble(name="bao-open", state="standby", token=TOKEN,
                                 unauthenticated_metrics=True)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.open.stop()

    def setUp(self):
        self.d.set_state("active")
        self.d.reset()

    def metrics(self, d, headers, query="?format=prometheus"):
        return d.request("GET", "/v1/sys/metrics" + query, headers=headers)

    def test_authentication(self):
        cases = [
            ("x-vault-token", {"X-Vault-Token": TOKEN}, 200),
            ("bearer", {"Authorization": "Bearer " + TOKEN}, 200),
            ("none", {}, 403),
            ("wrong token", {"X-Vault-Token": TOKEN + "x"}, 403),
            ("wrong bearer", {"Authorization": "Bearer nope"}, 403),
            ("basic is not a token", {"Authorization": "Basic " + TOKEN}, 403),
        ]
        for name, headers, code in cases:
            with self.subTest(name):
                status, hdrs, body = self.metrics(self.d, headers)
                self.assertEqual(status, code)
                if code == 403:
                    self.assertEqual(json.loads(body), {"errors": ["permission denied"]})
                else:
                    self.assertTrue(hdrs["content-type"].startswith("text/plain"))
                self.assertEqual(hdrs["cache-control"], "no-store")

    def test_prometheus_text_shape(self):
        status, _, body = self.metrics(self.d, {"X-Vault-Token": TOKEN})
        self.assertEqual(status, 200)
        text = body.decode()
        typed = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, typ = line.split(" ")
                typed[name] = typ
            elif not line.startswith("#"):
                name = line.split("{")[0].split(" ")[0]
                base = name
                for suffix in ("_sum", "_count"):
                    if name.endswith(suffix) and name[:-len(suffix)] in typed:
                        base = name[:-len(suffix)]
                self.assertIn(base, typed, "sample without a TYPE line: " + line)
                float(line.rsplit(" ", 1)[1])
        for name in ("vault_core_unsealed", "vault_raft_peers", "go_goroutines",
                     "vault_autopilot_node_healthy"):
            self.assertIn(name, typed)
            self.assertIn("# HELP %s " % name, text)
        self.assertIn('vault_autopilot_node_healthy{node_id="bao-node-3"} 1', text)
        self.assertIn("vault_core_unsealed 1", text)
        self.assertIn("vault_core_active 1", text)

    def test_states(self):
        cases = [
            ("standby", 400, {"errors": ["cannot forward local-only request"]}),
            ("sealed", 503, {"errors": ["Vault is sealed"]}),
            ("uninitialized", 503, {"errors": ["Vault is sealed"]}),
            ("perfstandby", 200, None),
            ("active", 200, None),
        ]
        for state, code, err in cases:
            with self.subTest(state=state):
                self.d.set_state(state)
                status, _, body = self.metrics(self.d, {"X-Vault-Token": TOKEN})
                self.assertEqual(status, code)
                if err is not None:
                    self.assertEqual(json.loads(body), err)

    def test_unauthenticated_listener(self):
        for state, unsealed in (("standby", 1), ("sealed", 0), ("active", 1)):
            with self.subTest(state=state):
                self.open.set_state(state)
                status, _, body = self.metrics(self.open, {})
                self.assertEqual(status, 200)
                self.assertIn("vault_core_unsealed %d" % unsealed, body.decode())
                self.assertIn('node_id="bao-open"', body.decode())

    def test_json_format(self):
        for query in ("", "?format=json", "?format="):
            with self.subTest(query=query):
                status, hdrs, body = self.metrics(self.d, {"X-Vault-Token": TOKEN}, query)
                self.assertEqual(status, 200)
                self.assertEqual(hdrs["content-type"], "application/json")
                doc = json.loads(body)
                names = {g["Name"] for g in doc["Gauges"]}
                self.assertIn("vault.core.unsealed", names)
                self.assertIn("Counters", doc)
                self.assertIn("Samples", doc)

    def test_recording(self):
        self.metrics(self.d, {"X-Vault-Token": TOKEN})
        self.metrics(self.d, {"Authorization": "Bearer nope"})
        recs = self.d.requests("/v1/sys/metrics")
        self.assertEqual([r["status"] for r in recs], [200, 403])
        self.assertEqual([r["token_ok"] for r in recs], [True, False])
        self.assertIn(["format", "prometheus"], recs[0]["query"])
        self.assertIn(["X-Vault-Token", TOKEN], recs[0]["headers"])
        self.d.reset()
        self.assertEqual(self.d.requests(), [])


class ClusterTest(unittest.TestCase):
    def test_failover(self):
        with OpenBaoCluster(names=("a", "b", "c"), token=TOKEN,
                            unauthenticated_metrics=("c",)) as cluster:
            def codes():
                return {n: health(d)[0] for n, d in cluster.nodes.items()}

            self.assertEqual(codes(), {"a": 200, "b": 429, "c": 429})
            cluster.set_active("b")
            self.assertEqual(codes(), {"a": 429, "b": 200, "c": 429})
            ids = {health(d)[1]["cluster_id"] for d in cluster.nodes.values()}
            self.assertEqual(len(ids), 1)
            status, _, body = cluster.nodes["c"].request("GET",
                                                         "/v1/sys/metrics?format=prometheus")
            self.assertEqual(status, 200)
            self.assertIn('node_id="c"', body.decode())


class ModeTest(unittest.TestCase):
    def setUp(self):
        self.d = OpenBaoDouble(name="bao-m")
        self.addCleanup(self.d.stop)

    def test_hang_then_normal(self):
        self.d.set_mode("hang")
        c = http.client.HTTPConnection(HOST, self.d.port, timeout=0.5)
        c.request("GET", "/v1/sys/health")
        with self.assertRaises(socket.timeout):
            c.getresponse()
        c.close()
        recs = self.d.requests("/v1/sys/health")
        self.assertEqual(recs[-1]["status"], "hung")
        self.d.set_mode("normal")
        self.assertEqual(health(self.d)[0], 200)

    def test_close(self):
        self.d.set_mode("close")
        c = http.client.HTTPConnection(HOST, self.d.port, timeout=5)
        c.request("GET", "/v1/sys/health")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            c.getresponse()
        c.close()
        self.assertEqual(self.d.requests()[-1]["status"], "closed")
        self.d.set_mode("normal")
        self.assertEqual(health(self.d)[0], 200)

    def test_keep_alive_control_requests_leave_records_alone(self):
        c = http.client.HTTPConnection(HOST, self.d.port, timeout=5)
        c.request("GET", "/v1/sys/metrics")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 403)
        c.request("GET", "/__test/requests")
        recs = json.loads(c.getresponse().read())
        c.request("POST", "/__test/state", body=b'{"state": "bogus"}')
        c.getresponse().read()
        c.close()
        self.assertEqual([r["status"] for r in recs], [403])
        self.assertEqual([r["status"] for r in self.d.requests()], [403])

    def test_reset(self):
        for mode, want in (("reset", ConnectionResetError), ("close", b"")):
            with self.subTest(mode=mode):
                self.d.set_mode(mode)
                with socket.create_connection((HOST, self.d.port), timeout=5) as sock:
                    sock.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
                    if want is ConnectionResetError:
                        with self.assertRaises(ConnectionResetError):
                            sock.recv(100)
                    else:
                        self.assertEqual(sock.recv(100), want)  # EOF: an orderly close
                self.assertEqual(self.d.requests()[-1]["status"], mode if mode == "reset"
                                 else "closed")
        self.d.set_mode("normal")
        self.assertEqual(health(self.d)[0], 200)

    def test_error_and_delay(self):
        self.d.set_mode("error", status=502, text="bad gateway upstream\n")
        status, hdrs, body = self.d.request("GET", "/v1/sys/health")
        self.assertEqual((status, body), (502, b"bad gateway upstream\n"))
        self.assertEqual(self.d.requests()[-1]["status"], 502)
        self.d.set_mode("normal", delay=0.4)
        t0 = time.monotonic()
        self.assertEqual(health(self.d)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.d.set_mode("normal")
        status, _, body = self.d.request("GET", "/__test/mode")
        self.assertEqual(json.loads(body), {"mode": "normal", "delay": 0.0, "status": 503,
                                            "text": ""})

    def test_bad_control_input(self):
        status, _, _ = self.d.request("POST", "/__test/state", {"state": "bogus"})
        self.assertEqual(status, 400)
        for doc in ({"mode": "bogus"}, {"mode": "error", "status": 42},
                    {"mode": "normal", "delay": -1}, {"mode": "normal", "delay": "x"},
                    {"mode": "error", "text": 5}):
            with self.subTest(doc=doc):
                status, _, _ = self.d.request("POST", "/__test/mode", doc)
                self.assertEqual(status, 400)
        self.assertEqual(self.d.requests(), [])  # control requests are not recorded


if __name__ == "__main__":
    unittest.main()
