#!/usr/bin/env python3
"""Writes the seed corpus for the response fuzz target (run from this folder).

Each seed is one selector byte (low nibble: entry point, high nibble: merge limit - 1; see
fuzz.cpp) followed by an upstream body shaped like the Prometheus and Loki API docs' examples.
Merge seeds hold several bodies separated by NUL bytes.
"""
import json
import os

QUERY, EXEMPLARS, SERIES, LABELS, VALUES = 0, 1, 2, 3, 4
LOKI_QUERY, LOKI_SERIES, LOKI_LABELS = 5, 6, 7
RULES_EQ, RULES_NEQ, ALERTS, METADATA, MERGE_FWD, MERGE_BWD, TEXT = 8, 9, 10, 11, 12, 13, 14


def env(data, **extra):
    d = {"status": "success", "data": data}
    d.update(extra)
    return json.dumps(d)


SEEDS = {
    "vector": (QUERY, env({"resultType": "vector", "result": [
        {"metric": {"__name__": "up", "job": "prometheus", "instance": "localhost:9090"},
         "value": [1435781451.781, "1"]},
        {"metric": {"__name__": "up", "job": "node", "instance": "localhost:9100"},
         "value": [1435781451.781, "0"]}]})),
    "matrix": (QUERY, env({"resultType": "matrix", "result": [
        {"metric": {"__name__": "up", "job": "prometheus", "secret": "s"},
         "values": [[1435781430.781, "1"], [1435781445.781, "1"]]}]},
        warnings=["w"], infos=["i"])),
    "matrix_dup": (QUERY, env({"resultType": "matrix", "result": [
        {"metric": {"job": "a", "instance": "1"}, "values": [[1, "1"]]},
        {"metric": {"job": "a", "instance": "2"}, "values": [[1, "2"]]}]})),
    "scalar": (QUERY, env({"resultType": "scalar", "result": [1700000000.123, "42"]})),
    "string": (QUERY, env({"resultType": "string", "result": [1, "hello"]})),
    "histogram": (QUERY, env({"resultType": "vector", "result": [
        {"metric": {"__name__": "rpc_seconds", "instance": "a"},
         "histogram": [1700000000.123, {"count": "2", "sum": "0.5",
                                        "buckets": [[0, "-0.25", "0.25", "1"]]}]}]})),
    "stats": (QUERY, env({"resultType": "vector", "result": [], "stats": {
        "timings": {"evalTotalTime": 0.000312, "execQueueTime": 3.4e-06},
        "samples": {"totalQueryableSamples": 12, "peakSamples": 3}}})),
    "error": (QUERY, json.dumps({"status": "error", "errorType": "bad_data", "error": "x"})),
    "exemplars": (EXEMPLARS, env([
        {"seriesLabels": {"__name__": "m", "instance": "a", "job": "p"},
         "exemplars": [{"labels": {"trace_id": "EpTxMJ40fUus7aGY"}, "value": "6",
                        "timestamp": 1600096945.479}]},
        {"seriesLabels": {"__name__": "m", "instance": "b", "job": "p"},
         "exemplars": [{"labels": {"trace_id": "x", "secret": "y"}, "value": "19",
                        "timestamp": 1600096955.479}]}])),
    "series": (SERIES, env([{"__name__": "up", "job": "prometheus", "instance": "h:1"},
                            {"__name__": "up", "job": "prometheus", "instance": "h:2"}])),
    "labels": (LABELS, env(["__name__", "instance", "job", "secret"])),
    "label_values": (VALUES, env(["node", "prometheus"])),
    "loki_streams": (LOKI_QUERY, env({"resultType": "streams", "result": [
        {"stream": {"foo": "bar", "level": "info", "instance": "i"},
         "values": [["1568234281726420425", "foo"], ["1568234269716526880", "bar \"q\""]]}],
        "stats": {"summary": {"execTime": 0.001234, "totalBytesProcessed": 4096}}})),
    "loki_categorized": (LOKI_QUERY, env({"resultType": "streams",
                                          "encodingFlags": ["categorize-labels"], "result": [
        {"stream": {"app": "api"}, "values": [
            ["1700000000000000001", "GET /", {"structuredMetadata": {"secret": "1"},
                                              "parsed": {"method": "GET"}}]]}]})),
    "loki_vector": (LOKI_QUERY, env({"resultType": "vector", "result": [
        {"metric": {"level": "info"}, "value": [1588889221, "1267.1266666666666"]}]})),
    "loki_matrix": (LOKI_QUERY, env({"resultType": "matrix", "result": [
        {"metric": {"level": "info", "instance": "x"}, "values": [[1588889221, "137.95"]]}]})),
    "loki_series": (LOKI_SERIES, env([{"app": "loki", "instance": "loki-0"}, {"app": "g"}])),
    "loki_labels": (LOKI_LABELS, env(["app", "instance", "stream"])),
    "metadata": (METADATA, env({"up": [{"type": "gauge", "help": "up", "unit": ""}],
                                "secret_total": [{"type": "counter", "help": "", "unit": ""}]})),
}

ALERT_A = {"activeAt": "2018-07-04T20:27:12.60602144+02:00", "annotations": {"summary": "High"},
           "labels": {"alertname": "A", "tenant": "a", "instance": "h"}, "state": "firing",
           "value": "1e+00"}
ALERT_B = {"activeAt": "2018-07-04T20:27:12.60602144+02:00", "annotations": {},
           "labels": {"alertname": "A", "tenant": "b"}, "state": "pending", "value": "2e+00"}
RULES = env({"groups": [
    {"name": "example", "file": "/rules.yaml", "interval": 60, "limit": 0,
     "evaluationTime": 1.5e-05, "rules": [
         {"type": "alerting", "name": "A", "query": "up == 0", "duration": 600, "health": "ok",
          "labels": {"tenant": "a", "severity": "page"}, "annotations": {},
          "alerts": [ALERT_A, ALERT_B], "evaluationTime": 0.000312},
         {"type": "recording", "name": "r", "query": "sum(up)", "health": "ok",
          "labels": {"tenant": "b"}},
         {"type": "recording", "name": "n", "query": "sum(x)", "health": "ok"}]},
    {"name": "b-only", "rules": [{"type": "recording", "name": "r", "query": "q",
                                  "labels": {"tenant": "b"}}]}], "groupNextToken": "t"})
SEEDS["rules_eq"] = (RULES_EQ, RULES)
SEEDS["rules_neq"] = (RULES_NEQ, RULES)
SEEDS["alerts"] = (ALERTS, env({"alerts": [ALERT_A, ALERT_B]}))
# Annotations rendered from hidden labels, and rule labels templated from them.
ALERT_RENDERED = {"activeAt": "2024-01-01T00:00:00Z", "state": "firing", "value": "3e+00",
                  "annotations": {"summary": "10.0.0.7 is slow",
                                  "runbook": "https://rb/?ip=10%2E0%2E0%2E7"},
                  "labels": {"alertname": "Slow", "tenant": "a", "instance": "10.0.0.7",
                             "src": "from 10.0.0.7", "secret": "s3", "who": "s3!"}}
ALERT_CLEAN = {"activeAt": "2024-01-01T00:00:00Z", "state": "firing", "value": "1e+00",
               "annotations": {"summary": "api is slow"},
               "labels": {"alertname": "Slow", "tenant": "c1", "instance": ""}}
SEEDS["alerts_annotations"] = (ALERTS, env({"alerts": [ALERT_RENDERED, ALERT_CLEAN,
                                                        dict(ALERT_RENDERED, annotations=None)]}))
SEEDS["rules_annotations"] = (RULES_EQ, env({"groups": [{"name": "g", "rules": [
    {"type": "alerting", "name": "Slow", "query": "rate(x[5m]) > 1", "health": "err",
     "lastError": "vector contains metrics with the same labelset after applying alert "
                  "labels: {instance=\"10.0.0.7\"}",
     "labels": {"tenant": "a", "src": "{{ $labels.instance }}"},
     "annotations": {"summary": "{{ $labels.instance }} is slow"},
     "alerts": [ALERT_RENDERED, ALERT_CLEAN]},
    {"type": "recording", "name": "r", "query": "sum(x)", "health": "err",
     "lastError": "bad instances_total", "labels": {"tenant": "a"}}]}]}))
SEEDS["metadata_families"] = (METADATA | (2 << 4), env({
    "h": [{"type": "histogram", "help": "latency", "unit": "seconds"}],
    "a": [{"type": "counter", "help": "OpenMetrics counter family", "unit": ""}],
    "up_": [{"type": "gauge", "help": "", "unit": ""}]}))


def streams(result, stats=None):
    data = {"resultType": "streams", "result": result}
    if stats is not None:
        data["stats"] = stats
    return env(data)


A = {"stream": {"app": "a"}, "values": [["5", "a5"], ["3", "a3"], ["1", "a1"]]}
B = {"stream": {"app": "b", "instance": "x"}, "values": [["6", "b6"], ["4", "b4"], ["2", "b2"]]}
A2 = {"stream": {"app": "a"}, "values": [["3", "a3"], ["2", "x"]]}
STATS = {"summary": {"totalBytesProcessed": 100, "execTime": 0.5, "totalEntriesReturned": 3}}
MERGES = {
    "merge_two": (MERGE_FWD | (2 << 4), [streams([A], STATS), streams([B], STATS)]),
    "merge_overlap": (MERGE_BWD | (15 << 4), [streams([A]), streams([A2, B])]),
    "merge_error": (MERGE_FWD, [streams([A]), json.dumps(
        {"status": "error", "errorType": "bad_data", "error": "parse error"})]),
}

TEXTS = {
    "federate": "# HELP http_requests_total The total.\n# TYPE http_requests_total counter\n"
                "http_requests_total{method=\"post\",code=\"200\",instance=\"h:1\"} 1027 "
                "1395066363000\nup{instance=\"h:1\"} 1\nmetric_without_labels 12.47\n",
    "escapes": "a{path=\"C:\\\\DIR\\\\F.TXT\",e=\"x:\\n\\\"F\\\"\",secret=\"s\"} 1.4e9\n",
    "special": "a{x=\"1\",} +Inf\nb{ x = \"2\" } NaN\nc -Inf -5\n",
    "dup": "up{job=\"a\",instance=\"1\"} 1\nup{job=\"a\",instance=\"2\"} 0\n",
}


def main():
    os.makedirs("corpus", exist_ok=True)
    for name, (sel, body) in SEEDS.items():
        with open(os.path.join("corpus", name + ".seed"), "wb") as f:
            f.write(bytes([sel]) + body.encode())
    for name, (sel, bodies) in MERGES.items():
        with open(os.path.join("corpus", name + ".seed"), "wb") as f:
            f.write(bytes([sel]) + b"\0".join(b.encode() for b in bodies))
    for name, body in TEXTS.items():
        with open(os.path.join("corpus", name + ".seed"), "wb") as f:
            f.write(bytes([TEXT]) + body.encode())
    # Malformed bodies, each through a JSON entry point.
    bad = ["", "<html>502</html>", "{\"status\":\"success\",\"data\":[", "[]",
           "{\"status\":\"success\",\"data\":[],\"data\":[{\"instance\":\"x\"}]}",
           "{\"status\":\"success\",\"data\":" + "[" * 80 + "]" * 80 + "}"]
    for i, body in enumerate(bad):
        with open(os.path.join("corpus", "bad_%d.seed" % i), "wb") as f:
            f.write(bytes([i % 12]) + body.encode())


if __name__ == "__main__":
    main()
