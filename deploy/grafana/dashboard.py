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

# (title, kind, unit, width, [(expr, legend)], description[, options]). kind: timeseries | stat;
# options are merged into the panel's options.
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
    ("Denied authentications by reason", "timeseries", "reqps", 24,
     [(f'sum by (reason) (rate(obsgate_authn_total{{{S}, result="deny"}}[{RATE}]))',
       "{{reason}}")],
     "Refusals only: no_credentials and insufficient_role are usually clients; a rise of "
     "unknown_kid, bad_signature or keys_unavailable points at the identity provider's keys "
     "(alerts: ObsgateJwksRefreshFailing, ObsgateJwksNoKeys); expired at token lifetimes or "
     "clocks."),
    ("row", "Identity providers: key sets"),
    ("Key-set refreshes by provider", "timeseries", "short", 12,
     [(f"sum by (provider, result) (increase(obsgate_jwks_refresh_total{{{S}}}[1h]))",
       "{{provider}} {{result}}")],
     "JWK Set fetches per provider over the last hour, by result (ok, fetch_error, timeout, "
     "invalid), summed over replicas: each replica fetches on its own "
     "(alert: ObsgateJwksRefreshFailing)."),
    ("Usable keys per provider", "stat", "short", 6,
     [(f"min by (provider) (obsgate_jwks_keys{{{S}}})", "{{provider}}")],
     "Keys in each provider's current set, lowest over replicas; a provider whose keys never "
     "loaded on a replica has no value there (alert: ObsgateJwksNoKeys)."),
    ("Key-set age", "stat", "s", 6,
     [(f"time() - min by (provider) (obsgate_jwks_last_success_timestamp_seconds{{{S}}})",
       "{{provider}}")],
     "Time since the oldest successful key-set load over replicas, per provider. Keys are "
     "refreshed within the provider's refresh bounds (default 10m, max-age clamped to 1m..24h)."),
    ("row", "Query enforcement"),
    ("Prometheus API requests by outcome", "timeseries", "reqps", 12,
     [(f"sum by (endpoint, result) (rate(obsgate_prometheus_requests_total{{{S}}}[{RATE}]))",
       "{{endpoint}} {{result}}")],
     "Requests through the prometheus enforcer, one outcome each."),
    ("Loki API requests by outcome", "timeseries", "reqps", 12,
     [(f"sum by (endpoint, result) (rate(obsgate_loki_requests_total{{{S}}}[{RATE}]))",
       "{{endpoint}} {{result}}")],
     "Requests through the loki and loki_tail enforcers, one outcome each (fanout: a log "
     "query run once per scope rule and merged)."),
    ("Rewrite errors", "timeseries", "reqps", 24,
     [(f"sum by (api, reason) (rate(obsgate_rewrite_errors_total{{{S}}}[{RATE}]))",
       "{{api}} {{reason}}")],
     "Queries and responses obsgate refused to rewrite (hidden labels, out-of-scope "
     "selectors, unparseable queries)."),
    ("row", "Ingest: remote write and Loki push"),
    ("Series and streams written, by result", "timeseries", "ops", 12,
     [(f"sum by (api, result) (rate(obsgate_ingest_series_total{{{S}}}[{RATE}]))",
       "{{api}} {{result}}")],
     "Series (remote write) and streams (Loki push) per second: accepted (stored), dropped or "
     "rejected by the write policy, backend_error (forwarded, not stored) "
     "(alerts: ObsgateIngestRejectionsSpike, ObsgateIngestBackendErrors)."),
    ("Rejected and dropped by tenant and reason", "timeseries", "ops", 12,
     [(f"sum by (api, tenant, reason) (rate(obsgate_ingest_series_total"
       f'{{{S}, result=~"rejected|dropped"}}[{RATE}]))', "{{api}} {{tenant}} {{reason}}")],
     "What the write policy refused, per tenant: tenant_mismatch, out_of_scope, "
     "forbidden_label, audit_stream, limit, schema, ... The decision log names the series."),
    ("Samples and entries accepted per tenant", "timeseries", "ops", 12,
     [(f'sum by (api, tenant) (rate(obsgate_ingest_samples_total{{{S}, result="accepted"}}'
       f"[{RATE}]))", "{{api}} {{tenant}}")],
     "Samples (remote write) and log entries (Loki push) the backends stored, per tenant."),
    ("Write request size, p99", "timeseries", "bytes", 12,
     [(f"histogram_quantile(0.99, sum by (le, api) "
       f"(rate(obsgate_ingest_request_bytes_bucket{{{S}}}[{RATE}])))", "{{api}}")],
     "Request bodies as received (compressed). Near server.limits.max_buffered_body_bytes "
     "means writers will soon get 413."),
    ("row", "OpenBao"),
    ("OpenBao node health", "stat", "none", 12,
     [(f"max by (node, state) (obsgate_openbao_node_health_state{{{S}}}) == 1",
       "{{node}}: {{state}}")],
     "Each node's last health as obsgate's checks saw it (active, standby, perf_standby, "
     "dr_secondary, sealed, uninitialized, unreachable, unknown); a node shown twice is seen "
     "differently by two replicas (alerts: ObsgateOpenBaoNodeDown, "
     "ObsgateOpenBaoNoActiveNode).",
     {"textMode": "name", "colorMode": "none"}),
    ("Active-node lookups", "timeseries", "ops", 12,
     [(f"sum by (result) (rate(obsgate_openbao_active_lookups_total{{{S}}}[{RATE}]))",
       "{{result}}")],
     "Health sweeps for the active node: found, or none (no node answered as active)."),
    ("OpenBao scrapes by node and result", "timeseries", "ops", 12,
     [(f"sum by (node, result) (rate(obsgate_openbao_scrapes_total{{{S}}}[{RATE}]))",
       "{{node}} {{result}}")],
     "Metrics requests obsgate sent to each node for the collectors: ok, timeout, unreachable, "
     "bad_status (a refused token on the active node), invalid, too_large "
     "(alert: ObsgateOpenBaoScrapesFailing)."),
    ("Metrics-token file reads", "stat", "short", 12,
     [(f"sum by (result) (increase(obsgate_openbao_token_reloads_total{{{S}}}[$__range]))",
       "{{result}}")],
     "Reads of openbao.token_file after it changed, in the selected range; any error means "
     "scrapes needing the token fail (alert: ObsgateOpenBaoTokenUnreadable)."),
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
    title, kind, unit, width, targets, description = spec[:6]
    extra_options = spec[6] if len(spec) > 6 else {}
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
    panel["options"].update(extra_options)
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
                       "denials, authentication and identity-provider key sets, query "
                       "enforcement, ingest, OpenBao, upstreams, configuration.",
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
