#!/usr/bin/env python3
"""A Loki double for obsgate's tests: queries, metadata, tail (WebSocket) and push.

Usage: loki_double.py --port N [--data SEED.json] [--multi-tenant] [--verbose]
  --port 0 picks a free port; the first stdout line is "LISTENING <port>".

See README.md in this folder for the interface, the seed format and what is recorded.
"""

import argparse
import gzip
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse
import zlib
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import logql_lite as lq  # noqa: E402
import websocket as ws  # noqa: E402
from double_http import DoubleHandler, DoubleServer, add_common_args, serve  # noqa: E402
from wire import WireError, decode_push_proto, parse_label_string, snappy_decompress  # noqa

NS = 1_000_000_000
SINGLE_TENANT = "fake"
DEFAULT_SINCE = 3600 * NS  # queries, stats, volume, patterns, tail
METADATA_SINCE = 6 * 3600 * NS  # labels, label values, series, detected_* (as Loki's docs say)
MAX_POINTS = 11000
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class ApiError(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status
        self.text = text


def bad(text):
    return ApiError(400, text)


# ---------------------------------------------------------------------------------------------
# Time parameters (loghttp/params.go)


def parse_timestamp(value, default):
    """Loki's parseTimestamp: float seconds if it has a '.', else an integer (seconds if at most
    10 digits, else nanoseconds), else RFC3339(Nano)."""
    if value is None or value == "":
        return default
    if "." in value:
        try:
            f = float(value)
            if not math.isfinite(f):
                raise bad('cannot parse "%s" to a valid timestamp' % value)
            s = math.floor(f)
            frac = round((f - s) * 1000) / 1000
            return int(s) * NS + int(round(frac * NS))
        except ValueError:
            pass
    try:
        n = int(value)
        return n * NS if len(value) <= 10 else n
    except ValueError:
        pass
    ts = parse_rfc3339(value)
    if ts is None:
        raise bad('cannot parse "%s" to a valid timestamp' % value)
    return ts


def parse_rfc3339(value):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", value)
    if not m:
        return None
    base, frac, tz = m.groups()
    tz = "+00:00" if tz == "Z" else tz
    try:
        dt = datetime.fromisoformat(base + tz)
    except ValueError:
        return None
    ns = int((frac or ".0")[1:].ljust(9, "0"))
    return int(dt.timestamp()) * NS + ns


def parse_step(value, start, end):
    if value is None or value == "":
        return max(int((end - start) / NS / 250), 1) * NS
    d = lq.parse_duration(value)
    if d is None:
        try:
            f = float(value)
            if not math.isfinite(f):
                raise ValueError()
            d = int(f * NS)
        except ValueError:
            raise bad('cannot parse "%s" to a valid duration' % value)
    return d


def ts_json(t):
    """A sample timestamp as Loki writes it: seconds, with a fraction only if there is one."""
    if t % NS == 0:
        return t // NS
    return round(t / NS, 3)


def label_string(labels):
    return "{" + ", ".join('%s="%s"' % (k, json.dumps(v)[1:-1])
                           for k, v in sorted(labels.items())) + "}"


# ---------------------------------------------------------------------------------------------
# Storage


class Store:
    """Streams per tenant, and the live tails that want new entries."""

    def __init__(self, started_ns):
        self.lock = threading.Lock()
        self.tenants = {}
        self.tails = []
        self.started = started_ns
        self.seed = None
        self.deletes = {}  # tenant -> [delete request]
        self.delete_seq = 0
        self.rules = {}  # tenant -> {namespace: {group name: YAML text}}

    def streams(self, tenants):
        """Snapshots of the streams of one or more tenants (pushes may go on meanwhile); with
        several tenants, each stream carries __tenant_id__."""
        with self.lock:
            out = []
            for t in tenants:
                for s in self.tenants.get(t, {}).values():
                    labels = dict(s.labels)
                    if len(tenants) > 1:
                        labels["__tenant_id__"] = t
                    c = lq.Stream(labels)
                    c.ts, c.entries = list(s.ts), list(s.entries)
                    out.append(c)
            return out

    def add(self, tenant, labels, entries):
        with self.lock:
            streams = self.tenants.setdefault(tenant, {})
            key = tuple(sorted(labels.items()))
            s = streams.get(key)
            if s is None:
                s = streams[key] = lq.Stream(labels)
            for ts, line, meta in entries:
                s.add(ts, line, meta)
            tails = [t for t in self.tails if t.tenant == tenant]
        for t in tails:
            t.offer(s, entries)

    def clear(self):
        with self.lock:
            self.tenants = {}

    def dump(self):
        with self.lock:
            out = {}
            for tenant, streams in self.tenants.items():
                out[tenant] = [{"labels": s.labels,
                                "entries": [[str(ts), line, meta] for ts, line, meta in s.entries]}
                               for s in streams.values()]
            return out

    def load_seed(self, seed, multi):
        self.seed = seed
        if isinstance(seed, dict) and "tenants" in seed:
            tenants = seed["tenants"]
        elif isinstance(seed, list):
            tenants = {SINGLE_TENANT: seed}
        else:
            raise ValueError("seed must be a list of streams or {\"tenants\": {...}}")
        if not multi and set(tenants) - {SINGLE_TENANT}:
            merged = []
            for v in tenants.values():
                merged += v
            tenants = {SINGLE_TENANT: merged}
        for tenant, streams in tenants.items():
            for st in streams:
                labels = st.get("labels") or st.get("stream")
                if not isinstance(labels, dict) or not labels:
                    raise ValueError("every seed stream needs a non-empty labels object")
                entries = []
                for e in st.get("entries") or st.get("values") or []:
                    meta = e[2] if len(e) > 2 else {}
                    entries.append((self.seed_ts(e[0]), str(e[1]), meta))
                entries.sort(key=lambda e: e[0])  # stable: equal times keep the seed's order
                self.add(tenant, {str(k): str(v) for k, v in labels.items()}, entries)

    def seed_ts(self, v):
        """A seed timestamp: ns (int or string), or "now", "now-5m", "now+1s" (from startup)."""
        if isinstance(v, int):
            return v
        v = str(v)
        if v.startswith("now"):
            rest = v[3:]
            if not rest:
                return self.started
            d = lq.parse_duration(rest.lstrip("+"))
            if d is None:
                raise ValueError("bad relative seed timestamp %r" % v)
            return self.started + d
        return int(v)


class Tail:
    """One live tail: new entries matching its query are queued for the WebSocket thread."""

    def __init__(self, tenant, expr):
        self.tenant = tenant
        self.expr = expr
        self.cond = threading.Condition()
        self.queue = []

    def offer(self, stream, entries):
        if not self.expr.selector.matches(stream.labels):
            return
        picked = []
        for ts, line, meta in entries:
            st = self.expr.process(ts, stream.labels, meta, line)
            if st is not None:
                picked.append((ts, st))
        if picked:
            with self.cond:
                self.queue.extend(picked)
                self.cond.notify_all()

    def take(self):
        with self.cond:
            out, self.queue = self.queue, []
            return out


# ---------------------------------------------------------------------------------------------
# Response shapes


def stats_json(scanned_lines, scanned_bytes, returned, post_filter, streams):
    chunk = {"headChunkBytes": 0, "headChunkLines": 0, "decompressedBytes": scanned_bytes,
             "decompressedLines": scanned_lines, "compressedBytes": scanned_bytes // 4,
             "totalDuplicates": 0, "postFilterLines": post_filter,
             "headChunkStructuredMetadataBytes": 0, "decompressedStructuredMetadataBytes": 0}
    store = {"totalChunksRef": streams, "totalChunksDownloaded": streams,
             "chunksDownloadTime": 0, "queryReferencedStructuredMetadata": False,
             "chunk": chunk, "chunkRefsFetchTime": 0, "congestionControlLatency": 0,
             "pipelineWrapperFilteredLines": 0}
    exec_time = 0.001
    return {
        "summary": {"bytesProcessedPerSecond": int(scanned_bytes / exec_time),
                    "linesProcessedPerSecond": int(scanned_lines / exec_time),
                    "totalBytesProcessed": scanned_bytes, "totalLinesProcessed": scanned_lines,
                    "execTime": exec_time, "queueTime": 0, "subqueries": 0,
                    "totalEntriesReturned": returned, "splits": 0, "shards": 0,
                    "totalPostFilterLines": post_filter,
                    "totalStructuredMetadataBytesProcessed": 0},
        "querier": {"store": store},
        "ingester": {"totalReached": 1, "totalChunksMatched": streams, "totalBatches": 1,
                     "totalLinesSent": returned, "store": store},
    }


def streams_json(picked, categorize):
    """Entries [(ts, State)] grouped into Loki's streams result."""
    groups = {}
    for ts, st in picked:
        labels = st.stream if categorize else st.labels()
        key = tuple(sorted(labels.items()))
        g = groups.setdefault(key, {"stream": dict(labels), "values": []})
        value = [str(ts), st.line]
        if categorize and (st.meta or st.parsed):
            extra = {}
            if st.meta:
                extra["structuredMetadata"] = dict(st.meta)
            if st.parsed:
                extra["parsed"] = dict(st.parsed)
            value.append(extra)
        g["values"].append(value)
    return [groups[k] for k in sorted(groups)]


def entry_key(ts, st):
    return ts, st.line, tuple(sorted(st.labels().items()))


# ---------------------------------------------------------------------------------------------
# Handler


class LokiServer(DoubleServer):
    def __init__(self, args):
        super().__init__(args, LokiHandler)
        self.multi = args.multi_tenant
        self.max_entries = args.max_entries_limit
        self.gzip_responses = args.gzip_responses
        self.store = Store(time.time_ns())
        self.tails_active = 0
        self.tails_total = 0
        if args.data:
            with open(args.data) as f:
                self.store.load_seed(json.load(f), self.multi)

    def reset_state(self):
        pass  # recordings only: the stored streams stay (POST /__test/clear-streams drops them)


class LokiHandler(DoubleHandler):
    server_version = "obsgate-loki-double"

    # -- plumbing

    def params(self):
        """Loki's r.Form: the form body's values first (POST), then the URL's."""
        pairs = []
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if self.command == "POST" and ctype == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"),
                                           keep_blank_values=True)
            self.rec["form"] = [list(p) for p in pairs]
        pairs = pairs + list(self.query)
        self.rec["params"] = [list(p) for p in pairs]
        return pairs

    def tenants(self):
        org = self.headers.get("X-Scope-OrgID")
        self.rec["tenant"] = org
        if not self.server.multi:
            return [SINGLE_TENANT]
        if not org:
            raise ApiError(401, "no org id")
        return org.split("|")

    def fail(self, e):
        self.reply_text(e.status, e.text + "\n")

    def ok(self, data):
        body = json.dumps(data, separators=(",", ":")).encode()
        headers = []
        if self.server.gzip_responses:
            headers.append(("Vary", "Accept-Encoding"))
            accept = [t.split(";")[0].strip().lower()
                      for t in (self.headers.get("Accept-Encoding") or "").split(",")]
            if "gzip" in accept:
                body = gzip.compress(body)
                headers.append(("Content-Encoding", "gzip"))
        self.reply_raw(200, body, "application/json; charset=UTF-8", headers)

    def handle_api(self, rec):
        path = self.api_path
        try:
            if path == "/ready":
                self.reply_text(200, "ready\n")
                return
            if path == "/loki/api/v1/status/buildinfo":
                self.ok({"version": "3.4.2", "revision": "double", "branch": "HEAD",
                         "buildUser": "", "buildDate": "", "goVersion": "go1.23.4"})
                return
            if path == "/loki/api/v1/rules" or path.startswith("/loki/api/v1/rules/"):
                self.q_rules(path[len("/loki/api/v1/rules"):])
                return
            route = ROUTES.get(path)
            name_arg = None
            if route is None:
                for prefix, handler in PREFIX_ROUTES:
                    if path.startswith(prefix) and path.endswith(handler[0]):
                        name_arg = urllib.parse.unquote(path[len(prefix):-len(handler[0])])
                        if name_arg and "/" not in name_arg:
                            route = handler[1:]
                            break
            if route is None:
                self.reply_text(404, "404 page not found\n")
                return
            methods, fn = route
            if self.command not in methods:
                self.reply_raw(405, b"", None)
                return
            pairs = self.params()
            tenants = self.tenants()
            p = {}
            for k, v in pairs:
                p.setdefault(k, v)
            if name_arg is not None:
                fn(self, tenants, p, pairs, name_arg)
            else:
                fn(self, tenants, p, pairs)
        except ApiError as e:
            self.fail(e)
        except lq.LogQLError as e:
            self.fail(bad(str(e)))

    # -- bounds

    def bounds(self, p, default_since=DEFAULT_SINCE):
        now = time.time_ns()
        end = parse_timestamp(p.get("end"), now)
        since = default_since
        if p.get("since"):
            d = lq.parse_duration(p["since"])
            if d is None:
                raise bad('cannot parse "%s" to a valid duration' % p["since"])
            since = d
        start = parse_timestamp(p.get("start"), min(end, now) - since)
        if end < start:
            raise bad("end timestamp must not be before or equal to start time")
        return start, end

    def limit(self, p, default=100):
        v = p.get("limit")
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise bad('cannot parse "%s" to a valid limit' % v)
        if n <= 0:
            raise bad("limit must be a positive value")
        return n

    def direction(self, p):
        d = (p.get("direction") or "backward").lower()
        if d not in ("forward", "backward"):
            raise bad("invalid direction '%s'" % p.get("direction"))
        return d

    def categorize(self):
        flags = self.headers.get("X-Loki-Response-Encoding-Flags") or ""
        return "categorize-labels" in [f.strip() for f in flags.split(",")]

    # -- queries

    def q_query(self, tenants, p, pairs):
        expr = lq.parse_expr(p.get("query", ""))
        if not lq.is_metric(expr):
            raise bad("log queries are not supported as an instant query type, please change "
                      "your query to a range query type")
        self.limit(p)
        self.direction(p)
        t = parse_timestamp(p.get("time"), time.time_ns())
        streams = self.server.store.streams(tenants)
        kind, res = lq.eval_at(expr, streams, t)
        self.ok({"status": "success", "data": {"resultType": kind,
                                                "result": self.metric_json(kind, res, t),
                                                "stats": stats_json(0, 0, 0, 0, len(streams))}})

    def metric_json(self, kind, res, t=None):
        if kind == "scalar":
            return [ts_json(t), lq.fmt_value(res)]
        if kind == "vector":
            return [{"metric": labels, "value": [ts_json(t), lq.fmt_value(v)]}
                    for labels, v in sorted(res, key=lambda x: sorted(x[0].items()))]
        return [{"metric": labels, "values": [[ts_json(ts), lq.fmt_value(v)] for ts, v in vals]}
                for labels, vals in sorted(res, key=lambda x: sorted(x[0].items()))]

    def q_query_range(self, tenants, p, pairs):
        expr = lq.parse_expr(p.get("query", ""))
        start, end = self.bounds(p)
        limit = self.limit(p)
        direction = self.direction(p)
        streams = self.server.store.streams(tenants)
        if lq.is_metric(expr):
            step = parse_step(p.get("step"), start, end)
            if step <= 0:
                raise bad("zero or negative query resolution step widths are not accepted. "
                          "Try a positive integer")
            if (end - start) // step > MAX_POINTS:
                raise bad("exceeded maximum resolution of 11,000 points per timeseries. Try "
                          "decreasing the query resolution (?step=XX)")
            kind, res = lq.eval_range(expr, streams, start, end, step)
            self.ok({"status": "success",
                     "data": {"resultType": kind, "result": self.metric_json(kind, res),
                              "stats": stats_json(0, 0, 0, 0, len(streams))}})
            return
        if limit > self.server.max_entries:
            raise bad("max entries limit per query exceeded, limit > max_entries_limit_per_query"
                      " (%d > %d)" % (limit, self.server.max_entries))
        picked, scanned, scanned_bytes = lq.eval_log(expr, streams, start, end, limit,
                                                     direction)
        cat = self.categorize()
        data = {"resultType": "streams", "result": streams_json(picked, cat),
                "stats": stats_json(scanned, scanned_bytes, len(picked), len(picked),
                                    len(streams))}
        if cat:
            data["encodingFlags"] = ["categorize-labels"]
        self.ok({"status": "success", "data": data})

    # -- metadata

    def selected(self, tenants, p, start, end, validate=True, key="query"):
        """Streams matching the optional selector in p[key] with entries in [start, end)."""
        streams = self.server.store.streams(tenants)
        q = p.get(key)
        if q:
            sel = lq.parse_matchers(q, validate)
            streams = lq.select(sel, streams)
        else:
            sel = None
        return [s for s in streams if s.window(start, end)], sel

    def q_labels(self, tenants, p, pairs):
        start, end = self.bounds(p, METADATA_SINCE)
        streams, _ = self.selected(tenants, p, start, end)
        names = sorted({k for s in streams for k in s.labels})
        self.ok({"status": "success", "data": names})

    def q_label_values(self, tenants, p, pairs, name):
        start, end = self.bounds(p, METADATA_SINCE)
        streams, _ = self.selected(tenants, p, start, end)
        values = sorted({s.labels[name] for s in streams if name in s.labels})
        self.ok({"status": "success", "data": values})

    def q_series(self, tenants, p, pairs):
        start, end = self.bounds(p, METADATA_SINCE)
        groups = [v for k, v in pairs if k in ("match[]", "match")]
        if not groups:
            raise bad("0 matcher groups supplied")
        all_streams = [s for s in self.server.store.streams(tenants) if s.window(start, end)]
        if groups == ["{}"]:
            hits = all_streams
        else:
            sels = []
            for g in groups:
                sel = lq.parse_matchers(g, validate=False)
                if not sel.matchers:
                    raise bad("parse error : " + lq.EMPTY_COMPAT)
                sels.append(sel)
            hits = [s for s in all_streams if any(sel.matches(s.labels) for sel in sels)]
        seen = {}
        for s in hits:
            seen.setdefault(s.key, s.labels)
        self.ok({"status": "success", "data": [seen[k] for k in sorted(seen)]})

    def q_index_stats(self, tenants, p, pairs):
        start, end = self.bounds(p)
        if not p.get("query"):
            raise bad("parse error : syntax error: unexpected $end")
        streams, _ = self.selected(tenants, p, start, end)
        entries = [e for s in streams for e in s.window(start, end)]
        self.ok({"streams": len(streams), "chunks": len(streams), "entries": len(entries),
                 "bytes": sum(len(e[1].encode()) for e in entries)})

    def volume_groups(self, tenants, p, pairs, start, end):
        q = p.get("query") or ""
        if q.strip() in ("{}", ""):
            streams = [s for s in self.server.store.streams(tenants) if s.window(start, end)]
            sel = None
        else:
            streams, sel = self.selected(tenants, p, start, end)
        targets = [t for t in (p.get("targetLabels") or "").split(",") if t]
        by_labels = (p.get("aggregateBy") or "series") == "labels"
        if not targets and sel is not None:
            targets = []
            for m in sel.matchers:
                if m.name not in targets:
                    targets.append(m.name)
        out = []
        for s in streams:
            if by_labels:
                keys = [{t: s.labels[t]} for t in targets if t in s.labels] if targets else \
                    [{k: v} for k, v in s.labels.items()]
            else:
                keys = [{t: s.labels[t] for t in targets if t in s.labels} if targets
                        else dict(s.labels)]
            out.append((s, keys))
        return out

    def q_volume(self, tenants, p, pairs):
        start, end = self.bounds(p)
        limit = self.limit(p)
        acc = {}
        for s, keys in self.volume_groups(tenants, p, pairs, start, end):
            nbytes = sum(len(e[1].encode()) for e in s.window(start, end))
            for k in keys:
                cur = acc.setdefault(tuple(sorted(k.items())), [k, 0])
                cur[1] += nbytes
        ranked = sorted(acc.values(), key=lambda x: (-x[1], sorted(x[0].items())))[:limit]
        self.ok({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": k, "value": [ts_json(end), str(v)]} for k, v in ranked]}})

    def q_volume_range(self, tenants, p, pairs):
        start, end = self.bounds(p)
        limit = self.limit(p)
        step = parse_step(p.get("step"), start, end)
        if step <= 0:
            raise bad("zero or negative query resolution step widths are not accepted. "
                      "Try a positive integer")
        series = {}
        totals = {}
        for s, keys in self.volume_groups(tenants, p, pairs, start, end):
            for ts, line, _ in s.window(start, end):
                bucket = start + ((ts - start) // step) * step
                for k in keys:
                    kk = tuple(sorted(k.items()))
                    cur = series.setdefault(kk, [k, {}])
                    cur[1][bucket] = cur[1].get(bucket, 0) + len(line.encode())
                    totals[kk] = totals.get(kk, 0) + len(line.encode())
        ranked = sorted(series, key=lambda k: (-totals[k], k))[:limit]
        self.ok({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": series[k][0],
             "values": [[ts_json(b), str(v)] for b, v in sorted(series[k][1].items())]}
            for k in ranked]}})

    def q_patterns(self, tenants, p, pairs):
        start, end = self.bounds(p)
        if not p.get("query"):
            raise bad("parse error : syntax error: unexpected $end")
        streams, _ = self.selected(tenants, p, start, end)
        step = parse_step(p.get("step") or "10s", start, end)
        pats = {}
        for s in streams:
            for ts, line, _ in s.window(start, end):
                pat = line_pattern(line)
                bucket = (ts // step) * step
                d = pats.setdefault(pat, {})
                d[bucket] = d.get(bucket, 0) + 1
        data = [{"pattern": pat, "samples": [[b // NS, c] for b, c in sorted(d.items())]}
                for pat, d in sorted(pats.items(), key=lambda x: -sum(x[1].values()))]
        self.ok({"status": "success", "data": data})

    def q_detected_labels(self, tenants, p, pairs):
        start, end = self.bounds(p, METADATA_SINCE)
        streams, _ = self.selected(tenants, p, start, end)
        card = {}
        for s in streams:
            for k, v in s.labels.items():
                card.setdefault(k, set()).add(v)
        self.ok({"detectedLabels": [{"label": k, "cardinality": len(v)}
                                    for k, v in sorted(card.items())]})

    def detected(self, tenants, p, start, end):
        q = p.get("query", "")
        expr = lq.parse_log_selector(q)
        line_limit = self.limit({"limit": p.get("line_limit")}, 1000)
        picked, _, _ = lq.eval_log(expr, self.server.store.streams(tenants), start, end,
                                   line_limit, "backward")
        fields = {}
        for ts, st in picked:
            for name, value, parser, path in extract_fields(st.line, st.meta):
                f = fields.setdefault(name, {"values": set(), "parsers": set(), "path": path,
                                             "types": set()})
                f["values"].add(value)
                if parser:
                    f["parsers"].add(parser)
                f["types"].add(value_type(value))
        return fields

    def q_detected_fields(self, tenants, p, pairs):
        start, end = self.bounds(p, METADATA_SINCE)
        limit = self.limit({"limit": p.get("limit") or p.get("field_limit")}, 1000)
        fields = self.detected(tenants, p, start, end)
        out = []
        for name in sorted(fields)[:limit]:
            f = fields[name]
            types = f["types"]
            typ = types.pop() if len(types) == 1 else "string"
            out.append({"label": name, "type": typ, "cardinality": len(f["values"]),
                        "parsers": sorted(f["parsers"]) or None, "jsonPath": f["path"]})
        self.ok({"fields": out, "limit": limit})

    def q_detected_field_values(self, tenants, p, pairs, name):
        start, end = self.bounds(p, METADATA_SINCE)
        limit = self.limit({"limit": p.get("limit") or p.get("field_limit")}, 1000)
        fields = self.detected(tenants, p, start, end)
        values = sorted(fields.get(name, {}).get("values", ()))[:limit]
        self.ok({"values": values, "limit": limit})

    # -- push

    def q_push(self, tenants, p, pairs):
        if len(tenants) != 1:
            raise ApiError(401, "multiple org IDs present")
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        body = self.body
        try:
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "deflate":
                body = zlib.decompress(body)
            elif enc not in ("", "snappy"):
                raise bad('Content-Encoding "%s" not supported' % enc)
        except (OSError, EOFError, zlib.error) as e:
            raise bad("failed to decompress push body: %s" % e)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/json":
            fmt = "json"
            streams = decode_push_json(body)
        else:
            fmt = "protobuf"
            try:
                raw = snappy_decompress(body)
                streams = []
                for st in decode_push_proto(raw):
                    streams.append((st["labels"], dict(parse_label_string(st["labels"])),
                                    st["entries"]))
            except WireError as e:
                raise bad(str(e))
        rec_streams = []
        for text, labels, entries in streams:
            if not labels:
                raise bad("error at least one label pair is required per stream")
            for k in labels:
                if not _LABEL_NAME.fullmatch(k):
                    raise bad("invalid label name %s" % k)
            rec_streams.append({"labels": text, "stream": labels, "entries": [
                {"ts": str(ts), "line": line, "structured_metadata": dict(meta)}
                for ts, line, meta in entries]})
        self.rec["push"] = {"format": fmt, "content_encoding": enc, "streams": rec_streams}
        for text, labels, entries in streams:
            self.server.store.add(tenants[0], labels,
                                  [(ts, line, dict(meta)) for ts, line, meta in entries])
        self.reply_empty(204)

    # -- ruler API: rule groups stored as the YAML text received (no YAML parser here)

    def q_rules(self, rest):
        parts = [urllib.parse.unquote(x) for x in rest.split("/")[1:]] if rest else []
        if len(parts) > 2 or any(not x for x in parts):
            self.reply_text(404, "404 page not found\n")
            return
        allowed = {0: ("GET",), 1: ("GET", "POST", "DELETE"), 2: ("GET", "DELETE")}[len(parts)]
        if self.command not in allowed:
            self.reply_raw(405, b"", None)
            return
        self.params()
        tenants = self.tenants()
        if len(tenants) != 1:
            raise ApiError(401, "multiple org IDs present")
        store = self.server.store
        accepted = {"status": "success", "data": None, "errorType": "", "error": ""}
        with store.lock:
            rules = store.rules.setdefault(tenants[0], {})
            if self.command == "POST":
                text = self.body.decode("utf-8", "replace")
                m = re.search(r"(?m)^name:[ \t]*(.*?)[ \t]*$", text)
                name = m.group(1).strip("\"'") if m else ""
                if not name:
                    raise bad("invalid rules config: rule group name must not be empty")
                rules.setdefault(parts[0], {})[name] = text.rstrip("\n") + "\n"
                self.reply_raw(202, json.dumps(accepted).encode(), "application/json")
                return
            if self.command == "DELETE":
                if parts[0] not in rules or (len(parts) == 2 and parts[1] not in rules[parts[0]]):
                    raise ApiError(404, "group does not exist" if len(parts) == 2
                                   else "no rule groups found")
                if len(parts) == 2:
                    del rules[parts[0]][parts[1]]
                if len(parts) == 1 or not rules[parts[0]]:
                    del rules[parts[0]]
                self.reply_raw(202, json.dumps(accepted).encode(), "application/json")
                return
            if len(parts) == 2:
                text = rules.get(parts[0], {}).get(parts[1])
                if text is None:
                    raise ApiError(404, "group does not exist")
                self.reply_raw(200, text.encode(), "application/yaml")
                return
            namespaces = sorted(rules) if not parts else [parts[0]] if parts[0] in rules else []
            if not namespaces:
                raise ApiError(404, "no rule groups found")
            out = []
            for ns in namespaces:
                out.append("%s:\n" % json.dumps(ns))
                for name in sorted(rules[ns]):
                    lines = rules[ns][name].splitlines()
                    out.append("    - " + lines[0] + "\n")
                    out.extend(("      " + line).rstrip() + "\n" for line in lines[1:])
            self.reply_raw(200, "".join(out).encode(), "application/yaml")

    # -- delete requests (the compactor's API): recorded and listed, never applied

    def q_delete(self, tenants, p, pairs):
        store = self.server.store
        if len(tenants) != 1:
            raise ApiError(401, "multiple org IDs present")
        tenant = tenants[0]
        if self.command == "GET":
            with store.lock:
                self.ok(list(store.deletes.get(tenant, [])))
            return
        if self.command == "DELETE":
            rid = p.get("request_id")
            if not rid:
                raise bad("missing request_id")
            with store.lock:
                reqs = store.deletes.get(tenant, [])
                keep = [r for r in reqs if r["request_id"] != rid]
                if len(keep) == len(reqs):
                    raise ApiError(404, "could not find delete request with given id")
                store.deletes[tenant] = keep
            self.reply_empty(204)
            return
        q = p.get("query", "")
        if not q:
            raise bad("query not set")
        expr = lq.parse_log_selector(q, validate=False)
        if any(not isinstance(st, lq.lp.LineFilterStage) for st in expr.pipeline):
            raise bad("invalid query expression: only line filters are allowed in a delete "
                      "query")
        if not p.get("start"):
            raise bad("start time not set")
        now = time.time_ns()
        start = parse_timestamp(p.get("start"), now)
        end = parse_timestamp(p.get("end"), now)
        if end < start:
            raise bad("start time can't be greater than end time")
        with store.lock:
            store.delete_seq += 1
            store.deletes.setdefault(tenant, []).append({
                "request_id": "%08x" % store.delete_seq, "start_time": ts_json(start),
                "end_time": ts_json(end), "query": q, "status": "received",
                "created_at": ts_json(now)})
        self.reply_empty(204)

    # -- tail

    def q_tail(self, tenants, p, pairs):
        expr = lq.parse_expr(p.get("query", ""))
        if lq.is_metric(expr):
            raise bad("tail not supported for metric queries")
        limit = self.limit(p)
        delay = p.get("delay_for")
        if delay:
            try:
                if int(delay) > 5:
                    raise bad("delay_for can't be greater than 5")
            except ValueError:
                raise bad('cannot parse "%s" to a valid delay' % delay)
        start = parse_timestamp(p.get("start"), time.time_ns() - DEFAULT_SINCE)
        err = ws.handshake_error(self.headers)
        if err:
            raise bad(err)
        if len(tenants) != 1:
            raise bad("tail for multiple tenants is not supported by the Loki test double")
        store = self.server.store
        tail = Tail(tenants[0], expr)
        with store.lock:  # backlog and subscription at the same instant: nothing lost
            store.tails.append(tail)
        backlog, _, _ = lq.eval_log(expr, store.streams(tenants), start, time.time_ns() + 1,
                                    limit, "backward")
        seen = {entry_key(ts, st) for ts, st in backlog}
        backlog.reverse()
        self.server.set_status(self.rec, 101)
        self.rec["tail"] = {"frames_sent": 0, "close_code": None}
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                          % ws.accept_key(self.headers["Sec-WebSocket-Key"])).encode())
        self.wfile.flush()
        self.close_connection = True
        srv = self.server
        with srv.lock:
            srv.tails_active += 1
            srv.tails_total += 1
        conn = ws.WsConn(self.connection, is_client=False, prefix=self.buffered_bytes())
        try:
            if backlog:
                self.send_tail_frame(conn, backlog)
            while not srv.stopping:
                try:
                    msg = conn.recv(timeout=0.05)
                except ws.WsClosed as e:
                    self.rec["tail"]["close_code"] = e.code
                    break
                if msg is not None and msg[0] == ws.TEXT:
                    pass  # Loki ignores what the client sends
                fresh = [e for e in tail.take() if entry_key(*e) not in seen]
                seen.clear()
                if fresh:
                    self.send_tail_frame(conn, fresh)
        except ws.WsProtocolError as e:
            self.rec["tail"]["protocol_error"] = str(e)
            conn.send_close(1002, "protocol error")
        except OSError:
            pass
        finally:
            with store.lock:
                if tail in store.tails:
                    store.tails.remove(tail)
            conn.send_close(1000)  # no-op if a close was sent already
            with srv.lock:
                srv.tails_active -= 1

    def buffered_bytes(self):
        """What the client sent right behind its upgrade request (already in rfile's buffer)."""
        try:
            self.connection.setblocking(False)
            try:
                data = self.rfile.peek(1 << 16) or b""
            except (BlockingIOError, OSError, ValueError):
                data = b""
            return self.rfile.read(len(data)) if data else b""
        finally:
            self.connection.setblocking(True)

    def send_tail_frame(self, conn, entries):
        frame = {"streams": streams_json(entries, False), "dropped_entries": None}
        conn.send_text(json.dumps(frame))
        self.rec["tail"]["frames_sent"] += 1

    # -- control

    def control(self, path, query, body):
        srv = self.server
        if path == "/__test/streams" and self.command == "GET":
            self.reply_json(200, srv.store.dump())
            return True
        if path == "/__test/clear-streams" and self.command == "POST":
            srv.store.clear()
            self.reply_json(200, {"ok": True})
            return True
        if path == "/__test/tails" and self.command == "GET":
            with srv.lock:
                self.reply_json(200, {"active": srv.tails_active, "total": srv.tails_total})
            return True
        return False


# ---------------------------------------------------------------------------------------------
# Push JSON, patterns and detected fields


def decode_push_json(body):
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise bad("loghttp.PushRequest: %s" % e)
    if not isinstance(doc, dict) or not isinstance(doc.get("streams", []), list):
        raise bad("loghttp.PushRequest.Streams: expects an array")
    out = []
    for st in doc.get("streams") or []:
        if not isinstance(st, dict):
            raise bad("loghttp.PushRequest.Streams: expects an object")
        labels = st.get("stream") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise bad("loghttp.Stream.Stream: expects an object of strings")
        entries = []
        for v in st.get("values") or []:
            if not isinstance(v, list) or len(v) < 2 or len(v) > 3 or \
                    not isinstance(v[0], str) or not isinstance(v[1], str):
                raise bad("loghttp.Stream.Values: expects [\"<ns>\", \"<line>\", {...}?]")
            try:
                ts = int(v[0])
            except ValueError:
                raise bad('loghttp.Entry.Timestamp: cannot parse "%s"' % v[0])
            meta = v[2] if len(v) == 3 else {}
            if not isinstance(meta, dict) or not all(isinstance(x, str) for x in meta.values()):
                raise bad("loghttp.Entry.StructuredMetadata: expects an object of strings")
            entries.append((ts, v[1], list(meta.items())))
        out.append((label_string(labels), labels, entries))
    return out


_PAT_TOKEN = re.compile(r"\S+")


def line_pattern(line):
    """A crude pattern: tokens with a digit become <_> (enough for the API's shape)."""
    return _PAT_TOKEN.sub(lambda m: "<_>" if any(c.isdigit() for c in m.group(0))
                          else m.group(0), line)


_LOGFMT = re.compile(r'([A-Za-z_][A-Za-z0-9_.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def extract_fields(line, meta):
    out = []
    s = line.strip()
    if s.startswith("{"):
        try:
            doc = json.loads(s)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            def walk(d, path):
                for k, v in d.items():
                    if isinstance(v, dict):
                        walk(v, path + [k])
                    else:
                        val = v if isinstance(v, str) else json.dumps(v)
                        out.append(("_".join(path + [k]), val, "json", path + [k]))
            walk(doc, [])
    else:
        for m in _LOGFMT.finditer(line):
            v = m.group(2)
            if v.startswith('"'):
                try:
                    v = json.loads(v)
                except ValueError:
                    pass
            out.append((m.group(1), v, "logfmt", []))
    for k, v in (meta or {}).items():
        out.append((k, v, None, []))
    return out


def value_type(v):
    if re.fullmatch(r"-?\d+", v):
        return "int"
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", v):
        return "float"
    if v.lower() in ("true", "false"):
        return "boolean"
    if lq.parse_duration(v) is not None:
        return "duration"
    if re.fullmatch(r"\d+(\.\d+)?\s?[KMGTPE]?i?B", v):
        return "bytes"
    return "string"


GET_POST = ("GET", "POST")
ROUTES = {
    "/loki/api/v1/query": (GET_POST, LokiHandler.q_query),
    "/loki/api/v1/query_range": (GET_POST, LokiHandler.q_query_range),
    "/loki/api/v1/labels": (GET_POST, LokiHandler.q_labels),
    "/loki/api/v1/label": (GET_POST, LokiHandler.q_labels),
    "/loki/api/v1/series": (GET_POST, LokiHandler.q_series),
    "/loki/api/v1/index/stats": (GET_POST, LokiHandler.q_index_stats),
    "/loki/api/v1/index/volume": (GET_POST, LokiHandler.q_volume),
    "/loki/api/v1/index/volume_range": (GET_POST, LokiHandler.q_volume_range),
    "/loki/api/v1/patterns": (GET_POST, LokiHandler.q_patterns),
    "/loki/api/v1/detected_labels": (GET_POST, LokiHandler.q_detected_labels),
    "/loki/api/v1/detected_fields": (GET_POST, LokiHandler.q_detected_fields),
    "/loki/api/v1/tail": (("GET",), LokiHandler.q_tail),
    "/loki/api/v1/push": (("POST",), LokiHandler.q_push),
    "/loki/api/v1/delete": (("GET", "POST", "PUT", "DELETE"), LokiHandler.q_delete),
}
# (prefix, (suffix, methods, handler)) for routes with a {name} segment.
PREFIX_ROUTES = [
    ("/loki/api/v1/label/", ("/values", GET_POST, LokiHandler.q_label_values)),
    ("/loki/api/v1/detected_field/", ("/values", GET_POST,
                                      LokiHandler.q_detected_field_values)),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(ap)
    ap.add_argument("--data", help="JSON seed file")
    ap.add_argument("--multi-tenant", action="store_true",
                    help="require X-Scope-OrgID (401 'no org id' otherwise)")
    ap.add_argument("--max-entries-limit", type=int, default=5000)
    ap.add_argument("--gzip-responses", action="store_true",
                    help="gzip JSON answers for clients that accept it")
    args = ap.parse_args(argv)
    try:
        server = LokiServer(args)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        sys.stderr.write("loki_double: cannot start: %s: %s\n" % (type(e).__name__, e))
        sys.exit(2)
    serve(server)


if __name__ == "__main__":
    main()
