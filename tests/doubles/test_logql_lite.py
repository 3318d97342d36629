"""Unit tests of logql_lite / logql_pipeline, in process (no server)."""

import random
import unittest

import logql_lite as lq
import logql_pipeline as lp

NS = 1_000_000_000

CORPUS = [
    '{app="api"}',
    '{app="api", env!="x"} |= "err" != "debug" |~ "t.*o" or "x" !~ "y"',
    '{app=~"a.+"} | json | level="error" != "x"',
    '{app="a"} | logfmt --strict --keep-empty a="b", c | line_format "{{.a | ToUpper}}"',
    '{app="a"} | pattern "<ip> - <_> <status>" | status >= 400 and ip = ip("10.0.0.0/8")',
    '{app="a"} | regexp `(?P<x>\\d+)` | x > 5 or (x < 2, x != 1)',
    '{app="a"} | label_format dst=src, t="{{.a}}-{{ __line__ }}" | drop a, b="c" | keep t',
    '{app="a"} | unpack | decolorize | d > 250ms | size <= 10KiB',
    'count_over_time({app="a"} |= "x" [5m])',
    'sum by (app) (rate({app=~"a.*"} | logfmt | __error__="" [1m] offset 1h))',
    'sum(count_over_time({app="a"}[5m])) by (env) / on(env) sum by (env) (rate({b="c"}[1m]))',
    'topk(2, sum without (x) (bytes_rate(({app="a"} |> "<_> x")[1m])))',
    'absent_over_time({app="a"}[1m]) or vector(0) > bool 1',
    '1 + 2 * 3 ^ 2 % 4 - -1',
    'sort_desc(count_over_time({a="b"}[30s] |= "x"))',
]
TOKENS = ['{', '}', '(', ')', '[5m]', '|', '|=', '!=', '|~', '=~', '!~', '"x"', '`y`', ',',
          'and', 'or', 'by', 'without', 'json', 'logfmt', 'sum', 'rate', 'count_over_time',
          '1', '-', '5s', '10KB', 'ip("1.2.3.4")', 'offset', 'unwrap', '#', '\\', '"', 'µ',
          'x', '==', '>', 'bool', 'on', 'group_left', 'vector', '[', ']']


def streams():
    out = []
    for i, labels in enumerate([{"app": "a", "env": "p"}, {"app": "api", "b": "c"}]):
        s = lq.Stream(labels)
        for j, line in enumerate(['level=error x=1 status=500 ip=10.1.1.1 d=1s size=2KB',
                                  '{"a": {"b": [1, 2]}, "t": true, "n": null, "f": 1.50}',
                                  'GET /x 404', '\x1b[31mred\x1b[0m x', '']):
            s.add((100 + 10 * j + i) * NS, line, {"m": "v"} if j % 2 else {})
        out.append(s)
    return out


class DurationTest(unittest.TestCase):
    def test_table(self):
        cases = [("5m", 300 * NS), ("1h30m", 5400 * NS), ("250ms", 250_000_000),
                 ("1.5s", 1_500_000_000), ("2d", 172_800 * NS), ("1w", 604_800 * NS),
                 ("-1s", -NS), ("10us", 10_000), ("3ns", 3), ("5minutes", None), ("", None),
                 ("5", None), ("m", None), ("1h 2m", None)]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(lq.parse_duration(text), want)

    def test_bytes(self):
        cases = [("10GB", 10e9), ("2.5KiB", 2560.0), ("42B", 42.0), ("42", 42.0),
                 ("1 MB", 1e6), ("1mib", 1048576.0), ("x", None), ("1iB", None)]
        for text, want in cases:
            with self.subTest(text=text):
                self.assertEqual(lp.parse_bytes(text), want)


class RobustnessTest(unittest.TestCase):
    def check(self, q, data):
        """Parsing and evaluating q raises nothing but LogQLError."""
        try:
            e = lq.parse_expr(q)
        except lq.LogQLError:
            return False
        try:
            if lq.is_metric(e):
                lq.eval_at(e, data, 150 * NS)
                lq.eval_range(e, data, 100 * NS, 160 * NS, 10 * NS)
            else:
                lq.eval_log(e, data, 0, 1000 * NS, 100, "forward")
        except lq.LogQLError:
            pass
        return True

    def test_corpus_parses_and_evaluates(self):
        data = streams()
        for q in CORPUS:
            with self.subTest(q=q):
                self.assertTrue(self.check(q, data), q)

    def test_regressions(self):
        # Inputs that once raised something else than LogQLError; True = parses.
        cases = [
            ('{app="a"} | size <= 10iB', False),
            ('1 and 2', False),
            ('count_over_time({a="b"}[1m]) or (0) > bool 1', True),
            ('{app="a"} | pattern "<ip> - <_><stat!=us>"', True),
            ('{app="a"} |> "<x><y!>"', True),
        ]
        data = streams()
        for q, parses in cases:
            with self.subTest(q=q):
                self.assertEqual(self.check(q, data), parses)

    def test_mutations_raise_only_logql_errors(self):
        rnd = random.Random(20261122)
        data = streams()
        for i in range(3000):
            q = rnd.choice(CORPUS)
            for _ in range(rnd.randint(1, 3)):
                pos = rnd.randint(0, len(q))
                op = rnd.random()
                if op < 0.4:
                    q = q[:pos] + rnd.choice(TOKENS) + q[pos:]
                elif op < 0.8:
                    q = q[:pos] + q[pos + rnd.randint(1, 4):]
                else:
                    q = q[:pos] + chr(rnd.randint(0, 0x2FF)) + q[pos:]
            try:
                self.check(q, data)
            except Exception as e:  # noqa: BLE001 - the point of the test
                self.fail("%r raised %s: %s" % (q, type(e).__name__, e))


if __name__ == "__main__":
    unittest.main()
