#!/usr/bin/env python3
"""An OpenBao node double for obsgate's tests: /v1/sys/health and /v1/sys/metrics.

Usage: openbao_double.py --port N [--name NODE] [--state STATE] [--token TOKEN]
                         [--unauthenticated-metrics] [--cluster-name NAME] [--version V]
  --port 0 picks a free port; the first stdout line is "LISTENING <port>".
  STATE is one of active, standby, perfstandby, drsecondary, sealed, uninitialized.

See README.md in this folder for the full interface and the choices made.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from double_http import DoubleHandler, DoubleServer, add_common_args, serve  # noqa: E402

STATES = ("active", "standby", "perfstandby", "drsecondary", "sealed", "uninitialized")

# Go's strconv.ParseBool, which OpenBao's parseutil.ParseBool uses for strings.
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class BadParam(Exception):
    pass


def parse_go_bool(name, value):
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadParam('bad value for %s parameter: strconv.ParseBool: parsing "%s": invalid syntax'
                   % (name, value))


def health_status(state, params):
    """(status code, body dict fields that depend on state) for GET /v1/sys/health.

    params is a dict of the first value of each query parameter. Mirrors OpenBao's getSysHealth:
    uninitialised, then sealed, then DR secondary, then performance standby (perfstandbyok), then
    standby (standbyok; it does not apply to performance standbys)."""
    def code(name, default):
        if name not in params:
            return default
        try:
            return int(params[name])
        except ValueError:
            raise BadParam("bad value for %s parameter" % name)

    standby_ok = parse_go_bool("standbyok", params["standbyok"]) if "standbyok" in params \
        else False
    perf_ok = parse_go_bool("perfstandbyok", params["perfstandbyok"]) \
        if "perfstandbyok" in params else False
    active = code("activecode", 200)
    standby = code("standbycode", 429)
    dr = code("drsecondarycode", 472)
    perf = code("performancestandbycode", 473)
    sealed = code("sealedcode", 503)
    uninit = code("uninitcode", 501)
    if state == "uninitialized":
        return uninit
    if state == "sealed":
        return sealed
    if state == "drsecondary":
        return dr
    if state == "perfstandby":
        return active if perf_ok else perf
    if state == "standby":
        return active if standby_ok else standby
    return active


class BaoServer(DoubleServer):
    def __init__(self, args):
        super().__init__(args, BaoHandler)
        self.name = args.name
        self.state = args.state
        self.token = args.token
        self.unauth_metrics = args.unauthenticated_metrics
        self.cluster_name = args.cluster_name
        self.cluster_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, args.cluster_name))
        self.version = args.version
        self.started = time.time()
        self.metrics_served = 0
        self.state_lock = threading.Lock()
        self.metrics_append = ""
        self.metrics_replace = None
        if args.extra_metrics:
            with open(args.extra_metrics) as f:
                self.metrics_append = f.read()

    def health_body(self):
        state = self.state
        body = {
            "initialized": state != "uninitialized",
            "sealed": state in ("sealed", "uninitialized"),
            "standby": state in ("standby", "perfstandby", "sealed", "uninitialized"),
            "performance_standby": state == "perfstandby",
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "secondary" if state == "drsecondary" else "disabled",
            "server_time_utc": int(time.time()),
            "version": self.version,
        }
        if state not in ("sealed", "uninitialized"):
            body["cluster_name"] = self.cluster_name
            body["cluster_id"] = self.cluster_id
        return body


class BaoHandler(DoubleHandler):
    server_version = "obsgate-openbao-double"

    def reply_raw(self, status, data, ctype, headers=()):
        # OpenBao marks every API answer uncacheable.
        super().reply_raw(status, data, ctype, [("Cache-Control", "no-store")] + list(headers))

    def reply_empty(self, status, headers=()):
        super().reply_empty(status, [("Cache-Control", "no-store")] + list(headers))

    def handle_api(self, rec):
        srv = self.server
        path = self.api_path
        params = {}
        for k, v in self.query:
            params.setdefault(k, v)
        if path == "/v1/sys/health" and self.command in ("GET", "HEAD"):
            try:
                status = health_status(srv.state, params)
            except BadParam as e:
                self.reply_json(400, {"errors": [str(e)]})
                return
            if status < 100 or status > 999:
                # Go's WriteHeader panics on such a code: the server drops the connection.
                self.server.set_status(rec, "closed")
                self._drop()
                return
            if status < 200:
                status = 200  # Go sends 1xx as informational, then an implicit 200
            if self.command == "HEAD":
                self.reply_empty(status)
            else:
                self.reply_json(status, srv.health_body())
            return
        if path == "/v1/sys/metrics" and self.command == "GET":
            self._metrics(rec, params)
            return
        if path.startswith("/v1/"):
            self.reply_json(404, {"errors": []})
            return
        self.reply_text(404, "404 page not found\n")

    def _token(self):
        tok = self.headers.get("X-Vault-Token")
        if tok:
            return tok
        auth = self.headers.get("Authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None

    def _metrics(self, rec, params):
        srv = self.server
        state = srv.state
        token = self._token()
        rec["token_ok"] = token is not None and token == srv.token
        if not srv.unauth_metrics:
            if state in ("sealed", "uninitialized"):
                self.reply_json(503, {"errors": ["Vault is sealed"]})
                return
            if state == "standby":
                # A standby cannot check a token (no token store): local-only request refused.
                self.reply_json(400, {"errors": ["cannot forward local-only request"]})
                return
            if not rec["token_ok"]:
                self.reply_json(403, {"errors": ["permission denied"]})
                return
        fmt = params.get("format", "")
        with srv.state_lock:
            srv.metrics_served += 1
        if fmt == "prometheus":
            with srv.state_lock:
                text = srv.metrics_replace
                extra = srv.metrics_append
            if text is None:
                text = prometheus_text(srv) + extra
            self.reply_raw(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self.reply_json(200, json_metrics(srv))

    def control(self, path, query, body):
        srv = self.server
        if path == "/__test/state" and self.command == "POST":
            try:
                state = json.loads(body or b"{}").get("state")
            except (ValueError, AttributeError):
                state = None
            if state not in STATES:
                self.reply_json(400, {"error": "state must be one of %s" % (STATES,)})
                return True
            srv.state = state
            self.reply_json(200, {"state": state})
            return True
        if path == "/__test/metrics" and self.command == "POST":
            try:
                doc = json.loads(body or b"{}")
                append, replace = doc.get("append", ""), doc.get("replace")
                if not isinstance(append, str) or not (replace is None or
                                                        isinstance(replace, str)):
                    raise ValueError()
            except (ValueError, AttributeError):
                self.reply_json(400, {"error": 'want {"append": text} or {"replace": text}'})
                return True
            with srv.state_lock:
                srv.metrics_append, srv.metrics_replace = append, replace
            self.reply_json(200, {"append": append, "replace": replace})
            return True
        if path == "/__test/state" and self.command == "GET":
            self.reply_json(200, {"state": srv.state, "name": srv.name})
            return True
        return False


def _metric_values(srv):
    state = srv.state
    unsealed = state not in ("sealed", "uninitialized")
    active = state == "active"
    up = time.time() - srv.started
    return unsealed, active, up


def prometheus_text(srv):
    """Prometheus text exposition shaped like OpenBao's (go-metrics' Prometheus sink)."""
    unsealed, active, up = _metric_values(srv)
    served = srv.metrics_served
    out = []

    def fam(name, typ, help_text, samples):
        out.append("# HELP %s %s" % (name, help_text))
        out.append("# TYPE %s %s" % (name, typ))
        for labels, value in samples:
            lbl = ""
            if labels:
                lbl = "{" + ",".join('%s="%s"' % (k, _esc(v)) for k, v in labels) + "}"
            out.append("%s%s %s" % (name, lbl, _num(value)))

    fam("go_gc_duration_seconds", "summary",
        "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.",
        [([("quantile", "0")], 4.1e-05), ([("quantile", "0.25")], 6.3e-05),
         ([("quantile", "0.5")], 0.000118), ([("quantile", "0.75")], 0.000201),
         ([("quantile", "1")], 0.00123)])
    out.append("go_gc_duration_seconds_sum 0.0127")
    out.append("go_gc_duration_seconds_count 61")
    fam("go_goroutines", "gauge", "Number of goroutines that currently exist.", [([], 87)])
    fam("go_info", "gauge", "Information about the Go environment.",
        [([("version", "go1.23.4")], 1)])
    fam("go_memstats_alloc_bytes", "gauge",
        "Number of bytes allocated in heap and currently in use.", [([], 2.1544e+07)])
    fam("process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.", [([], int(srv.started))])
    fam("vault_autopilot_node_healthy", "gauge", "vault_autopilot_node_healthy",
        [([("node_id", srv.name)], 1 if unsealed else 0)])
    fam("vault_core_active", "gauge", "vault_core_active", [([], 1 if active else 0)])
    fam("vault_core_handle_request", "summary", "vault_core_handle_request",
        [([("quantile", "0.5")], 0.1357), ([("quantile", "0.9")], 0.2711),
         ([("quantile", "0.99")], 0.2711)])
    out.append("vault_core_handle_request_sum %s" % _num(12.5 + served))
    out.append("vault_core_handle_request_count %d" % (40 + served))
    fam("vault_core_in_flight_requests", "gauge", "vault_core_in_flight_requests", [([], 1)])
    fam("vault_core_unsealed", "gauge", "vault_core_unsealed", [([], 1 if unsealed else 0)])
    fam("vault_raft_apply", "counter", "vault_raft_apply", [([], 128)])
    fam("vault_raft_commitTime", "summary", "vault_raft_commitTime",
        [([("quantile", "0.5")], 1.02), ([("quantile", "0.9")], 2.4),
         ([("quantile", "0.99")], 2.4)])
    out.append("vault_raft_commitTime_sum 133.1")
    out.append("vault_raft_commitTime_count 128")
    fam("vault_raft_peers", "gauge", "vault_raft_peers", [([], 3)])
    fam("vault_raft_state_leader", "counter", "vault_raft_state_leader",
        [([], 1 if active else 0)])
    fam("vault_runtime_alloc_bytes", "gauge", "vault_runtime_alloc_bytes", [([], 2.1544e+07)])
    fam("vault_runtime_num_goroutines", "gauge", "vault_runtime_num_goroutines", [([], 87)])
    fam("vault_runtime_total_gc_runs", "gauge", "vault_runtime_total_gc_runs", [([], 61)])
    fam("vault_uptime_seconds", "gauge", "vault_uptime_seconds", [([], round(up, 3))])
    return "\n".join(out) + "\n"


def json_metrics(srv):
    """The default (JSON) format: go-metrics' InmemSink DisplayMetrics summary."""
    unsealed, active, up = _metric_values(srv)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime())
    gauges = [
        {"Name": "vault.autopilot.node.healthy", "Value": 1 if unsealed else 0,
         "Labels": {"node_id": srv.name}},
        {"Name": "vault.core.active", "Value": 1 if active else 0, "Labels": {}},
        {"Name": "vault.core.unsealed", "Value": 1 if unsealed else 0, "Labels": {}},
        {"Name": "vault.raft.peers", "Value": 3, "Labels": {}},
        {"Name": "vault.runtime.num_goroutines", "Value": 87, "Labels": {}},
        {"Name": "vault.uptime_seconds", "Value": round(up, 3), "Labels": {}},
    ]
    counters = [{"Name": "vault.raft.apply", "Count": 128, "Rate": 12.8, "Sum": 128, "Min": 1,
                 "Max": 1, "Mean": 1, "Stddev": 0, "Labels": {}}]
    samples = [{"Name": "vault.core.handle_request", "Count": 40, "Rate": 0.5, "Sum": 12.5,
                "Min": 0.05, "Max": 0.9, "Mean": 0.3125, "Stddev": 0.2, "Labels": {}}]
    return {"Timestamp": stamp, "Gauges": gauges, "Points": [], "Counters": counters,
            "Samples": samples}


def _esc(v):
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def _num(v):
    if isinstance(v, int):
        return str(v)
    return repr(float(v))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--name", default="bao-0")
    ap.add_argument("--state", choices=STATES, default="active")
    ap.add_argument("--token", default="s.test-metrics-token")
    ap.add_argument("--unauthenticated-metrics", action="store_true")
    ap.add_argument("--cluster-name", default="obsgate-test")
    ap.add_argument("--version", default="2.4.1")
    ap.add_argument("--extra-metrics", help="a file of Prometheus text appended to the metrics")
    args = ap.parse_args(argv)
    serve(BaoServer(args))


if __name__ == "__main__":
    main()
