"""Self-tests of the Loki double (run by CTest as doubles:loki_double)."""

import gzip
import json
import random
import socket
import time
import unittest
import urllib.parse

import websocket as ws
from launch import HOST, LokiDouble
from push_encoder import push_request, snappy_compress

NS = 1_000_000_000
T0 = 1_763_790_000  # seconds; every seeded entry is at T0 + a few seconds


def at(sec):
    return str((T0 + sec) * NS)


SEED = [
    {"labels": {"app": "api", "env": "prod"}, "entries": [
        [at(10), "level=info msg=hello path=/a"],
        [at(20), "level=error msg=boom status=500", {"trace_id": "abc"}],
        [at(30), '{"level":"warn","req":{"path":"/x"}}'],
    ]},
    {"labels": {"app": "web", "env": "dev"}, "entries": [
        [at(15), "GET /index 200 from 10.1.2.3"],
        [at(25), "GET /login 500 from 192.168.0.1"],
    ]},
    {"labels": {"app": "db", "env": "prod", "team": "core"}, "entries": [
        [at(5), "slow query took 1.5s"],
    ]},
]
WINDOW = {"start": str(T0), "end": str(T0 + 3600)}


def get(d, path, params=None, headers=None, method="GET"):
    """(status, content-type, parsed JSON or text) for a GET (or form POST) to the double."""
    qs = urllib.parse.urlencode(params or [], doseq=True)
    if method == "POST":
        h = dict(headers or {})
        h["Content-Type"] = "application/x-www-form-urlencoded"
        status, hdrs, body = d.request("POST", path, qs.encode(), h)
    else:
        status, hdrs, body = d.request("GET", path + ("?" + qs if qs else ""), None, headers)
    ctype = hdrs.get("content-type", "")
    if ctype.startswith("application/json"):
        return status, ctype, json.loads(body)
    return status, ctype, body.decode()


def lines_of(result):
    """[(ts, line)] of a streams result, newest first."""
    out = [(int(v[0]), v[1]) for s in result for v in s["values"]]
    return sorted(out, reverse=True)


class QueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = LokiDouble(seed=SEED)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def query_range(self, query, **params):
        p = dict(WINDOW, query=query)
        p.update(params)
        return get(self.d, "/loki/api/v1/query_range", p)

    def test_log_queries(self):
        api = ["level=info msg=hello path=/a", "level=error msg=boom status=500",
               '{"level":"warn","req":{"path":"/x"}}']
        index, login = "GET /index 200 from 10.1.2.3", "GET /login 500 from 192.168.0.1"
        slow = "slow query took 1.5s"
        cases = [
            ('{app="api"}', api),
            ('{env=~"prod|dev"} |= "500"', [api[1], login]),
            ('{app!="api", env=~".+"}', [index, login, slow]),
            ('{app=~"a.*"}', api),
            ('{app=~"p"}', []),  # anchored
            ('{app!~"api|web", env="prod"}', [slow]),
            ('{app="web"} |~ "GET /(login|x)"', [login]),
            ('{app="web"} !~ "login"', [index]),
            ('{app="web"} |= ip("10.0.0.0/8")', [index]),
            ('{app="web"} != ip("10.0.0.0/8")', [login]),
            ('{app="web"} |= "index" or "login"', [index, login]),
            ('{app="web"} != "index" != "login"', []),
            ('{app="web"} |> "GET <_> 500 <_>"', [login]),
            ('({app="db"})', [slow]),
            # pipelines: parsers, label filters, formatting
            ('{app="api"} | json | level="error"', []),  # logfmt lines fail JSON parsing
            ('{app="api"} | logfmt | level="error"', [api[1]]),
            ('{app="api"} | logfmt | line_format "{{.msg}}" |= "boom"', ["boom"]),
            ('{app="api"} | logfmt | line_format "{{ .level | ToUpper }}:{{__line__}}" '
             '|= "ERROR:"', ["ERROR:" + api[1]]),
            ('{app="api"} | json | __error__=""', [api[2]]),
            ('{app="api"} | json | __error__!="" | drop __error__, __error_details__', api[:2]),
            ('{app="api"} | json | req_path="/x"', [api[2]]),
            ('{app="api"} | json lvl="level", p="req.path" | p="/x" and lvl=~"w.*"', [api[2]]),
            ('{app="api"} | logfmt | status >= 500', [api[1]]),
            ('{app="api"} | logfmt | status > 500', []),
            ('{app="api"} | logfmt | level="info" or level="error"', api[:2]),
            ('{app="api"} | logfmt | (level="info" or status>400) and msg!="hello"', [api[1]]),
            ('{app="api"} | logfmt | level=~"err.*", msg="boom"', [api[1]]),
            ('{app="api"} | logfmt | level="error" != "boom"', []),
            ('{app="api"} | logfmt --strict | __error__="LogfmtParserErr"', [api[2]]),
            ('{app="api"} | logfmt | drop level | level=""', api),
            ('{app="api"} | logfmt | keep app | env=""', api),
            ('{app="api"} | logfmt | label_format lvl=level | lvl="info"', [api[0]]),
            ('{app="web"} | pattern "<method> <path> <status> from <ip>" | status="500"',
             [login]),
            ('{app="web"} | pattern "<_> <_> <_> from <addr>" | addr = ip("10.0.0.0/8")',
             [index]),
            ('{app="web"} | regexp `(?P<method>\\w+) (?<path>\\S+)` | path="/index"', [index]),
            ('{app="web"} | regexp "(?P<method>\\\\w+) (?<path>\\\\S+)" | path="/index"', [index]),
            ('{app="db"} | pattern "slow query took <d>" | d > 1s', [slow]),
            ('{app="db"} | pattern "slow query took <d>" | d > 1500ms', []),
            ('{app="db"} | pattern "slow <what> took <_>" | what = "query" | d > 1s', []),
        ]
        for query, want in cases:
            with self.subTest(query=query):
                status, _, doc = self.query_range(query)
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc["status"], "success")
                self.assertEqual(doc["data"]["resultType"], "streams")
                self.assertEqual(sorted(l for _, l in lines_of(doc["data"]["result"])),
                                 sorted(want))
                self.assertEqual(doc["data"]["stats"]["summary"]["totalEntriesReturned"],
                                 len(want))

    def test_result_shape_and_metadata(self):
        status, ctype, doc = self.query_range('{app="api"}')
        self.assertTrue(ctype.startswith("application/json"))
        streams = {json.dumps(s["stream"], sort_keys=True): s["values"]
                   for s in doc["data"]["result"]}
        self.assertEqual(set(streams), {'{"app": "api", "env": "prod"}',
                                        '{"app": "api", "env": "prod", "trace_id": "abc"}'})
        for values in streams.values():
            for v in values:
                self.assertEqual(len(v), 2)
                self.assertIsInstance(v[0], str)
        _, _, doc = get(self.d, "/loki/api/v1/query_range",
                        dict(WINDOW, query='{app="api"} |= "boom"'),
                        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
        self.assertEqual(doc["data"]["encodingFlags"], ["categorize-labels"])
        self.assertEqual(doc["data"]["result"], [{
            "stream": {"app": "api", "env": "prod"},
            "values": [[at(20), "level=error msg=boom status=500",
                        {"structuredMetadata": {"trace_id": "abc"}}]]}])

    def test_parsed_labels_in_results(self):
        query = '{app="api"} | logfmt | level="error"'
        _, _, doc = self.query_range(query)
        self.assertEqual(doc["data"]["result"], [{
            "stream": {"app": "api", "env": "prod", "level": "error", "msg": "boom",
                       "status": "500", "trace_id": "abc"},
            "values": [[at(20), "level=error msg=boom status=500"]]}])
        _, _, doc = get(self.d, "/loki/api/v1/query_range", dict(WINDOW, query=query),
                        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
        self.assertEqual(doc["data"]["result"], [{
            "stream": {"app": "api", "env": "prod"},
            "values": [[at(20), "level=error msg=boom status=500",
                        {"structuredMetadata": {"trace_id": "abc"},
                         "parsed": {"level": "error", "msg": "boom", "status": "500"}}]]}])
        # A parsed label that clashes with a stream label is renamed.
        _, _, doc = self.query_range('{app="web"} | pattern "<_> <app> <_>" | app_extracted!=""')
        self.assertEqual(sorted(s["stream"]["app_extracted"] for s in doc["data"]["result"]),
                         ["/index", "/login"])

    def test_direction_limit_and_bounds(self):
        cases = [
            ({"limit": "2", "direction": "forward"}, [5, 10]),
            ({"limit": "2"}, [30, 25]),
            ({"limit": "3", "direction": "backward"}, [30, 25, 20]),
            ({"start": at(10), "end": at(20)}, [15, 10]),  # start included, end excluded
            ({"start": "%d.5" % (T0 + 24), "end": str(T0 + 26)}, [25]),  # float seconds
            ({"start": "2025-11-22T05:40:14Z", "end": "2025-11-22T05:40:20.5Z"}, [15, 20]),
            ({"since": "1h", "end": str(T0 + 16)}, [15, 10, 5]),
        ]
        for params, want_secs in cases:
            with self.subTest(params=params):
                status, _, doc = self.query_range('{env=~".+"}', **params)
                self.assertEqual(status, 200, doc)
                got = [(int(v[0]) // NS - T0) for s in doc["data"]["result"]
                       for v in s["values"]]
                if params.get("direction") == "forward":
                    self.assertEqual(sorted(got), want_secs)
                else:
                    self.assertEqual(sorted(got, reverse=True), sorted(want_secs, reverse=True))
                self.assertEqual(len(got), len(want_secs))

    def test_instant_metric_queries(self):
        t = str(T0 + 60)
        cases = [
            ('count_over_time({env="prod"}[1m])', {
                '{"app": "api", "env": "prod"}': "2",
                '{"app": "api", "env": "prod", "trace_id": "abc"}': "1",
                '{"app": "db", "env": "prod", "team": "core"}': "1"}),
            ('sum by (env) (count_over_time({app=~".+"}[1m]))',
             {'{"env": "dev"}': "2", '{"env": "prod"}': "4"}),
            ('sum(count_over_time({app=~".+"}[1m])) by (env)',
             {'{"env": "dev"}': "2", '{"env": "prod"}': "4"}),
            ('sum without (trace_id, team) (count_over_time({env="prod"}[1m]))',
             {'{"app": "api", "env": "prod"}': "3", '{"app": "db", "env": "prod"}': "1"}),
            ('sum(rate({app="web"}[1m]))', {"{}": repr(2 / 60)}),
            ('sum(count_over_time({app="web"} |= "500" [1m]))', {"{}": "1"}),
            ('count_over_time({env="prod"} != "boom" |~ "l" [1m])', {
                '{"app": "api", "env": "prod"}': "2",
                '{"app": "db", "env": "prod", "team": "core"}': "1"}),
            ('topk(1, sum by (app) (count_over_time({app=~".+"}[1m])))', {'{"app": "api"}': "3"}),
            ('sum(count_over_time({app=~".+"}[1m])) * 2', {"{}": "12"}),
            ('sum by (app) (count_over_time({app=~".+"}[1m])) > 1', {'{"app": "api"}': "3",
                                                                     '{"app": "web"}': "2"}),
            ('count_over_time({app="api"}[10s])', {  # window (t-10s, t] at T0+60: empty
            }),
            ('bytes_over_time({app="db"}[1m])', {'{"app": "db", "env": "prod", "team": "core"}':
                                                str(len("slow query took 1.5s"))}),
            ('absent_over_time({app="nope"}[1m])', {'{"app": "nope"}': "1"}),
            ('count_over_time({app="db"}[1m] offset 56s)', {}),
            ('sum by (level) (count_over_time({app="api"} | logfmt | __error__="" [1m]))',
             {'{"level": "info"}': "1", '{"level": "error"}': "1", '{}': "1"}),
            ('sum by (status) (count_over_time({app="api"} | logfmt | status > 0 [1m]))',
             {'{"status": "500"}': "1"}),
            ('count_over_time({app="db"}[1m] offset 55s)',
             {'{"app": "db", "env": "prod", "team": "core"}': "1"}),
        ]
        for query, want in cases:
            with self.subTest(query=query):
                status, _, doc = get(self.d, "/loki/api/v1/query", {"query": query, "time": t})
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc["data"]["resultType"], "vector")
                got = {json.dumps(r["metric"], sort_keys=True): r["value"][1]
                       for r in doc["data"]["result"]}
                self.assertEqual(got, want)
                for r in doc["data"]["result"]:
                    self.assertEqual(r["value"][0], T0 + 60)

    def test_window_edges(self):
        # At T0+20 the 10s window (T0+10, T0+20] holds api's entry at 20 but not the one at 10.
        status, _, doc = get(self.d, "/loki/api/v1/query",
                             {"query": 'sum(count_over_time({app="api"}[10s]))',
                              "time": str(T0 + 20)})
        self.assertEqual(doc["data"]["result"][0]["value"][1], "1")

    def test_scalar(self):
        status, _, doc = get(self.d, "/loki/api/v1/query", {"query": "1 + 2 * 3",
                                                             "time": str(T0)})
        self.assertEqual(doc["data"]["resultType"], "scalar")
        self.assertEqual(doc["data"]["result"], [T0, "7"])

    def test_range_metric_query(self):
        status, _, doc = get(self.d, "/loki/api/v1/query_range", {
            "query": 'sum(count_over_time({app=~".+"}[10s]))', "start": str(T0),
            "end": str(T0 + 30), "step": "10s"})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["data"]["resultType"], "matrix")
        self.assertEqual(doc["data"]["result"], [{"metric": {}, "values": [
            [T0 + 10, "2"], [T0 + 20, "2"], [T0 + 30, "2"]]}])
        status, _, doc = get(self.d, "/loki/api/v1/query_range", {
            "query": 'sum by (app) (count_over_time({app=~".+"}[30s]))', "start": str(T0),
            "end": str(T0 + 30), "step": "15"})
        got = {r["metric"]["app"]: r["values"] for r in doc["data"]["result"]}
        self.assertEqual(got, {"api": [[T0 + 15, "1"], [T0 + 30, "3"]],
                               "db": [[T0, "0"]] [0:0] + [[T0 + 15, "1"], [T0 + 30, "1"]],
                               "web": [[T0 + 15, "1"], [T0 + 30, "2"]]})

    def test_errors(self):
        cases = [
            ("/loki/api/v1/query_range", {"query": '{app="api"'},
             "parse error at line 1, col 11: syntax error: unexpected $end"),
            ("/loki/api/v1/query_range", {"query": '{app=~".*"}'},
             "parse error : queries require at least one regexp or equality matcher that does "
             "not have an empty-compatible value."),
            ("/loki/api/v1/query_range", {"query": '{}'}, "parse error : queries require"),
            ("/loki/api/v1/query_range", {"query": ''}, "parse error at line 1, col 1: syntax "
                                                       "error: unexpected $end"),
            ("/loki/api/v1/query", {"query": '{app="api"}'},
             "log queries are not supported as an instant query type"),
            ("/loki/api/v1/query_range", {"query": 'sum_over_time({app="api"} | unwrap x [1m])'},
             "sum_over_time with unwrap is not supported by the Loki test double"),
            ("/loki/api/v1/query_range", {"query": 'count_over_time({app="api"} | json [1m])',
                                          "start": str(T0), "end": str(T0 + 60)},
             "pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\""),
            ("/loki/api/v1/query_range", {"query": '{app="api"} | line_format "{{ if .a }}"'},
             "template action '{{ if .a }}' is not supported by the Loki test double"),
            ("/loki/api/v1/query_range", {"query": '{app="api"} | regexp `(\\w+)`'},
             "parse error at line 1, col 22: at least one named capture must be supplied"),
            ("/loki/api/v1/query_range", {"query": '{app="api"} | level > "x"'},
             "parse error at line 1, col 23: syntax error: unexpected STRING"),
            ("/loki/api/v1/query_range", {"query": '{app="api"}[5m]'},
             "parse error at line 1, col 12: syntax error: unexpected RANGE"),
            ("/loki/api/v1/query_range", {"query": 'rate({app="api"}[5minutes])'},
             "parse error at line 1, col 17"),
            ("/loki/api/v1/query_range", {"query": '{app="api"}', "limit": "6000"},
             "max entries limit per query exceeded"),
            ("/loki/api/v1/query_range", {"query": 'rate({app="api"}[1m])', "step": "0"},
             "zero or negative query resolution step widths are not accepted"),
            ("/loki/api/v1/query_range", {"query": 'rate({app="api"}[1m])', "step": "0.001",
                                          "start": "0"},
             "exceeded maximum resolution of 11,000 points"),
            ("/loki/api/v1/query_range", {"query": '{app="api"}', "direction": "sideways"},
             "invalid direction"),
            ("/loki/api/v1/query_range", {"query": '{app="api"}', "start": "10", "end": "5"},
             "end timestamp must not be before or equal to start time"),
            ("/loki/api/v1/query_range", {"query": '{app="api"}', "start": "yesterday"},
             'cannot parse "yesterday" to a valid timestamp'),
            ("/loki/api/v1/query_range", {"query": '{app="api"}', "limit": "x"},
             'cannot parse "x" to a valid limit'),
            ("/loki/api/v1/labels", {"query": '{app="api"} |= "x"'},
             "only label matchers are supported"),
            ("/loki/api/v1/series", {}, "0 matcher groups supplied"),
        ]
        for path, params, prefix in cases:
            with self.subTest(path=path, params=params):
                status, ctype, body = get(self.d, path, params)
                self.assertEqual(status, 400, body)
                self.assertEqual(ctype, "text/plain; charset=utf-8")
                self.assertTrue(body.startswith(prefix), body)
                self.assertTrue(body.endswith("\n"))

    def test_post_form_and_recording(self):
        self.d.reset()
        status, _, doc = get(self.d, "/loki/api/v1/query_range?limit=1",
                             dict(WINDOW, query='{app="web"}', limit="5"), method="POST",
                             headers={"X-Scope-OrgID": "team-a"})
        self.assertEqual(status, 200)
        self.assertEqual(len(lines_of(doc["data"]["result"])), 2)  # the form's limit won
        rec = self.d.requests("/loki/api/v1/query_range")[-1]
        self.assertEqual(rec["method"], "POST")
        self.assertEqual(rec["query"], [["limit", "1"]])
        self.assertIn(["query", '{app="web"}'], rec["form"])
        self.assertEqual(rec["params"][-1], ["limit", "1"])
        self.assertEqual(rec["tenant"], "team-a")
        self.assertIn(["X-Scope-OrgID", "team-a"], rec["headers"])
        self.assertEqual(rec["status"], 200)
        self.assertEqual(urllib.parse.parse_qsl(rec["body_text"]), [tuple(p) for p in rec["form"]])
        self.d.reset()
        self.assertEqual(self.d.requests(), [])

    def test_metadata_endpoints(self):
        def data(path, params):
            status, _, doc = get(self.d, path, dict(WINDOW, **params))
            self.assertEqual(status, 200, doc)
            return doc["data"] if isinstance(doc, dict) and "data" in doc else doc

        cases = [
            ("/loki/api/v1/labels", {}, ["app", "env", "team"]),
            ("/loki/api/v1/label", {"query": '{app="web"}'}, ["app", "env"]),
            ("/loki/api/v1/labels", {"start": str(T0 + 100)}, []),
            ("/loki/api/v1/label/app/values", {}, ["api", "db", "web"]),
            ("/loki/api/v1/label/env/values", {"query": '{app=~"a.*|d.*"}'}, ["prod"]),
            ("/loki/api/v1/label/nope/values", {}, []),
            ("/loki/api/v1/series", {"match[]": ['{env="prod"}', '{app="web"}']},
             [{"app": "api", "env": "prod"}, {"app": "db", "env": "prod", "team": "core"},
              {"app": "web", "env": "dev"}]),
            ("/loki/api/v1/series", {"match": '{team!="x"}'},  # no validation on series
             [{"app": "api", "env": "prod"}, {"app": "db", "env": "prod", "team": "core"},
              {"app": "web", "env": "dev"}]),
            ("/loki/api/v1/series", {"match[]": "{}"}, [
                {"app": "api", "env": "prod"}, {"app": "db", "env": "prod", "team": "core"},
                {"app": "web", "env": "dev"}]),
            ("/loki/api/v1/index/stats", {"query": '{env="prod"}'},
             {"streams": 2, "chunks": 2, "entries": 4,
              "bytes": sum(len(e[1]) for s in SEED[::2] for e in s["entries"])}),
            ("/loki/api/v1/detected_labels", {"query": '{env="prod"}'},
             {"detectedLabels": [{"label": "app", "cardinality": 2},
                                 {"label": "env", "cardinality": 1},
                                 {"label": "team", "cardinality": 1}]}),
            ("/loki/api/v1/detected_field/level/values", {"query": '{app="api"}'},
             {"values": ["error", "info", "warn"], "limit": 1000}),
        ]
        for path, params, want in cases:
            with self.subTest(path=path, params=params):
                self.assertEqual(data(path, params), want)

    def test_volume(self):
        prod = sum(len(e[1]) for s in SEED[::2] for e in s["entries"])
        dev = sum(len(e[1]) for e in SEED[1]["entries"])
        status, _, doc = get(self.d, "/loki/api/v1/index/volume",
                             dict(WINDOW, query='{env=~".+"}'))
        self.assertEqual(doc["data"]["resultType"], "vector")
        self.assertEqual([(r["metric"], r["value"][1]) for r in doc["data"]["result"]],
                         [({"env": "prod"}, str(prod)), ({"env": "dev"}, str(dev))])
        self.assertEqual(doc["data"]["result"][0]["value"][0], T0 + 3600)
        status, _, doc = get(self.d, "/loki/api/v1/index/volume",
                             dict(WINDOW, query='{env=~".+"}', targetLabels="app", limit="1"))
        self.assertEqual([r["metric"] for r in doc["data"]["result"]], [{"app": "api"}])
        status, _, doc = get(self.d, "/loki/api/v1/index/volume_range",
                             dict(WINDOW, query='{app="web"}', step="10s"))
        self.assertEqual(doc["data"]["resultType"], "matrix")
        self.assertEqual(doc["data"]["result"], [{"metric": {"app": "web"}, "values": [
            [T0 + 10, str(len(SEED[1]["entries"][0][1]))],
            [T0 + 20, str(len(SEED[1]["entries"][1][1]))]]}])

    def test_patterns_and_fields(self):
        status, _, doc = get(self.d, "/loki/api/v1/patterns", dict(WINDOW, query='{app="web"}'))
        self.assertEqual(doc["status"], "success")
        self.assertEqual(sorted(p["pattern"] for p in doc["data"]),
                         ["GET /index <_> from <_>", "GET /login <_> from <_>"])
        for p in doc["data"]:
            self.assertEqual(sum(c for _, c in p["samples"]), 1)
        status, _, doc = get(self.d, "/loki/api/v1/detected_fields",
                             dict(WINDOW, query='{app="api"}'))
        fields = {f["label"]: f for f in doc["fields"]}
        self.assertEqual(fields["level"]["cardinality"], 3)
        self.assertEqual(fields["level"]["parsers"], ["json", "logfmt"])
        self.assertEqual(fields["status"]["type"], "int")
        self.assertEqual(fields["req_path"]["jsonPath"], ["req", "path"])
        self.assertIsNone(fields["trace_id"]["parsers"])
        self.assertEqual(doc["limit"], 1000)

    def test_not_found_and_method(self):
        status, _, body = get(self.d, "/loki/api/v1/nope")
        self.assertEqual((status, body), (404, "404 page not found\n"))
        status, _, _ = self.d.request("DELETE", "/loki/api/v1/query_range")
        self.assertEqual(status, 405)
        status, _, body = get(self.d, "/ready")
        self.assertEqual((status, body), (200, "ready\n"))


class DefaultWindowTest(unittest.TestCase):
    """Defaults: queries look back 1h, metadata 6h, from min(end, now)."""

    def test_defaults(self):
        seed = [{"labels": {"app": "old"}, "entries": [["now-3h", "old line"]]},
                {"labels": {"app": "new"}, "entries": [["now-30m", "new line"]]}]
        with LokiDouble(seed=seed) as d:
            later = str(time.time_ns() + 3600 * NS)
            cases = [
                ("/loki/api/v1/query_range", {"query": '{app=~".+"}'}, ["new line"]),
                ("/loki/api/v1/query_range", {"query": '{app=~".+"}', "end": later},
                 ["new line"]),
                ("/loki/api/v1/query_range", {"query": '{app=~".+"}', "since": "4h"},
                 ["new line", "old line"]),
                ("/loki/api/v1/label/app/values", {}, ["new", "old"]),
                ("/loki/api/v1/label/app/values", {"since": "1h"}, ["new"]),
                ("/loki/api/v1/series", {"match[]": "{}"}, [{"app": "new"}, {"app": "old"}]),
            ]
            for path, params, want in cases:
                with self.subTest(path=path, params=params):
                    status, _, doc = get(d, path, params)
                    self.assertEqual(status, 200, doc)
                    got = doc["data"]
                    if isinstance(got, dict):
                        got = [l for _, l in lines_of(got["result"])]
                    self.assertEqual(got, want)


class TenantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        seed = {"tenants": {
            "org1": [{"labels": {"app": "a"}, "entries": [["now-1m", "one"]]}],
            "org2": [{"labels": {"app": "b"}, "entries": [["now-1m", "two"]]}],
        }}
        cls.d = LokiDouble(seed=seed, multi_tenant=True)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def q(self, org, query='{app=~".+"}'):
        headers = {"X-Scope-OrgID": org} if org is not None else {}
        return get(self.d, "/loki/api/v1/query_range", {"query": query}, headers)

    def test_org_id_required(self):
        for method, path in (("GET", "/loki/api/v1/query_range"), ("GET", "/loki/api/v1/labels"),
                             ("POST", "/loki/api/v1/push"), ("GET", "/loki/api/v1/tail"),
                             ("POST", "/loki/api/v1/series")):
            with self.subTest(path=path):
                status, _, body = get(self.d, path, {"query": '{app="a"}'}, method=method)
                self.assertEqual((status, body), (401, "no org id\n"))
        self.assertEqual(get(self.d, "/ready")[0], 200)

    def test_isolation(self):
        cases = [
            ("org1", [({"app": "a"}, "one")]),
            ("org2", [({"app": "b"}, "two")]),
            ("org3", []),
            ("org1|org2", [({"app": "a", "__tenant_id__": "org1"}, "one"),
                           ({"app": "b", "__tenant_id__": "org2"}, "two")]),
        ]
        for org, want in cases:
            with self.subTest(org=org):
                status, _, doc = self.q(org)
                self.assertEqual(status, 200)
                got = sorted(((s["stream"], v[1]) for s in doc["data"]["result"]
                              for v in s["values"]), key=lambda x: x[1])
                self.assertEqual(got, want)

    def test_push_goes_to_its_tenant(self):
        body = {"streams": [{"stream": {"app": "c"},
                             "values": [[str(time.time_ns()), "three"]]}]}
        status, _, _ = self.d.request("POST", "/loki/api/v1/push", body,
                                      {"Content-Type": "application/json",
                                       "X-Scope-OrgID": "org2"})
        self.assertEqual(status, 204)
        self.assertEqual(len(lines_of(self.q("org2", '{app="c"}')[2]["data"]["result"])), 1)
        self.assertEqual(len(lines_of(self.q("org1", '{app="c"}')[2]["data"]["result"])), 0)
        status, _, text = self.d.request("POST", "/loki/api/v1/push", body,
                                         {"Content-Type": "application/json",
                                          "X-Scope-OrgID": "org1|org2"})
        self.assertEqual((status, text), (401, b"multiple org IDs present\n"))


class PushTest(unittest.TestCase):
    def setUp(self):
        self.d = LokiDouble()
        self.addCleanup(self.d.stop)

    def push(self, body, ctype, encoding=None):
        headers = {"Content-Type": ctype}
        if encoding:
            headers["Content-Encoding"] = encoding
        return self.d.request("POST", "/loki/api/v1/push", body, headers)

    def stored(self, query='{app=~".+"}'):
        now = time.time_ns()
        _, _, doc = get(self.d, "/loki/api/v1/query_range",
                        {"query": query, "start": str(now - 3600 * NS), "end": str(now + NS),
                         "direction": "forward"})
        return [(s["stream"], v[0], v[1]) for s in doc["data"]["result"] for v in s["values"]]

    def test_json_push(self):
        ts = time.time_ns() - NS
        doc = {"streams": [{"stream": {"app": "j", "env": "x"}, "values": [
            [str(ts), "plain"], [str(ts + 1), "with meta", {"trace_id": "t1"}]]}]}
        for encoding in (None, "gzip"):
            with self.subTest(encoding=encoding):
                self.d.clear_streams()
                self.d.reset()
                body = json.dumps(doc).encode()
                if encoding:
                    body = gzip.compress(body)
                status, _, data = self.push(body, "application/json; charset=utf-8", encoding)
                self.assertEqual((status, data), (204, b""))
                self.assertEqual(self.stored(), [
                    ({"app": "j", "env": "x"}, str(ts), "plain"),
                    ({"app": "j", "env": "x", "trace_id": "t1"}, str(ts + 1), "with meta")])
                push = self.d.pushes()[0]
                self.assertEqual(push["format"], "json")
                self.assertEqual(push["content_encoding"], encoding or "")
                self.assertEqual(push["streams"], [{
                    "labels": '{app="j", env="x"}', "stream": {"app": "j", "env": "x"},
                    "entries": [
                        {"ts": str(ts), "line": "plain", "structured_metadata": {}},
                        {"ts": str(ts + 1), "line": "with meta",
                         "structured_metadata": {"trace_id": "t1"}}]}])

    def test_protobuf_push(self):
        ts = time.time_ns() - 2 * NS
        streams = [
            ('{app="p", env="prod"}', [(ts, "proto line " * 20, []),
                                       (ts + 5, "proto meta", [("trace_id", "abc")])]),
            ('{app="q"}', [(ts + 7, "other ✓", [])]),
        ]
        for encoding in (None, "snappy", "gzip"):
            with self.subTest(encoding=encoding):
                self.d.clear_streams()
                self.d.reset()
                body = snappy_compress(push_request(streams))
                if encoding == "gzip":
                    body = gzip.compress(body)
                status, _, _ = self.push(body, "application/x-protobuf", encoding)
                self.assertEqual(status, 204)
                self.assertEqual(self.stored(), [
                    ({"app": "p", "env": "prod"}, str(ts), "proto line " * 20),
                    ({"app": "p", "env": "prod", "trace_id": "abc"}, str(ts + 5), "proto meta"),
                    ({"app": "q"}, str(ts + 7), "other ✓")])
                push = self.d.pushes()[0]
                self.assertEqual(push["format"], "protobuf")
                self.assertEqual([s["labels"] for s in push["streams"]],
                                 ['{app="p", env="prod"}', '{app="q"}'])
                self.assertEqual(push["streams"][0]["entries"][1],
                                 {"ts": str(ts + 5), "line": "proto meta",
                                  "structured_metadata": {"trace_id": "abc"}})

    def test_malformed(self):
        good = push_request([('{app="x"}', [(time.time_ns(), "l", [])])])
        cases = [
            ("not snappy", b"\xff\xff\xff", "application/x-protobuf", None, "snappy"),
            ("snappy of garbage proto", snappy_compress(b"\x0b\x00"), "application/x-protobuf",
             None, "proto"),
            ("bad labels", snappy_compress(push_request([("app=x", [(1, "l", [])])])),
             "application/x-protobuf", None, "error parsing labels 'app=x'"),
            ("no labels", snappy_compress(push_request([("{}", [(1, "l", [])])])),
             "application/x-protobuf", None,
             "error at least one label pair is required per stream"),
            ("unsupported encoding", snappy_compress(good), "application/x-protobuf", "br",
             'Content-Encoding "br" not supported'),
            ("bad gzip", b"nope", "application/json", "gzip", "failed to decompress"),
            ("bad json", b"{", "application/json", None, "loghttp.PushRequest"),
            ("json ts not a string", b'{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}',
             "application/json", None, "loghttp.Stream.Values"),
            ("json ts not a number", b'{"streams":[{"stream":{"a":"b"},"values":[["x","y"]]}]}',
             "application/json", None, "loghttp.Entry.Timestamp"),
            ("json bad label name", b'{"streams":[{"stream":{"a-b":"c"},"values":[]}]}',
             "application/json", None, "invalid label name a-b"),
        ]
        for name, body, ctype, enc, prefix in cases:
            with self.subTest(name):
                self.d.reset()
                status, hdrs, text = self.push(body, ctype, enc)
                self.assertEqual(status, 400, text)
                self.assertTrue(hdrs["content-type"].startswith("text/plain"))
                self.assertTrue(text.decode().startswith(prefix), text)
                rec = self.d.requests("/loki/api/v1/push")[0]
                self.assertEqual(rec["status"], 400)
                self.assertEqual(rec["body_len"], len(body))
                self.assertNotIn("push", rec)
        self.assertEqual(self.stored(), [])


class TailTest(unittest.TestCase):
    def setUp(self):
        seed = [{"labels": {"app": "tail"}, "entries": [
            ["now-2m", "keep old"], ["now-1m", "drop old"]]}]
        self.d = LokiDouble(seed=seed)
        self.addCleanup(self.d.stop)

    def open_tail(self, query='{app="tail"} |= "keep"'):
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": query})
        conn, status, hdrs = ws.client_connect(HOST, self.d.port, target)
        self.assertEqual(status, 101, hdrs)
        self.addCleanup(conn.close)
        return conn

    def recv_json(self, conn, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = conn.recv(timeout=0.2)
            if msg is None:
                continue
            self.assertEqual(msg[0], ws.TEXT)
            return json.loads(msg[1])
        self.fail("no tail frame within %.0fs" % timeout)

    def wait_tails_active(self, n):
        deadline = time.monotonic() + 5
        while self.d.tails()["active"] != n:
            if time.monotonic() > deadline:
                self.fail("tail threads still active: %s" % self.d.tails())
            time.sleep(0.02)

    def test_round_trip(self):
        conn = self.open_tail()
        frame = self.recv_json(conn)
        self.assertIsNone(frame["dropped_entries"])
        self.assertEqual([(s["stream"], [v[1] for v in s["values"]]) for s in frame["streams"]],
                         [({"app": "tail"}, ["keep old"])])
        ts = time.time_ns()
        body = snappy_compress(push_request([
            ('{app="tail"}', [(ts, "keep new", []), (ts + 1, "drop new", [])]),
            ('{app="other"}', [(ts + 2, "keep but other stream", [])])]))
        status, _, _ = self.d.request("POST", "/loki/api/v1/push", body,
                                      {"Content-Type": "application/x-protobuf"})
        self.assertEqual(status, 204)
        frame = self.recv_json(conn)
        self.assertEqual(frame["streams"], [{"stream": {"app": "tail"},
                                             "values": [[str(ts), "keep new"]]}])
        conn.send_ping(b"hi")
        self.assertEqual(conn.recv(timeout=5), (ws.PONG, b"hi"))
        conn.send_close(1000, "bye")
        with self.assertRaises(ws.WsClosed) as cm:
            while True:
                if conn.recv(timeout=5) is None:
                    self.fail("no close frame from the double")
        self.assertEqual(cm.exception.code, 1000)
        self.wait_tails_active(0)
        rec = self.d.requests("/loki/api/v1/tail")[0]
        self.assertEqual(rec["status"], 101)
        self.assertEqual(rec["tail"], {"frames_sent": 2, "close_code": 1000})
        self.assertEqual(self.d.tails()["total"], 1)

    def test_thread_exits_when_client_vanishes(self):
        conn = self.open_tail('{app="tail"} |= "nothing matches this"')
        self.wait_tails_active(1)
        conn.close()  # no close frame
        self.wait_tails_active(0)

    def test_frames_sent_with_the_upgrade_request(self):
        # A client (or proxy) may send its first frames in the same segment as the handshake.
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode({"query": '{app="none"}'})
        head = ("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target, key))
        ping = bytes([0x89, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2])
        sock = socket.create_connection((HOST, self.d.port), timeout=5)
        self.addCleanup(sock.close)
        sock.sendall(head.encode() + ping)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        status_line, _, rest = buf.partition(b"\r\n")
        self.assertIn(b" 101 ", status_line)
        self.assertIn(("Sec-WebSocket-Accept: %s" % ws.accept_key(key)).encode(), rest)
        conn = ws.WsConn(sock, is_client=True, prefix=rest.partition(b"\r\n\r\n")[2])
        self.assertEqual(conn.recv(timeout=5), (ws.PONG, b"hi"))

    def test_protocol_errors_end_the_tail(self):
        cases = [
            ("unmasked frame", bytes([0x81, 0x02]) + b"hi"),
            ("reserved bits", bytes([0xC1, 0x80, 1, 2, 3, 4])),
            ("long ping", bytes([0x89, 0xFE, 0x00, 0x7E]) + b"\0" * 4 + b"p" * 126),
            ("fragmented ping", bytes([0x09, 0x80, 1, 2, 3, 4])),
            ("unknown opcode", bytes([0x83, 0x80, 1, 2, 3, 4])),
            ("huge length", bytes([0x82, 0xFF]) + (1 << 62).to_bytes(8, "big") + b"\0" * 4),
            ("lone continuation", bytes([0x80, 0x80, 1, 2, 3, 4])),
        ]
        for name, frame in cases:
            with self.subTest(name):
                conn = self.open_tail('{app="tail"} |= "nothing matches this"')
                conn.sock.sendall(frame)
                with self.assertRaises(ws.WsClosed) as cm:
                    while conn.recv(timeout=5) is not None:
                        pass
                    self.fail("the double did not close")
                self.assertEqual(cm.exception.code, 1002)
                self.wait_tails_active(0)
                rec = self.d.requests("/loki/api/v1/tail")[-1]
                self.assertIn("protocol_error", rec["tail"])

    def test_no_backlog_when_nothing_matches(self):
        conn = self.open_tail('{app="tail"} |= "nothing matches this"')
        self.assertIsNone(conn.recv(timeout=0.5))

    def test_refusals(self):
        cases = [
            ({"query": '{app="tail"}'}, False, "websocket: the client is not using the "
                                              "websocket protocol"),
            ({"query": 'count_over_time({app="tail"}[1m])'}, True,
             "tail not supported for metric queries"),
            ({"query": '{app="tail"', }, True, "parse error at line 1"),
            ({"query": '{app="tail"}', "delay_for": "6"}, True,
             "delay_for can't be greater than 5"),
        ]
        for params, upgrade, prefix in cases:
            with self.subTest(params=params, upgrade=upgrade):
                target = "/loki/api/v1/tail?" + urllib.parse.urlencode(params)
                if upgrade:
                    conn, status, hdrs = ws.client_connect(HOST, self.d.port, target)
                    body = hdrs.get("__body__", "")
                else:
                    status, _, body = get(self.d, target)
                self.assertEqual(status, 400)
                self.assertTrue(body.startswith(prefix), body)


class HttpRobustnessTest(unittest.TestCase):
    """Random parameter soup on every endpoint: answers are 2xx/4xx, never a double crash."""

    PATHS = ["/loki/api/v1/query", "/loki/api/v1/query_range", "/loki/api/v1/labels",
             "/loki/api/v1/label/app/values", "/loki/api/v1/series", "/loki/api/v1/index/stats",
             "/loki/api/v1/index/volume", "/loki/api/v1/index/volume_range",
             "/loki/api/v1/patterns", "/loki/api/v1/detected_labels",
             "/loki/api/v1/detected_fields", "/loki/api/v1/detected_field/level/values",
             "/loki/api/v1/tail", "/loki/api/v1/push", "/loki/api/v1/delete"]
    VALUES = {
        "query": ['{app="api"}', 'sum(rate({app="api"}[1m]))', '{}', '{app=~".+"} | json', 'x',
                  '', '{app="api"} |= "a" [5m]', '1+1', 'vector(1)', '{a="b"}|logfmt|x>1s'],
        "start": ["", "0", "1763790000", "1.5", "abc", "-5", "99999999999999999999",
                  "2025-11-22T05:40:14Z", "nan", "1e3", "1.5e400", "inf."],
        "end": ["", "1763793600", "0", "x", "1763790000.999"],
        "limit": ["", "0", "-1", "1", "5001", "x", "99999999999999999999"],
        "step": ["", "0", "-1", "1", "10s", "x", "0.0001", "1e9", "inf", "nan", "-inf"],
        "direction": ["", "forward", "BACKWARD", "x"],
        "since": ["", "1h", "x", "-1h"],
        "targetLabels": ["", "app", "app,env", ",,"],
        "aggregateBy": ["", "labels", "series", "x"],
        "match[]": ['{}', '{app="api"}', 'x', '{a!="b"}', ''],
        "time": ["", "1763790060", "x", "1e400."],
        "line_limit": ["", "0", "x"], "delay_for": ["", "6", "x"], "request_id": ["", "x"],
    }
    BODIES = [b"", b"{}", b'{"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]}',
              b"\x00\x01", b'{"streams":[{"stream":{},"values":[]}]}', b'{"streams":null}',
              b"[]", b'{"streams":[1]}', b'{"streams":[{"stream":{"a":1}}]}']

    def test_no_server_errors(self):
        rnd = random.Random(20261122)
        with LokiDouble(seed=SEED) as d:
            for _ in range(600):
                path = rnd.choice(self.PATHS)
                params = [(k, rnd.choice(v)) for k, v in self.VALUES.items()
                          if rnd.random() < 0.4]
                method, body, headers = rnd.choice(["GET", "POST"]), None, {}
                if path.endswith("/push"):
                    method, body = "POST", rnd.choice(self.BODIES)
                    headers["Content-Type"] = rnd.choice(["application/json",
                                                          "application/x-protobuf", ""])
                    if rnd.random() < 0.3:
                        headers["Content-Encoding"] = rnd.choice(["gzip", "snappy", "br"])
                target = path + "?" + urllib.parse.urlencode(params)
                status, _, data = d.request(method, target, body, headers)
                self.assertLess(status, 500, (method, target, data[:2000]))


class DeleteTest(unittest.TestCase):
    def test_delete_requests(self):
        with LokiDouble(multi_tenant=True) as d:
            org = {"X-Scope-OrgID": "org1"}

            def call(method, params):
                return d.request(method, "/loki/api/v1/delete?" + urllib.parse.urlencode(params),
                                 headers=org)

            status, _, _ = call("POST", {"query": '{app="a"} |= "secret"', "start": "1000"})
            self.assertEqual(status, 204)
            status, _, _ = call("PUT", {"query": '{app!="b"}', "start": "1000", "end": "2000"})
            self.assertEqual(status, 204)  # validate=false: an empty-compatible selector is fine
            status, _, body = call("GET", {})
            reqs = json.loads(body)
            self.assertEqual([(r["query"], r["start_time"], r["status"]) for r in reqs],
                             [('{app="a"} |= "secret"', 1000, "received"),
                              ('{app!="b"}', 1000, "received")])
            self.assertEqual(reqs[1]["end_time"], 2000)
            other = d.request("GET", "/loki/api/v1/delete", headers={"X-Scope-OrgID": "org2"})
            self.assertEqual(json.loads(other[2]), [])
            self.assertEqual(call("DELETE", {"request_id": reqs[0]["request_id"]})[0], 204)
            self.assertEqual(len(json.loads(call("GET", {})[2])), 1)
            cases = [
                ("DELETE", {"request_id": "nope"}, 404, "could not find delete request"),
                ("POST", {"query": '{app="a"} | json', "start": "1"}, 400,
                 "invalid query expression"),
                ("POST", {"query": '{app="a"'}, 400, "parse error at line 1"),
                ("POST", {"query": '{app="a"}'}, 400, "start time not set"),
                ("POST", {"query": '{app="a"}', "start": "20", "end": "10"}, 400,
                 "start time can't be greater than end time"),
            ]
            for method, params, code, prefix in cases:
                with self.subTest(method=method, params=params):
                    status, _, body = call(method, params)
                    self.assertEqual(status, code)
                    self.assertTrue(body.decode().startswith(prefix), body)


class RulesTest(unittest.TestCase):
    GROUP = ("name: errors\nrules:\n  - alert: Many\n"
             "    expr: sum(rate({app=\"api\"} |= \"error\" [5m])) > 1\n")

    def test_rule_groups(self):
        with LokiDouble(multi_tenant=True) as d:
            org = {"X-Scope-OrgID": "org1", "Content-Type": "application/yaml"}

            def call(method, path, body=None):
                status, hdrs, data = d.request(method, "/loki/api/v1/rules" + path, body, org)
                return status, hdrs.get("content-type"), data.decode()

            self.assertEqual(call("GET", ""), (404, "text/plain; charset=utf-8",
                                               "no rule groups found\n"))
            status, _, body = call("POST", "/ns1", self.GROUP.encode())
            self.assertEqual((status, json.loads(body)["status"]), (202, "success"))
            self.assertEqual(call("POST", "/ns1", b"name: other\nrules: []\n")[0], 202)
            self.assertEqual(call("GET", "/ns1/errors"), (200, "application/yaml", self.GROUP))
            status, ctype, text = call("GET", "")
            self.assertEqual(text, '"ns1":\n    - name: errors\n      rules:\n'
                                   '        - alert: Many\n          expr: sum(rate({app="api"}'
                                   ' |= "error" [5m])) > 1\n    - name: other\n'
                                   '      rules: []\n')
            self.assertEqual(d.request("GET", "/loki/api/v1/rules",
                                       headers={"X-Scope-OrgID": "org2"})[0], 404)
            self.assertEqual(call("DELETE", "/ns1/errors")[0], 202)
            self.assertEqual(call("GET", "/ns1/errors")[0], 404)
            self.assertEqual(call("DELETE", "/ns1")[0], 202)
            self.assertEqual(call("GET", "/ns1")[0], 404)
            cases = [("POST", "/ns1", b"rules: []\n", 400), ("POST", "", b"", 405),
                     ("PUT", "/ns1", b"", 405), ("GET", "/a/b/c", None, 404),
                     ("DELETE", "/nope", None, 404)]
            for method, path, body, code in cases:
                with self.subTest(method=method, path=path):
                    self.assertEqual(call(method, path, body)[0], code)
            rec = d.requests("/loki/api/v1/rules/ns1")[0]
            self.assertEqual(rec["body_text"], self.GROUP)


class GzipTest(unittest.TestCase):
    def test_gzip_responses(self):
        with LokiDouble(seed=SEED, gzip_responses=True) as d:
            plain = d.request("GET", "/loki/api/v1/labels?start=%d" % T0)
            zipped = d.request("GET", "/loki/api/v1/labels?start=%d" % T0,
                               headers={"Accept-Encoding": "deflate, gzip;q=0.8"})
            self.assertNotIn("content-encoding", plain[1])
            self.assertEqual(zipped[1]["content-encoding"], "gzip")
            self.assertEqual(zipped[1]["vary"], "Accept-Encoding")
            self.assertEqual(json.loads(gzip.decompress(zipped[2])), json.loads(plain[2]))
            self.assertEqual(json.loads(plain[2])["data"], ["app", "env", "team"])
        with LokiDouble(seed=SEED) as d:  # off by default
            r = d.request("GET", "/loki/api/v1/labels", headers={"Accept-Encoding": "gzip"})
            self.assertNotIn("content-encoding", r[1])


class StartupTest(unittest.TestCase):
    def test_bad_seeds_fail_at_start(self):
        cases = [
            ({"bogus": 1}, "seed must be a list of streams"),
            ([{"labels": {}, "entries": []}], "non-empty labels"),
            ([{"labels": {"a": "b"}, "entries": [["now-5parsecs", "x"]]}],
             "bad relative seed timestamp"),
        ]
        for seed, message in cases:
            with self.subTest(seed=seed):
                with self.assertRaises(RuntimeError) as cm:
                    LokiDouble(seed=seed, timeout=10)
                self.assertIn(message, str(cm.exception))

    def test_seed_order_and_relative_times(self):
        seed = [{"stream": {"a": "b"}, "values": [["now", "third"], ["now-1m", "first"],
                                                  ["now-1m", "second"]]}]
        with LokiDouble(seed=seed) as d:
            entries = d.streams()["fake"][0]["entries"]
            self.assertEqual([e[1] for e in entries], ["first", "second", "third"])
            self.assertEqual(int(entries[2][0]) - int(entries[0][0]), 60 * NS)


class ModeTest(unittest.TestCase):
    def test_close_mode_records_then_drops(self):
        with LokiDouble() as d:
            d.set_mode("close")
            status = None
            try:
                status = get(d, "/loki/api/v1/labels")[0]
            except (ConnectionError, OSError):
                pass
            self.assertIsNone(status)
            self.assertEqual(d.requests()[0]["status"], "closed")
            d.set_mode("normal")
            self.assertEqual(get(d, "/loki/api/v1/labels")[0], 200)


if __name__ == "__main__":
    unittest.main()
