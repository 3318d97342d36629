"""End to end: remote-write through obsgate with real parts.

  target (Python, /metrics) <- scrape - Prometheus agent (--enable-feature=agent)
      -- remote_write, oauth2 client credentials against deploy/local/idp (tenant-a-writer) -->
  obsgate (enforcer: remote_write, tenant label stamped) --> Prometheus receiver
      (--web.enable-remote-write-receiver), queried back directly.

Checks: the series queried back from the receiver carry tenant="team-a" and otherwise exactly
the labels and values the target served; a writer of tenant team-b (tenant-b-reader client,
team-b has a write section here) cannot write series into team-a; stopping the receiver for a
while and starting it again loses nothing once the agent has retried (no gap in the samples
over the outage). Every server listens on 127.0.0.1 on a free port; every wait is bounded.

Needs /usr/bin/prometheus (Debian), node (for the IdP), the obsgate binary (OBSGATE_BIN);
skipped otherwise.
"""

import http.server
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "doubles"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from push_encoder import snappy_compress  # noqa: E402
from test_identity_e2e import Idp  # noqa: E402  (the demo IdP, started through start.sh)

PROMETHEUS = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
METRIC = "e2e_events_total"


def http_call(method, url, headers=None, data=None, timeout=10):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


class Target:
    """A scrape target: one counter per `kind`, increasing by 1 per scrape; remembers every
    value it served."""

    def __init__(self):
        self.values = {"a": 0, "b": 100}
        self.served = {"a": set(), "b": set()}
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                with outer.lock:
                    lines = ["# TYPE %s counter" % METRIC]
                    for k in sorted(outer.values):
                        outer.values[k] += 1
                        outer.served[k].add(float(outer.values[k]))
                        lines.append('%s{kind="%s",path="/x"} %d' % (METRIC, k, outer.values[k]))
                body = ("\n".join(lines) + "\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Prom:
    """A Prometheus process (receiver or agent) on 127.0.0.1 with a free port."""

    def __init__(self, workdir, name, config, args):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.cfg = os.path.join(self.dir, "prometheus.yml")
        with open(self.cfg, "w") as f:
            f.write(json.dumps(config))
        self.port = harness.free_port()
        self.args = args
        self.proc = None
        self.log = os.path.join(self.dir, "log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=30):
        cmd = [PROMETHEUS, "--config.file=" + self.cfg,
               "--web.listen-address=127.0.0.1:%d" % self.port] + self.args
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         cwd=self.dir)
        harness.wait_for(lambda: http_call("GET", self.url + "/-/ready", timeout=1)[0] == 200,
                         timeout, 0.1, "prometheus ready (%s)" % self.log)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def query(self, q, t=None):
        params = {"query": q}
        if t is not None:
            params["time"] = "%.3f" % t
        status, body = http_call("GET", self.url + "/api/v1/query?" + urllib.parse.urlencode(params))
        if status != 200:
            raise AssertionError("query %s: %d %s" % (q, status, body))
        return json.loads(body)["data"]["result"]


def write_body(labels, value, ts_ms):
    def field(num, payload):
        return _varint(num << 3 | 2) + _varint(len(payload)) + payload
    ts = b"".join(field(1, field(1, n.encode()) + field(2, v.encode())) for n, v in labels)
    ts += field(2, _varint(9) + struct.pack("<d", value) + _varint(16) + _varint(ts_ms))
    return snappy_compress(field(1, ts))


def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class RemoteWriteE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(PROMETHEUS):
            raise unittest.SkipTest("prometheus not installed")
        if shutil.which("node") is None:
            raise unittest.SkipTest("node not installed (the local IdP needs it)")
        cls.tmp = tempfile.mkdtemp(prefix="obsgate-rw-e2e-")
        cls.cleanups = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        cls.idp = Idp(cls.tmp)
        cls.cleanups.append(cls.idp.stop)
        cls.target = Target()
        cls.cleanups.append(cls.target.stop)
        cls.recv = Prom(cls.tmp, "receiver", {"global": {"scrape_interval": "1m"}},
                        ["--web.enable-remote-write-receiver",
                         "--storage.tsdb.path=" + os.path.join(cls.tmp, "receiver", "data")])
        cls.recv.start()
        cls.cleanups.append(cls.recv.stop)

        provider = {
            "name": "local", "issuer": cls.idp.issuer, "audiences": ["obsgate"],
            "algorithms": ["RS256"], "keys": {"discovery": True}, "require_typ_at_jwt": True,
            "mapping": {"tenants": [{"claim": "tenant", "values": {"team-a": ["team-a"],
                                                                   "team-b": ["team-b"]}}]},
        }
        cfg = harness.base_config(
            harness.free_port(), harness.free_port(),
            [{"name": "recv", "url": cls.recv.url, "api": "prometheus"}],
            [{"name": "write", "methods": ["POST"], "path": "/api/v1/write",
              "upstream": "recv", "enforcer": "remote_write", "accept": ["token"]}])
        cfg["identity"] = {"providers": [provider]}
        cfg["tenants"] = {"tenants": [
            {"name": "team-a", "write": {"tenant_label": "tenant"}},
            {"name": "team-b", "write": {"tenant_label": "tenant"}},
        ]}
        gwdir = os.path.join(cls.tmp, "gw")
        os.makedirs(gwdir)
        cls.gw = harness.Gateway(cfg, gwdir)
        cls.gw.start()
        cls.cleanups.append(cls.gw.stop)

        cls.agent = Prom(cls.tmp, "agent", {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "e2e", "static_configs": [
                {"targets": ["127.0.0.1:%d" % cls.target.port]}]}],
            "remote_write": [{
                "url": "http://127.0.0.1:%d/api/v1/write" % cls.gw.port,
                "oauth2": {"client_id": "tenant-a-writer",
                           "client_secret": "tenant-a-writer-secret",
                           "token_url": cls.idp.issuer + "/token",
                           "endpoint_params": {"resource": "urn:obsgate"}},
                "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms",
                                 "max_backoff": "1s"},
            }],
        }, ["--enable-feature=agent",
            "--storage.agent.path=" + os.path.join(cls.tmp, "agent", "wal")])
        cls.agent.start()
        cls.cleanups.append(cls.agent.stop)

    @classmethod
    def tearDownClass(cls):
        for f in reversed(getattr(cls, "cleanups", [])):
            try:
                f()
            except Exception:  # noqa: BLE001: best-effort cleanup
                pass
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)

    def series(self):
        return self.recv.query(METRIC)

    def test_1_data_carries_the_tenant_label_and_nothing_else_changed(self):
        got = harness.wait_for(lambda: len(self.series()) == 2 and self.series(), 60, 0.5,
                               "both series at the receiver")
        for s in got:
            m = dict(s["metric"])
            kind = m["kind"]
            self.assertEqual(m, {"__name__": METRIC, "kind": kind, "path": "/x", "job": "e2e",
                                 "instance": "127.0.0.1:%d" % self.target.port,
                                 "tenant": "team-a"})
            # Every sample received is a value the target served.
            rng = self.recv.query('%s{kind="%s"}[5m]' % (METRIC, kind))
            values = [float(v) for _, v in rng[0]["values"]]
            self.assertTrue(values)
            with self.target.lock:
                self.assertTrue(set(values) <= self.target.served[kind])
            self.assertEqual(values, sorted(values))

    def test_2_writer_for_b_cannot_write_into_a(self):
        tok_b = self.idp.token("tenant-b-reader")
        now = int(time.time() * 1000)
        labels = [("__name__", "e2e_intruder"), ("tenant", "team-a")]
        h = {"Authorization": "Bearer " + tok_b, "Content-Type": "application/x-protobuf",
             "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"}
        url = "http://127.0.0.1:%d/api/v1/write" % self.gw.port
        st, body = http_call("POST", url, h, write_body(labels, 1.0, now))
        self.assertEqual(st, 403, body)
        st, body = http_call("POST", url, dict(h, **{"X-Obsgate-Tenant": "team-a"}),
                        write_body([("__name__", "e2e_intruder")], 1.0, now))
        self.assertEqual(st, 403, body)
        # team-b's own series lands as team-b.
        st, body = http_call("POST", url, h, write_body([("__name__", "e2e_intruder")], 2.0, now))
        self.assertEqual(st, 204, body)
        got = harness.wait_for(lambda: self.recv.query("e2e_intruder"), 20, 0.2, "team-b write")
        self.assertEqual([s["metric"]["tenant"] for s in got], ["team-b"])

    def test_3_backend_restart_loses_nothing(self):
        harness.wait_for(lambda: len(self.series()) == 2, 60, 0.5, "series before the restart")
        time.sleep(3)
        t_stop = time.time()
        self.recv.stop()
        time.sleep(8)
        self.recv.start()
        t_start = time.time()
        # Once the agent has retried, samples cover the outage without a gap.
        def caught_up():
            res = self.recv.query('%s{kind="a"}[60s]' % METRIC)
            return res and float(res[0]["values"][-1][0]) > t_start + 2 and res

        res = harness.wait_for(caught_up, 60, 0.5, "the agent to catch up")
        stamps = [float(t) for t, _ in res[0]["values"] if t_stop - 3 <= float(t) <= t_start + 2]
        self.assertGreater(len(stamps), 8)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        self.assertLess(max(gaps), 2.5, "a gap in the samples over the outage: %r" % stamps)
        # And the counter kept counting up by one per scrape through the outage.
        values = [float(v) for t, v in res[0]["values"]
                  if t_stop - 3 <= float(t) <= t_start + 2]
        self.assertEqual([b - a for a, b in zip(values, values[1:])],
                         [1.0] * (len(values) - 1))


if __name__ == "__main__":
    unittest.main()
