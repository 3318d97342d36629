"""Ingest through obsgate: Prometheus remote-write (enforcer: remote_write) into a recording
receiver, and Loki push (enforcer: loki_push) into the Loki double (tests/doubles, multi-tenant).

Every test asserts what the backend received as well as what the client got: pushes are
stamped with the writer's tenant, X-Scope-OrgID comes from the tenant (a client's value never
passes), pushes into another tenant or into audit streams are refused and nothing reaches the
backend, and the backend's 5xx / 429 (with Retry-After) and 4xx reach the client as they are.

Tokens are minted by obsgate_mint_token (tests/tools/). Remote-write bodies are built with a
small protobuf encoder below and the double's independent snappy compressor.
"""

import http.server
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
import unittest

from harness import REPO_ROOT, GatewayTestCase, TokenIssuer, base_config, free_port, wait_for

sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "doubles"))
from launch import LokiDouble  # noqa: E402
from push_encoder import push_request, snappy_compress  # noqa: E402
from wire import iter_fields, snappy_decompress  # noqa: E402

ISSUER = "https://idp.test/ingest"
AUDIENCE = "obsgate"
ORG_A = "org-a"
V1 = "application/x-protobuf"
V2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request"

ENV = None


class Env(TokenIssuer):
    """The writers' identity provider; token() takes the groups claim."""

    def __init__(self):
        super().__init__(ISSUER, AUDIENCE, prefix="obsgate-it-ingest-")

    def token(self, groups=(), sub="writer"):
        return super().token(sub=sub, groups=list(groups))


def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    if ENV is not None:
        ENV.close()


# --------------------------------------------------------------------------------------------
# Remote-write 1.0 on the wire (prometheus WriteRequest), encoded and decoded by hand.


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def write_request(series):
    """series: [(labels [(name, value)], [(value, timestamp_ms)])] -> snappy body."""
    body = b""
    for labels, samples in series:
        ts = b""
        for name, value in labels:
            ts += _field(1, _field(1, name.encode()) + _field(2, value.encode()))
        for value, stamp in samples:
            ts += _field(2, _varint(1 << 3 | 1) + struct.pack("<d", value) +
                         _varint(2 << 3 | 0) + _varint(stamp))
        body += _field(1, ts)
    return snappy_compress(body)


def decode_write(body):
    """snappy WriteRequest -> [(labels [(name, value)], [(value, timestamp_ms)])]."""
    out = []
    for num, _, ts in iter_fields(snappy_decompress(body)):
        if num != 1:
            continue
        labels, samples = [], []
        for fnum, _, v in iter_fields(ts):
            if fnum == 1:
                kv = {n: x.decode() for n, _, x in iter_fields(v)}
                labels.append((kv.get(1, ""), kv.get(2, "")))
            elif fnum == 2:
                s = {n: x for n, _, x in iter_fields(v)}
                samples.append((struct.unpack("<d", s.get(1, 0).to_bytes(8, "little"))[0],
                                s.get(2, 0)))
        out.append((labels, samples))
    return out


class Receiver:
    """A recording remote-write receiver: keeps every request (path, headers, body) and answers
    with a settable status and headers (204 by default)."""

    def __init__(self):
        self.records = []
        self.status = 204
        self.headers = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server naming)
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.records.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                    status, extra = outer.status, list(outer.headers)
                msg = b"" if status == 204 else b"receiver says %d\n" % status
                self.send_response(status)
                for k, v in extra:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def requests(self):
        with self.lock:
            return list(self.records)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def gateway_config(loki_url, rw_url):
    ups = [
        {"name": "loki", "url": loki_url, "api": "loki",
         "tenant_header": {"name": "X-Scope-OrgID", "values": {"team-a": ORG_A}}},
        {"name": "rw", "url": rw_url, "api": "prometheus",
         "tenant_header": {"name": "X-Scope-OrgID", "values": {"team-a": ORG_A}}},
    ]
    routes = [
        {"name": "push", "methods": ["POST"], "path": "/loki/api/v1/push", "upstream": "loki",
         "enforcer": "loki_push"},
        {"name": "write", "methods": ["POST"], "path": "/api/v1/write", "upstream": "rw",
         "enforcer": "remote_write"},
    ]
    cfg = base_config(free_port(), free_port(), ups, routes)
    cfg["identity"] = {"providers": [{
        "name": "local", "issuer": ISSUER, "audiences": [AUDIENCE],
        "keys": {"jwks_file": ENV.path("jwks.json")},
        "mapping": {
            "tenants": [{"claim": "groups", "values": {"/team-a": ["team-a"],
                                                       "/team-b": ["team-b"]}}],
            "roles": [{"claim": "groups", "values": {"/admins": ["platform-admin"]}}],
        }}]}
    write_a = {"tenant_label": "tenant", "rules": ['{namespace=~"team-a.*"}'],
               "forbidden_labels": ["user_id"]}
    write_b = {"tenant_label": "tenant", "forbidden_labels": ["user_id"],
               "on_violation": "drop"}
    cfg["tenants"] = {
        "unrestricted_roles": ["platform-admin"],
        "audit": {"streams": ['{stream="audit"}'], "auditor_roles": ["auditor"],
                  "shipper": {"issuer": ISSUER, "subject": "audit-shipper"}},
        "tenants": [
            {"name": "team-a", "logs": {"rules": ['{namespace="team-a"}']}, "write": write_a},
            {"name": "team-b", "logs": {"rules": ['{namespace="team-b"}']}, "write": write_b},
        ],
    }
    return cfg


NS = 1_700_000_000_000_000_000


def json_push(*streams):
    return json.dumps({"streams": [{"stream": labels, "values": [[str(NS + i), line]
                                                                  for i, line in enumerate(lines)]}
                                   for labels, lines in streams]}).encode()


class IngestTest(GatewayTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="obsgate-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.loki = LokiDouble(multi_tenant=True)
        self.addCleanup(self.loki.stop)
        self.rw = Receiver()
        self.addCleanup(self.rw.stop)
        self.gw = self.start_gateway(gateway_config(self.loki.url, self.rw.url))
        self.tok_a = ENV.token(groups=["/team-a"])
        self.tok_b = ENV.token(groups=["/team-b"])

    def post(self, path, body, token, headers=None):
        h = {"Authorization": "Bearer " + token}
        h.update(headers or {})
        return self.gw.request("POST", path, body=body, headers=h)

    def push(self, body, token, ctype="application/json", **headers):
        h = {"Content-Type": ctype}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        return self.post("/loki/api/v1/push", body, token, h)

    def write(self, series, token, ctype=V1, **headers):
        h = {"Content-Type": ctype, "Content-Encoding": "snappy",
             "X-Prometheus-Remote-Write-Version": "0.1.0"}
        h.update({k.replace("_", "-"): v for k, v in headers.items()})
        return self.post("/api/v1/write", write_request(series), token, h)

    def refused(self, resp, status, text=None):
        st, _, body = resp
        self.assertEqual(st, status, body)
        if text:
            message = body.decode()
            try:  # remote-write errors are in Prometheus's JSON error format
                message = json.loads(message).get("error", message)
            except (ValueError, AttributeError):
                pass  # Loki's are plain text
            self.assertIn(text, message)
        time.sleep(0.2)  # anything forwarded would have arrived by now (local sockets)
        self.assertEqual(self.loki.pushes(), [], "a refused push reached Loki")
        self.assertEqual(self.rw.requests(), [], "a refused write reached the receiver")

    # -- Loki push

    def test_json_push_is_stamped_and_sent_as_the_tenant(self):
        st, _, body = self.push(json_push(({"app": "api", "namespace": "team-a"}, ["l1", "l2"])),
                                self.tok_a, X_Scope_OrgID="team-b")  # spoofed: must not pass
        self.assertEqual(st, 204, body)
        push = wait_for(self.loki.pushes, what="push at the double")[-1]
        self.assertEqual([s["stream"] for s in push["streams"]],
                         [{"app": "api", "namespace": "team-a", "tenant": "team-a"}])
        self.assertEqual([e["line"] for e in push["streams"][0]["entries"]], ["l1", "l2"])
        self.assertEqual([e["ts"] for e in push["streams"][0]["entries"]],
                         [str(NS), str(NS + 1)])
        rec = self.loki.requests("/loki/api/v1/push")[-1]
        self.assertEqual(rec["tenant"], ORG_A)

    def test_protobuf_push_keeps_entries_and_metadata(self):
        raw = push_request([('{app="api", namespace="team-a-dev"}',
                             [(NS, "line one", [("trace_id", "abc")])])])
        st, _, body = self.push(snappy_compress(raw), self.tok_a, "application/x-protobuf")
        self.assertEqual(st, 204, body)
        push = wait_for(self.loki.pushes, what="push at the double")[-1]
        self.assertEqual(push["format"], "protobuf")
        s = push["streams"][0]
        self.assertEqual(s["stream"], {"app": "api", "namespace": "team-a-dev", "tenant": "team-a"})
        self.assertEqual(s["entries"], [{"ts": str(NS), "line": "line one",
                                         "structured_metadata": {"trace_id": "abc"}}])

    def test_push_into_another_tenant_is_refused(self):
        self.refused(self.push(json_push(({"namespace": "team-a", "tenant": "team-b"}, ["x"])),
                               self.tok_a), 403, "team-b")
        self.refused(self.push(json_push(({"namespace": "team-a"}, ["x"])), self.tok_a,
                               X_Obsgate_Tenant="team-b"), 403)
        # team-b (drop mode) naming team-a in a label: the stream is dropped, nothing is sent
        # as team-a.
        st, _, _ = self.push(json_push(({"namespace": "x", "tenant": "team-a"}, ["x"]),
                                       ({"namespace": "x"}, ["kept"])), self.tok_b)
        self.assertEqual(st, 204)
        push = wait_for(self.loki.pushes, what="push at the double")[-1]
        self.assertEqual([s["stream"] for s in push["streams"]],
                         [{"namespace": "x", "tenant": "team-b"}])
        self.assertEqual(self.loki.requests("/loki/api/v1/push")[-1]["tenant"], "team-b")

    def test_audit_streams_only_from_the_shipper(self):
        audit = json_push(({"namespace": "team-a", "stream": "audit"}, ["AUDIT read"]))
        self.refused(self.push(audit, self.tok_a), 403, "audit")
        shipper = ENV.token(groups=["/team-a"], sub="audit-shipper")
        st, _, body = self.push(audit, shipper)
        self.assertEqual(st, 204, body)
        push = wait_for(self.loki.pushes, what="push at the double")[-1]
        self.assertEqual(push["streams"][0]["stream"]["stream"], "audit")

    def test_unknown_body_type_and_no_token(self):
        self.refused(self.push(b"hello", self.tok_a, "text/plain"), 415)
        self.refused(self.gw.request("POST", "/loki/api/v1/push", body=b"{}",
                                     headers={"Content-Type": "application/json"}), 401)

    # -- Remote-write

    def test_write_is_stamped_and_forwarded(self):
        series = [([("__name__", "up"), ("job", "api"), ("namespace", "team-a")],
                   [(1.0, 1700000000000), (0.0, 1700000015000)])]
        st, _, body = self.write(series, self.tok_a, X_Scope_OrgID="evil")
        self.assertEqual(st, 204, body)
        rec = self.rw.requests()[-1]
        self.assertEqual(rec["headers"].get("X-Scope-OrgID"), ORG_A)
        self.assertEqual(rec["headers"].get("Content-Encoding"), "snappy")
        self.assertEqual(rec["headers"].get("X-Prometheus-Remote-Write-Version"), "0.1.0")
        self.assertNotIn("Authorization", rec["headers"])
        self.assertEqual(decode_write(rec["body"]),
                         [([("__name__", "up"), ("job", "api"), ("namespace", "team-a"),
                            ("tenant", "team-a")],
                           [(1.0, 1700000000000), (0.0, 1700000015000)])])
        wait_for(lambda: self.gw.metric("obsgate_ingest_samples_total", api="remote_write",
                                        tenant="team-a", result="accepted", reason="ok") == 2,
                 what="accepted samples counted")

    def test_writer_for_b_cannot_write_into_a(self):
        into_a = [([("__name__", "up"), ("namespace", "team-a"), ("tenant", "team-a")],
                   [(1.0, 1700000000000)])]
        # team-b drops the series (its violation mode): nothing labelled team-a is forwarded.
        st, _, _ = self.write(into_a, self.tok_b)
        self.assertEqual(st, 204)
        for rec in self.rw.requests():
            for labels, _ in decode_write(rec["body"]):
                self.assertNotIn(("tenant", "team-a"), labels)
        self.rw.records.clear()
        self.refused(self.write(into_a, self.tok_b, X_Obsgate_Tenant="team-a"), 403)
        # team-a (reject mode) refuses another tenant's label with a message naming it.
        self.refused(self.write([([("__name__", "up"), ("namespace", "team-a"),
                                   ("tenant", "team-b")], [(1.0, 1)])], self.tok_a),
                     403, 'tenant="team-b"')

    def test_unrestricted_roles_do_not_grant_writes(self):
        # authz::Policy::write decides for both routes: an admin writes as its own tenants only.
        series = [([("__name__", "up"), ("namespace", "team-a")], [(1.0, 1)])]
        stream = json_push(({"namespace": "team-a"}, ["x"]))
        admin = ENV.token(groups=["/admins"])
        self.refused(self.write(series, admin), 403, "no write policy")
        self.refused(self.write(series, admin, X_Obsgate_Tenant="team-a"), 403,
                     "may not write as tenant 'team-a'")
        self.refused(self.push(stream, admin, X_Obsgate_Tenant="team-a"), 403,
                     "may not write as tenant 'team-a'")
        admin_a = ENV.token(groups=["/admins", "/team-a"])
        self.refused(self.write(series, admin_a, X_Obsgate_Tenant="team-b"), 403,
                     "may not write as tenant 'team-b'")
        st, _, body = self.write(series, admin_a)
        self.assertEqual(st, 204, body)
        rec = wait_for(self.rw.requests, what="write at the receiver")[-1]
        self.assertEqual(rec["headers"].get("X-Scope-OrgID"), ORG_A)
        self.assertIn(("tenant", "team-a"), decode_write(rec["body"])[0][0])

    def test_remote_write_2_is_415_naming_1_0(self):
        self.refused(self.write([([("__name__", "up")], [(1.0, 1)])], self.tok_a, V2), 415,
                     "remote-write 1.0")

    def test_backend_answers_reach_the_client(self):
        series = [([("__name__", "up"), ("namespace", "team-a")], [(1.0, 1)])]
        for status, retry in ((503, "7"), (429, "3"), (500, None), (400, None)):
            with self.subTest(status=status):
                self.rw.status = status
                self.rw.headers = [("Retry-After", retry)] if retry else []
                st, headers, _ = self.write(series, self.tok_a)
                self.assertEqual(st, status)
                self.assertEqual(headers.get("retry-after"), retry)
        self.assertEqual(self.gw.metric("obsgate_ingest_series_total", api="remote_write",
                                        tenant="team-a", result="backend_error",
                                        reason="backend_5xx"), 2)

    def test_backend_down_is_502(self):
        self.rw.stop()
        st, _, _ = self.write([([("__name__", "up"), ("namespace", "team-a")], [(1.0, 1)])],
                              self.tok_a)
        self.assertIn(st, (502, 504))


if __name__ == "__main__":
    unittest.main()
