#!/usr/bin/env python3
"""The local profile's smoke checks (run.sh --smoke, CTest e2e:local_profile_smoke).

Runs against the processes run.sh started: every check runs, each prints `ok` or `FAIL` with
what it saw, and the exit status is 1 if any failed. Every request has a timeout and every wait
a deadline. Environment: GW, GW_TLS, ADMIN, PROM, LOKI, BAO0, STATE, TOKEN_CMD (run.sh).
"""

import json
import os
import re
import sys
import time
import urllib.parse

from side_by_side import get, http, log_lines, mtls_context, prom_series, token

GW_TLS = os.environ["GW_TLS"]
ADMIN = os.environ["ADMIN"]
PROM = os.environ["PROM"]
BAO0 = os.environ["BAO0"]
STATE = os.environ["STATE"]
GW = os.environ["GW"]

CHECKS = []
REFUSALS = []  # run last: a gateway that fails on a refusal still shows what else works


def check(fn):
    CHECKS.append(fn)
    return fn


def check_last(fn):
    REFUSALS.append(fn)
    return fn


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_until(fn, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        got = fn()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("after %d s: %s" % (seconds, what))
        time.sleep(0.5)


# --- identity -------------------------------------------------------------------------------

@check_last
def no_token_is_401_with_www_authenticate():
    status, headers, _ = get("/api/v1/query", query="up")
    expect(status == 401, "status %d" % status)
    expect(headers.get("www-authenticate", "").startswith("Bearer"),
           "WWW-Authenticate: %r" % headers.get("www-authenticate"))


@check_last
def forged_token_is_401_invalid_token():
    forged = token("tenant-a-reader")[:-4] + "AAAA"
    status, headers, _ = http("GET", GW + "/api/v1/query?query=up",
                              {"Authorization": "Bearer " + forged})
    expect(status == 401, "status %d" % status)
    expect('error="invalid_token"' in headers.get("www-authenticate", ""),
           "WWW-Authenticate: %r" % headers.get("www-authenticate"))


@check
def a_token_without_the_role_is_403():
    status, _, _ = get("/api/v1/query", "metrics-collector", query="up")
    expect(status == 403, "metrics-collector on the query API: %d" % status)


# --- metrics, per tenant -------------------------------------------------------------------

def only_namespace(client, ns):
    status, rows = prom_series(client, "up")
    expect(status == 200, "status %d: %s" % (status, rows))
    expect(rows, "no series")
    expect({r.get("namespace") for r in rows} == {ns},
           "namespaces %s" % sorted({str(r.get("namespace")) for r in rows}))
    return rows


@check
def tenant_a_sees_only_its_series_and_not_the_hidden_label():
    rows = only_namespace("tenant-a-reader", "team-a")
    expect(all("instance" not in r for r in rows), "instance label visible to team-a: %s" % rows)


@check
def tenant_b_sees_only_its_series():
    rows = only_namespace("tenant-b-reader", "team-b")
    expect(all("instance" in r for r in rows), "team-b lost the instance label: %s" % rows)


@check
def tenant_a_cannot_select_another_namespace():
    status, rows = prom_series("tenant-a-reader", 'up{namespace="team-b"} or up{job="platform"}')
    expect(status == 200 and rows == [], "status %d, %s" % (status, rows))
    status, _, body = get("/api/v1/label/namespace/values", "tenant-a-reader")
    expect(status == 200 and json.loads(body)["data"] == ["team-a"], "%d %s" % (status, body))


@check
def tenant_a_querying_by_a_hidden_label_is_400():
    status, rows = prom_series("tenant-a-reader", "sum by (instance) (up)")
    expect(status == 400, "status %d: %s" % (status, rows))


# --- logs, per tenant, audit apart ---------------------------------------------------------

@check
def tenant_a_logs_are_its_own_without_hidden_or_audit():
    status, rows = log_lines("tenant-a-reader", '{namespace=~".+"}')
    expect(status == 200 and rows, "status %d: %s" % (status, rows))
    expect({l.get("namespace") for l, _ in rows} == {"team-a"}, "streams %s" % rows)
    expect(all("client_ip" not in l for l, _ in rows), "hidden client_ip visible")
    expect(all(l.get("job") != "openbao-audit" for l, _ in rows), "audit stream visible")


@check
def tenant_b_logs_are_its_own():
    status, rows = log_lines("tenant-b-reader", '{app="api"}')
    expect(status == 200 and rows, "status %d: %s" % (status, rows))
    expect({l.get("namespace") for l, _ in rows} == {"team-b"}, "streams %s" % rows)


@check
def the_auditor_sees_audit_lines_and_tenant_a_does_not():
    status, rows = log_lines("auditor", '{job="openbao-audit"}')
    expect(status == 200, "auditor: status %d: %s" % (status, rows))
    expect(len(rows) >= 2 and all('"request"' in line for _, line in rows),
           "auditor got %s" % rows)
    status, rows = log_lines("tenant-a-reader", '{job="openbao-audit"}')
    expect(status == 200 and rows == [], "tenant A got audit lines: %d %s" % (status, rows))


# --- OpenBao ---------------------------------------------------------------------------------

def fanout(context=None, client=None, base=GW_TLS):
    return get("/openbao/nodes/metrics", client, base=base, context=context)


@check
def the_collector_certificate_gets_every_node_with_node_labels():
    status, _, body = fanout(mtls_context(STATE))
    expect(status == 200, "status %d: %s" % (status, body[:200]))
    for node in ("bao-0", "bao-1", "bao-2"):
        expect('openbao_node_up{node="%s"} 1' % node in body, "openbao_node_up of " + node)
    for node, st in (("bao-0", "active"), ("bao-1", "standby"), ("bao-2", "sealed")):
        expect('openbao_node_health_state{node="%s",state="%s"} 1' % (node, st) in body,
               "health state %s of %s" % (st, node))
    samples = [l for l in body.splitlines() if l.startswith("vault_core_unsealed")]
    expect(len(samples) == 3 and all('node="' in s for s in samples), "samples %s" % samples)


@check
def the_collector_token_works_too_and_others_are_refused():
    status, _, _ = fanout(client="metrics-collector", base=GW)
    expect(status == 200, "collector token: %d" % status)
    status, _, _ = fanout(client="tenant-a-reader", base=GW)
    expect(status == 403, "tenant A on OpenBao: %d" % status)


@check
def the_active_node_metrics_carry_obsgates_token_not_the_clients():
    status, _, body = get("/openbao/v1/sys/metrics", base=GW_TLS, context=mtls_context(STATE),
                          format="prometheus")
    expect(status == 200 and "vault_core_active 1" in body, "status %d: %s" % (status, body[:200]))
    _, _, recs = http("GET", BAO0 + "/__test/requests")
    metrics = [r for r in json.loads(recs) if r["path"] == "/v1/sys/metrics"]
    expect(metrics and metrics[-1].get("token_ok") is True, "bao-0 saw %s" % metrics[-1:])


@check
def prometheus_scrapes_the_fanout_and_obsgate_itself():
    # The jobs and alerts of deploy/prometheus/, rendered by render_prometheus.py.
    def up(job):
        _, _, body = http("GET", PROM + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": 'up{job="%s"} == 1' % job}))
        return json.loads(body)["data"]["result"]
    wait_until(lambda: up("openbao-all-nodes"), 40, "job openbao-all-nodes not up")
    wait_until(lambda: up("openbao-active"), 40, "job openbao-active not up")
    wait_until(lambda: up("obsgate"), 40, "job obsgate not up")
    _, _, body = http("GET", PROM + "/api/v1/rules?type=alert")
    names = {r["name"] for g in json.loads(body)["data"]["groups"] for r in g["rules"]}
    expect("ObsgateJwksRefreshFailing" in names and "ObsgateDown" in names,
           "the shipped alerts are not loaded: %s" % sorted(names))


# --- writes ----------------------------------------------------------------------------------

def push(client, labels, line):
    body = json.dumps({"streams": [{"stream": labels,
                                    "values": [[str(time.time_ns()), line]]}]}).encode()
    return http("POST", GW + "/loki/api/v1/push", {"Authorization": "Bearer " + token(client),
                                                    "Content-Type": "application/json"}, body)


@check_last
def tls_without_a_certificate_is_401_on_openbao():
    status, _, _ = fanout(mtls_context(STATE, with_cert=False))
    expect(status == 401, "TLS without a certificate: %d" % status)


@check
def a_writer_push_is_stamped_with_its_tenant():
    marker = "smoke-%d" % time.time_ns()
    status, _, body = push("tenant-a-writer", {"app": "smoke"}, marker)
    expect(status == 204, "push: %d %s" % (status, body))
    status, rows = log_lines("tenant-a-reader", '{app="smoke"}')
    expect(status == 200 and any(line == marker and l.get("namespace") == "team-a"
                                 for l, line in rows), "tenant A reads %s" % rows)
    status, rows = log_lines("tenant-b-reader", '{app="smoke"}')
    expect(status == 200 and rows == [], "tenant B reads %s" % rows)


@check
def writes_into_another_tenant_or_by_a_reader_are_refused():
    status, _, body = push("tenant-a-writer", {"app": "smoke", "namespace": "team-b"}, "x")
    expect(400 <= status < 500, "push into team-b: %d %s" % (status, body))
    status, _, body = push("tenant-a-reader", {"app": "smoke"}, "x")
    expect(status == 403, "reader push: %d %s" % (status, body))


# --- default deny, self-metrics ---------------------------------------------------------------

@check
def default_deny():
    status, _, _ = http("POST", GW + "/api/v1/admin/tsdb/snapshot")
    expect(status == 404, "admin API: %d" % status)
    status, _, _ = get("/api/v1/query", "tenant-a-reader", query="up", foo="1")
    expect(status == 400, "unknown parameter: %d" % status)


@check
def self_metrics_count_the_requests():
    _, _, body = http("GET", ADMIN + "/metrics")
    expect(re.search(r'obsgate_http_requests_total\{[^}]*route="prom-query"', body),
           "no obsgate_http_requests_total for prom-query")


def main():
    failed = 0
    for fn in CHECKS + REFUSALS:
        name = fn.__name__.replace("_", " ")
        try:
            fn()
            print("ok    " + name)
        except Exception as e:  # noqa: BLE001 (every failure is reported, then the next check)
            failed += 1
            print("FAIL  %s: %s" % (name, e))
    print("smoke: %d checks, %d failed" % (len(CHECKS) + len(REFUSALS), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
