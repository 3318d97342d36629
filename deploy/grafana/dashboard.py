#!/usr/bin/env python3
"""Writes dashboards/obsgate.json, the dashboard for obsgate's own metrics.

The panels are listed once, compactly, in PANELS below; this script lays them out and writes the
Grafana JSON. Edit PANELS and run it; deploy:test_grafana fails when the JSON is out of date,
and deploy:test_dashboard_metrics checks every query against a running obsgate (each metric name
must appear in a real scrape; each expression must parse with obsgate's own PromQL parser).

    python3 deploy/grafana/dashboard.py           # rewrite dashboards/obsgate.json
    python3 deploy/grafana/dashboard.py --check   # exit 1 if it is out of date

Standard library only.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "dashboards", "obsgate.json")

# Every query selects the replicas chosen in the $job and $instance variables.
S = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"

# (title, kind, unit, width, [(expr, legend)], description). kind: timeseries | stat.
# A row is ("row", title).
PANELS = [
    ("row", "Traffic"),
    ("Requests by route", "timeseries", "reqps", 12,
     [(f"sum by (route) (rate(obsgate_http_requests_total{{{S}}}[{RATE}]))", "{{route}}")],
     "Requests answered per second, by route (local replies included)."),
    ("Responses by status", "timeseries", "reqps", 12,
     [(f"sum by (code) (rate(obsgate_http_requests_total{{{S}}}[{RATE}]))", "{{code}}")],
     "Responses per second by HTTP status code."),
    ("5xx ratio", "stat", "percentunit", 6,
     [(f'sum(rate(obsgate_http_requests_total{{{S}, code=~"5.."}}[{RATE}])) / '
       f"sum(rate(obsgate_http_requests_total{{{S}}}[{RATE}]))", "5xx")],
     "Share of responses with a 5xx status (alert: ObsgateHighErrorRate)."),
    ("Open client connections", "timeseries", "short", 18,
     [(f"sum by (instance, listener) (obsgate_open_connections{{{S}}})",
       "{{instance}} {{listener}}")],
     "Client connections currently open, per replica and listener."),
    ("row", "Latency: gateway and upstream"),
    ("p99 latency, gateway vs upstream", "timeseries", "s", 12,
     [(f"histogram_quantile(0.99, sum by (le, component) "
       f"(rate(obsgate_http_request_duration_seconds_bucket{{{S}}}[{RATE}])))", "{{component}}")],
     "component=gateway is obsgate's own time (parsing, authentication, rewriting); "
     "component=upstream is the wait on the backend; total is both."),
    ("p50 latency, gateway vs upstream", "timeseries", "s", 12,
     [(f"histogram_quantile(0.5, sum by (le, component) "
       f"(rate(obsgate_http_request_duration_seconds_bucket{{{S}}}[{RATE}])))", "{{component}}")],
     "Median latency by component."),
    ("p99 total latency by route", "timeseries", "s", 24,
     [(f"histogram_quantile(0.99, sum by (le, route) "
       f'(rate(obsgate_http_request_duration_seconds_bucket{{{S}, component="total"}}[{RATE}])))',
       "{{route}}")],
     "End-to-end latency per route."),
    ("row", "Denials and local replies"),
    ("Local replies by reason", "timeseries", "reqps", 24,
     [(f"sum by (reason) (rate(obsgate_local_replies_total{{{S}}}[{RATE}]))", "{{reason}}")],
     "Requests obsgate answered itself: denied (no route, method, parameter, identity, scope), "
     "malformed, over a limit, or upstream failures. The reason is the access log's detail."),
    ("row", "Authentication"),
    ("Authentication decisions", "timeseries", "reqps", 12,
     [(f"sum by (result, reason) (rate(obsgate_authn_total{{{S}}}[{RATE}]))",
       "{{result}} {{reason}}")],
     "One decision per request on routes with auth: required: allowed by token or "
     "certificate, or denied with the precise reason (the client only sees a coarse one)."),
    ("Verified-token cache hit ratio", "stat", "percentunit", 12,
     [(f'sum(rate(obsgate_token_cache_total{{{S}, result="hit"}}[{RATE}])) / '
       f"sum(rate(obsgate_token_cache_total{{{S}}}[{RATE}]))", "hit ratio")],
     "Share of token checks answered from the per-replica cache instead of a signature check."),
    ("row", "Query enforcement"),
    ("Prometheus API requests by outcome", "timeseries", "reqps", 12,
     [(f"sum by (endpoint, result) (rate(obsgate_prometheus_requests_total{{{S}}}[{RATE}]))",
       "{{endpoint}} {{result}}")],
     "Requests through the prometheus enforcer, one outcome each."),
    ("Rewrite errors", "timeseries", "reqps", 12,
     [(f"sum by (api, reason) (rate(obsgate_rewrite_errors_total{{{S}}}[{RATE}]))",
       "{{api}} {{reason}}")],
     "Queries and responses obsgate refused to rewrite (hidden labels, out-of-scope "
     "selectors, unparseable queries)."),
    ("row", "Upstreams"),
    ("Upstream errors", "timeseries", "reqps", 12,
     [(f"sum by (upstream, kind) (rate(obsgate_upstream_errors_total{{{S}}}[{RATE}]))",
       "{{upstream}} {{kind}}")],
     "Failed exchanges with backends by kind (connect, connect_timeout, response_timeout, "
     "reset, protocol, tls)."),
    ("Upstream connections, new vs reused", "timeseries", "ops", 12,
     [(f"sum by (upstream, result) (rate(obsgate_upstream_connections_total{{{S}}}[{RATE}]))",
       "{{upstream}} {{result}}")],
     "Connections taken from the per-worker pools (reused) or opened (new)."),
    ("row", "Configuration"),
    ("Last reload succeeded", "stat", "bool_yes_no", 6,
     [(f"min(obsgate_config_last_reload_success{{{S}}})", "all replicas")],
     "0 on any replica means it rejected its new file and still serves the previous one "
     "(alert: ObsgateConfigReloadFailed)."),
    ("Reloads", "timeseries", "short", 9,
     [(f"sum by (result) (increase(obsgate_config_reloads_total{{{S}}}[$__range]))",
       "{{result}}")],
     "Configuration reloads (SIGHUP) in the selected range, by result."),
    ("Versions", "stat", "short", 9,
     [(f"count by (version) (obsgate_build_info{{{S}}})", "{{version}}")],
     "Replicas per obsgate version (a rollout shows two)."),
]


def _panel(pid, spec, x, y):
    title, kind, unit, width, targets, description = spec
    panel = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
                "range": True,
            }
            for i, (expr, legend) in enumerate(targets)
        ],
    }
    if kind == "timeseries":
        panel["options"] = {"legend": {"displayMode": "table", "placement": "right"},
                            "tooltip": {"mode": "multi"}}
    else:
        panel["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    return panel


def build():
    panels, x, y, pid = [], 0, 0, 1
    for spec in PANELS:
        if spec[0] == "row":
            if x:
                x, y = 0, y + 8
            panels.append({"id": pid, "type": "row", "title": spec[1], "collapsed": False,
                           "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
            y += 1
        else:
            if x + spec[3] > 24:
                x, y = 0, y + 8
            panels.append(_panel(pid, spec, x, y))
            x += spec[3]
        pid += 1
    variable = {"type": "query", "refresh": 2, "includeAll": True, "multi": True,
                "allValue": ".+", "current": {"text": "All", "value": "$__all"},
                "datasource": {"type": "prometheus", "uid": "${datasource}"}}
    return {
        "uid": "obsgate-overview",
        "title": "obsgate",
        "description": "obsgate's own metrics: traffic, latency split gateway/upstream, "
                       "denials, authentication, query enforcement, upstreams, "
                       "configuration.",
        "tags": ["obsgate"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}},
            dict(variable, name="job", label="Job",
                 query="label_values(obsgate_build_info, job)",
                 current={"text": "obsgate", "value": "obsgate"}, includeAll=False,
                 multi=False),
            dict(variable, name="instance", label="Replica",
                 query='label_values(obsgate_build_info{job=~"$job"}, instance)'),
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def render():
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        with open(TARGET, encoding="utf-8") as f:
            if json.load(f) != json.loads(text):
                print("%s is out of date: run %s" % (TARGET, __file__), file=sys.stderr)
                return 1
        return 0
    with open(TARGET, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
