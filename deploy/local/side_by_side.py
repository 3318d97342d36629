#!/usr/bin/env python3
"""The local profile's view: the same queries through obsgate as tenant A, tenant B and the
auditor, printed in three columns. Also the HTTP and token helpers smoke.py uses.

Environment (set by run.sh): GW (obsgate's plain listener), TOKEN_CMD (idp/get-token.sh),
IDP_URL. Standard library only.
"""

import json
import os
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request

GW = os.environ.get("GW", "http://127.0.0.1:19080")
TOKEN_CMD = os.environ.get("TOKEN_CMD", os.path.join(os.path.dirname(__file__), "idp",
                                                     "get-token.sh"))
IDENTITIES = (("tenant A", "tenant-a-reader"), ("tenant B", "tenant-b-reader"),
              ("auditor", "auditor"))
_tokens = {}


def token(client):
    """An access token for the IdP client (cached: tokens live 10 minutes)."""
    if client not in _tokens:
        out = subprocess.run([TOKEN_CMD, client], capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError("get-token.sh %s: %s" % (client, out.stderr.strip()))
        _tokens[client] = out.stdout.strip()
    return _tokens[client]


def http(method, url, headers=None, data=None, context=None, timeout=10):
    """(status, headers dict with lower-case names, body text); never raises on HTTP errors."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def get(path, client=None, base=GW, context=None, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    headers = {"Authorization": "Bearer " + token(client)} if client else {}
    return http("GET", url, headers, context=context)


def mtls_context(state, with_cert=True):
    ctx = ssl.create_default_context(cafile=os.path.join(state, "tls", "ca.crt"))
    if with_cert:
        ctx.load_cert_chain(os.path.join(state, "tls", "collector.crt"),
                            os.path.join(state, "tls", "collector.key"))
    return ctx


def prom_series(client, query):
    """(status, [metric label dicts with the value under "="]) of an instant query."""
    status, _, body = get("/api/v1/query", client, query=query)
    if status != 200:
        return status, body
    return status, [dict(r["metric"], **{"=": r["value"][1]})
                    for r in json.loads(body)["data"]["result"]]


def log_lines(client, query, limit=50):
    """(status, [(stream labels, line)]) of a range query over the last hour."""
    status, _, body = get("/loki/api/v1/query_range", client, query=query, limit=str(limit),
                          since="1h")
    if status != 200:
        return status, body
    out = []
    for stream in json.loads(body)["data"]["result"]:
        out.extend((stream["stream"], v[1]) for v in stream["values"])
    return status, out


def _cells_prom(result):
    status, rows = result
    if status != 200:
        return ["HTTP %d" % status, rows.strip()[:120]]
    if not rows:
        return ["(no series)"]
    shown = lambda k: k not in ("=", "__name__", "cluster")  # noqa: E731
    return ["{%s} %s" % (",".join("%s=%s" % (k, v) for k, v in sorted(r.items()) if shown(k)),
                         r["="]) for r in rows]


def _cells_logs(result):
    status, rows = result
    if status != 200:
        return ["HTTP %d" % status, rows.strip()[:120]]
    if not rows:
        return ["(no lines)"]
    return ["%s/%s: %s" % (labels.get("namespace", "?"),
                           labels.get("job") or labels.get("app", "?"), line)
            for labels, line in rows]


def columns(title, cells_per_identity, width=40):
    print("\n" + title)
    print("  ".join(name.ljust(width) for name, _ in IDENTITIES))
    print("  ".join("-" * width for _ in IDENTITIES))
    for i in range(max(len(c) for c in cells_per_identity)):
        row = []
        for cells in cells_per_identity:
            text = cells[i] if i < len(cells) else ""
            row.append((text[:width - 1] + "~") if len(text) > width else text.ljust(width))
        print("  ".join(row).rstrip())


def main():
    queries = [
        ("PromQL  sum by (namespace, job, instance) (up)", _cells_prom, prom_series,
         "sum by (namespace, job, instance) (up)"),
        ("PromQL  up", _cells_prom, prom_series, "up"),
        ('LogQL   {namespace=~".+"}', _cells_logs, log_lines, '{namespace=~".+"}'),
        ('LogQL   {job="openbao-audit"}', _cells_logs, log_lines, '{job="openbao-audit"}'),
    ]
    print("The same queries through obsgate, as three identities:")
    for title, cells, run, query in queries:
        columns(title, [cells(run(client, query)) for _, client in IDENTITIES])


if __name__ == "__main__":
    main()
