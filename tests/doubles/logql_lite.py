"""A small LogQL parser and evaluator for the Loki test double (Python 3 standard library only).

It understands enough LogQL to answer the queries obsgate's tests send, and says so when it
does not (Unsupported, which the double answers with 400):

  log queries      {l="v", l!="v", l=~"re", l!~"re"} followed by a pipeline: line filters
                   |= != |~ !~ |> !> (with `or` alternatives and ip("...")), parsers (json,
                   logfmt, regexp, pattern, unpack), label filters (string, number, duration,
                   bytes, ip; and/or/","/parentheses), line_format, label_format, drop, keep,
                   decolorize (see logql_pipeline.py)
  range functions  count_over_time, rate, bytes_over_time, bytes_rate, absent_over_time over
                   {..} pipeline [range] [offset d], in any of LogQL's three spellings
  aggregations     sum avg min max count stddev stdvar topk bottomk sort sort_desc, with
                   by/without before or after the arguments
  binary ops       + - * / % ^ == != > >= < <= (with bool) and or unless, on()/ignoring(),
                   group_left/group_right are parsed; one-to-one matching is evaluated
  literals         numbers and vector(n)

Errors are LogQLError with Loki's text: "parse error at line L, col C: syntax error: ...".
Label regexes are anchored (Python re fullmatch); line-filter regexes are unanchored (search).
"""

import bisect
import ipaddress
import math
import re

import logql_pipeline as lp
from wire import WireError, unquote_go

MAX_INPUT = 131072
EMPTY_COMPAT = ("queries require at least one regexp or equality matcher that does not have an "
                "empty-compatible value. For instance, app=~\".*\" does not meet this "
                "requirement, but app=~\".+\" will")


class LogQLError(Exception):
    pass


class Unsupported(LogQLError):
    pass


# ---------------------------------------------------------------------------------------------
# Durations


_DUR_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
              "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
              "d": 86_400_000_000_000, "w": 604_800_000_000_000, "y": 31_536_000_000_000_000}
_DUR_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w|y)")


def parse_duration(text):
    """A Go/Prometheus duration ("5m", "1h30m", "250ms", "1.5s") in nanoseconds, or None."""
    if not text:
        return None
    neg = text.startswith("-")
    body = text[1:] if neg else text
    pos = 0
    total = 0.0
    while pos < len(body):
        m = _DUR_RE.match(body, pos)
        if not m:
            return None
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    if pos == 0:
        return None
    return -int(total) if neg else int(total)


# ---------------------------------------------------------------------------------------------
# Lexer


class Tok:
    __slots__ = ("kind", "text", "value", "line", "col")

    def __init__(self, kind, text, value, line, col):
        self.kind, self.text, self.value, self.line, self.col = kind, text, value, line, col

    def __repr__(self):
        return "Tok(%s %r)" % (self.kind, self.text)


_OPS = ["|=", "|~", "|>", "!=", "!~", "!>", "=~", "==", ">=", "<=", "=", "|", ">", "<", "+",
        "-", "*", "/", "%", "^", ","]
_PUNCT = {"{": "OPEN_BRACE", "}": "CLOSE_BRACE", "(": "OPEN_PARENTHESIS",
          ")": "CLOSE_PARENTHESIS"}
_OP_NAMES = {"|=": "PIPE_EXACT", "|~": "PIPE_MATCH", "|>": "PIPE_PATTERN", "!=": "NEQ",
             "!~": "NRE", "!>": "NPA", "=~": "RE", "==": "CMP_EQ", ">=": "GTE", "<=": "LTE",
             "=": "EQ", "|": "PIPE", ">": "GT", "<": "LT", "+": "ADD", "-": "SUB", "*": "MUL",
             "/": "DIV", "%": "MOD", "^": "POW", ",": "COMMA"}


def _err(line, col, msg):
    return LogQLError("parse error at line %d, col %d: %s" % (line, col, msg))


def lex(text):
    toks = []
    i = 0
    line, col0 = 1, 0
    n = len(text)
    while i < n:
        c = text[i]
        col = i - col0 + 1
        if c == "\n":
            line += 1
            col0 = i + 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in _PUNCT:
            toks.append(Tok(c, c, None, line, col))
            i += 1
            continue
        if c == "[":
            j = text.find("]", i)
            if j < 0:
                raise _err(line, col, "missing closing ']' in duration")
            raw = text[i + 1:j].strip()
            d = parse_duration(raw)
            if d is None:
                raise _err(line, col, "not a valid duration string: %r" % raw)
            if d <= 0:
                raise _err(line, col, "syntax error: unexpected RANGE")
            toks.append(Tok("RANGE", text[i:j + 1], d, line, col))
            i = j + 1
            continue
        if c in "\"'`":
            try:
                value, j = unquote_go(text, i + 1, c if c != "'" else "'")
            except WireError as e:
                raise _err(line, col, str(e))
            toks.append(Tok("STRING", text[i:j], value, line, col))
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and (text[j].isalnum() or text[j] in ".µμ" or
                             (text[j] in "+-" and text[j - 1] in "eE" and
                              text[i:j].replace(".", "").replace("e", "").replace("E", "")
                              .isdigit())):
                j += 1
            raw = text[i:j]
            try:
                toks.append(Tok("NUMBER", raw, float(raw), line, col))
            except ValueError:
                d = parse_duration(raw)
                if d is not None:
                    toks.append(Tok("DURATION", raw, d, line, col))
                elif lp.parse_bytes(raw) is not None:
                    toks.append(Tok("BYTES", raw, raw, line, col))
                else:
                    raise _err(line, col, "syntax error: unexpected IDENTIFIER")
            i = j
            continue
        if c == "_" or c.isalpha():
            j = i
            while j < n and (text[j] == "_" or text[j].isalnum()):
                j += 1
            toks.append(Tok("IDENT", text[i:j], text[i:j], line, col))
            i = j
            continue
        for op in _OPS:
            if text.startswith(op, i):
                toks.append(Tok("OP", op, op, line, col))
                i += len(op)
                break
        else:
            raise _err(line, col, "syntax error: unexpected character %r" % c)
    toks.append(Tok("EOF", "", None, line, n - col0 + 1))
    return toks


def _describe(t):
    if t.kind == "EOF":
        return "$end"
    if t.kind == "IDENT":
        return "IDENTIFIER"
    if t.kind in ("STRING", "NUMBER", "DURATION", "RANGE", "BYTES"):
        return t.kind
    if t.kind == "OP":
        return _OP_NAMES.get(t.text, t.text)
    return _PUNCT.get(t.kind, t.kind)


# ---------------------------------------------------------------------------------------------
# AST


class Matcher:
    def __init__(self, name, op, value, tok):
        self.name, self.op, self.value = name, op, value
        self.rx = None
        if op in ("=~", "!~"):
            try:
                self.rx = re.compile(value, re.DOTALL)
            except re.error as e:
                raise _err(tok.line, tok.col, "error parsing regexp: %s: `%s`" % (e, value))

    def matches(self, v):
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        m = self.rx.fullmatch(v) is not None
        return m if self.op == "=~" else not m


class Selector:
    def __init__(self, matchers):
        self.matchers = matchers

    def matches(self, labels):
        return all(m.matches(labels.get(m.name, "")) for m in self.matchers)

    def non_empty(self):
        return any(not m.matches("") for m in self.matchers)


class LineFilter:
    def __init__(self, op, alts):
        self.op = op  # one of |= != |~ !~ |> !>
        self.alts = alts  # [(kind, value, compiled)]

    def _one(self, kind, value, compiled, line):
        if kind == "ip":
            return compiled(line)
        if self.op in ("|=", "!="):
            return value in line
        if self.op in ("|~", "!~"):
            return compiled.search(line) is not None
        return compiled.fullmatch(line) is not None

    def keep(self, line):
        hit = any(self._one(k, v, c, line) for k, v, c in self.alts)
        return hit if self.op in ("|=", "|~", "|>") else not hit


class LogExpr:
    def __init__(self, selector, pipeline):
        self.selector, self.pipeline = selector, pipeline

    def process(self, ts, stream_labels, meta, line):
        """The entry after the pipeline (a logql_pipeline.State), or None if it is dropped."""
        return lp.run(self.pipeline, ts, stream_labels, meta, line)

    def line_filters_only(self):
        """The line filters if the pipeline has nothing else (labels stay as stored), else
        None."""
        if all(isinstance(s, lp.LineFilterStage) for s in self.pipeline):
            return [s.f for s in self.pipeline]
        return None

    def has_unwrap(self):
        return any(isinstance(s, lp.UnwrapMarker) for s in self.pipeline)


class LogRange:
    def __init__(self, log, rng, tok):
        self.log, self.range, self.offset, self.tok = log, rng, 0, tok


class RangeAgg:
    def __init__(self, op, rng, param, grouping):
        self.op, self.rng, self.param, self.grouping = op, rng, param, grouping


class VectorAgg:
    def __init__(self, op, inner, param, grouping):
        self.op, self.inner, self.param, self.grouping = op, inner, param, grouping


class Literal:
    def __init__(self, value):
        self.value = value


class VectorLit:
    def __init__(self, value):
        self.value = value


class BinOp:
    def __init__(self, op, lhs, rhs, mods):
        self.op, self.lhs, self.rhs, self.mods = op, lhs, rhs, mods


RANGE_AGGS = ("count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time",
              "sum_over_time", "avg_over_time", "max_over_time", "min_over_time",
              "stddev_over_time", "stdvar_over_time", "quantile_over_time", "first_over_time",
              "last_over_time", "rate_counter")
SUPPORTED_RANGE = ("count_over_time", "rate", "bytes_over_time", "bytes_rate",
                   "absent_over_time")
VECTOR_AGGS = ("sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk",
               "sort", "sort_desc", "approx_topk")
BIN_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3,
            "<=": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}
LINE_OPS = ("|=", "!=", "|~", "!~", "|>", "!>")
STAGE_END_OPS = ("|", "|=", "|~", "|>")


def is_metric(e):
    return not isinstance(e, (LogExpr, LogRange))


# ---------------------------------------------------------------------------------------------
# Parser


def _pattern_regex(p):
    out = []
    for i, part in enumerate(re.split(r"(<[A-Za-z_][A-Za-z0-9_]*>)", p)):
        if i % 2 == 1:  # a capture
            out.append("(?:.*?)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.DOTALL)


_IP_RE = re.compile(r"[0-9a-fA-F:.]{2,}")


def _ip_matcher(spec):
    contains = _ip_contains(spec)

    def check(line):
        for cand in _IP_RE.findall(line):
            try:
                if contains(ipaddress.ip_address(cand.strip(".:"))):
                    return True
            except ValueError:
                continue
        return False
    return check


def _ip_contains(spec):
    spec = spec.strip()
    if "-" in spec:
        a, b = spec.split("-", 1)
        lo, hi = ipaddress.ip_address(a.strip()), ipaddress.ip_address(b.strip())

        def contains(ip):
            return ip.version == lo.version and lo <= ip <= hi
    elif "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)

        def contains(ip):
            return ip.version == net.version and ip in net
    else:
        one = ipaddress.ip_address(spec)

        def contains(ip):
            return ip == one
    return contains


class Parser:
    def __init__(self, text):
        self.toks = lex(text)
        self.i = 0

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self):
        t = self.toks[self.i]
        if self.i < len(self.toks) - 1:
            self.i += 1
        return t

    def unexpected(self, t, expecting=None):
        msg = "syntax error: unexpected %s" % _describe(t)
        if expecting:
            msg += ", expecting %s" % expecting
        return _err(t.line, t.col, msg)

    def expect(self, kind, text=None, expecting=None):
        t = self.peek()
        if t.kind != kind or (text is not None and t.text != text):
            raise self.unexpected(t, expecting or text or kind)
        return self.next()

    def is_op(self, text, k=0):
        t = self.peek(k)
        return t.kind == "OP" and t.text == text

    def is_word(self, word, k=0):
        t = self.peek(k)
        return t.kind == "IDENT" and t.text.lower() == word

    # -- expressions

    def parse(self):
        e = self.expr(1)
        t = self.peek()
        if t.kind != "EOF":
            raise self.unexpected(t)
        if isinstance(e, LogRange):
            raise _err(e.tok.line, e.tok.col, "syntax error: unexpected RANGE")
        return e

    def _bin_op(self):
        t = self.peek()
        if t.kind == "OP" and t.text in BIN_PREC and t.text != "=":
            return t.text
        if t.kind == "IDENT" and t.text.lower() in ("and", "or", "unless"):
            return t.text.lower()
        return None

    def expr(self, min_prec):
        lhs = self.unary()
        while True:
            op = self._bin_op()
            if op is None or BIN_PREC[op] < min_prec:
                return lhs
            optok = self.next()
            mods = self.bin_modifiers()
            rhs = self.expr(BIN_PREC[op] if op == "^" else BIN_PREC[op] + 1)
            for side in (lhs, rhs):
                if not is_metric(side):
                    raise _err(optok.line, optok.col,
                               "syntax error: unexpected %s" % _describe(optok))
                if op in ("and", "or", "unless") and isinstance(side, Literal):
                    raise LogQLError("parse error : unexpected literal for %s side of "
                                     "logical/set binary operation (%s)"
                                     % ("left" if side is lhs else "right", op))
            lhs = BinOp(op, lhs, rhs, mods)

    def bin_modifiers(self):
        mods = {"bool": False, "on": None, "ignoring": None, "group": None}
        if self.is_word("bool"):
            self.next()
            mods["bool"] = True
        for w in ("on", "ignoring"):
            if self.is_word(w) and self.peek(1).kind == "(":
                self.next()
                mods[w] = self.label_list()
        for w in ("group_left", "group_right"):
            if self.is_word(w):
                self.next()
                mods["group"] = (w, self.label_list() if self.peek().kind == "(" else [])
        return mods

    def label_list(self):
        self.expect("(")
        names = []
        while self.peek().kind != ")":
            names.append(self.expect("IDENT", expecting="IDENTIFIER").text)
            if self.is_op(","):
                self.next()
            elif self.peek().kind != ")":
                raise self.unexpected(self.peek(), "CLOSE_PARENTHESIS")
        self.next()
        return names

    def unary(self):
        t = self.peek()
        if t.kind == "OP" and t.text in ("-", "+") and self.peek(1).kind == "NUMBER":
            self.next()
            v = self.next().value
            return Literal(-v if t.text == "-" else v)
        if t.kind == "NUMBER":
            self.next()
            return Literal(t.value)
        if t.kind == "(":
            self.next()
            inner = self.expr(1)
            self.expect(")", expecting="CLOSE_PARENTHESIS")
            if isinstance(inner, LogExpr) and self.peek().kind == "RANGE":
                return self.log_range_tail(inner)
            return inner
        if t.kind == "{":
            log = self.log_expr()
            if self.peek().kind == "RANGE":
                return self.log_range_tail(log)
            return log
        if t.kind == "IDENT":
            name = t.text
            nxt = self.peek(1)
            grouped_first = nxt.kind == "IDENT" and nxt.text.lower() in ("by", "without")
            if name in RANGE_AGGS and nxt.kind == "(":
                return self.range_agg()
            if name in VECTOR_AGGS and (nxt.kind == "(" or grouped_first):
                return self.vector_agg()
            if name == "vector" and nxt.kind == "(":
                self.next()
                self.next()
                v = self.expect("NUMBER", expecting="NUMBER").value
                self.expect(")", expecting="CLOSE_PARENTHESIS")
                return VectorLit(v)
            if name == "label_replace" and nxt.kind == "(":
                raise Unsupported("label_replace is not supported by the Loki test double")
        raise self.unexpected(t)

    def log_range_tail(self, log):
        rt = self.next()
        lr = LogRange(log, rt.value, rt)
        # A pipeline may follow the range: {a="b"}[5m] |= "x"
        log.pipeline += self.pipeline()
        if self.is_word("offset"):
            self.next()
            d = self.expect("DURATION", expecting="DURATION")
            lr.offset = d.value
        return lr

    def grouping(self):
        w = self.next().text.lower()
        return (w, self.label_list())

    def range_agg(self):
        name_tok = self.next()
        op = name_tok.text
        self.expect("(")
        param = None
        if self.peek().kind == "NUMBER":
            param = self.next().value
            self.expect("OP", ",", expecting="COMMA")
        inner = self.expr(1)
        self.expect(")", expecting="CLOSE_PARENTHESIS")
        if not isinstance(inner, LogRange):
            raise _err(name_tok.line, name_tok.col,
                       "syntax error: unexpected %s" % ("RANGE" if inner is None else
                                                         "expression, expecting RANGE"))
        grouping = None
        if self.is_word("by") or self.is_word("without"):
            grouping = self.grouping()
        if op not in SUPPORTED_RANGE or inner.log.has_unwrap():
            raise Unsupported("%s with unwrap is not supported by the Loki test double" % op)
        if param is not None and op != "quantile_over_time":
            raise LogQLError("parse error : parameter %s not supported for operation %s"
                             % (_fmt_num(param), op))
        if grouping is not None and op in SUPPORTED_RANGE:
            raise LogQLError("parse error : grouping not allowed for %s aggregation" % op)
        return RangeAgg(op, inner, param, grouping)

    def vector_agg(self):
        name_tok = self.next()
        op = name_tok.text
        grouping = None
        if self.is_word("by") or self.is_word("without"):
            grouping = self.grouping()
        self.expect("(")
        param = None
        if op in ("topk", "bottomk", "approx_topk"):
            pt = self.expect("NUMBER", expecting="NUMBER")
            param = pt.value
            if param != int(param) or param <= 0:
                raise LogQLError("parse error : invalid parameter (must be greater than 0) "
                                 "%s(%s" % (op, _fmt_num(param)))
            self.expect("OP", ",", expecting="COMMA")
        inner = self.expr(1)
        self.expect(")", expecting="CLOSE_PARENTHESIS")
        if grouping is None and (self.is_word("by") or self.is_word("without")):
            grouping = self.grouping()
        if not is_metric(inner):
            raise _err(name_tok.line, name_tok.col, "syntax error: unexpected IDENTIFIER")
        if op == "approx_topk":
            raise Unsupported("approx_topk is not supported by the Loki test double")
        return VectorAgg(op, inner, param, grouping)

    # -- log expressions

    def selector(self):
        self.expect("{")
        matchers = []
        while True:
            t = self.peek()
            if t.kind == "}":
                self.next()
                break
            name = self.expect("IDENT", expecting="IDENTIFIER")
            opt = self.peek()
            if not (opt.kind == "OP" and opt.text in ("=", "!=", "=~", "!~")):
                raise self.unexpected(opt, "EQ or NEQ or RE or NRE")
            self.next()
            val = self.expect("STRING", expecting="STRING")
            matchers.append(Matcher(name.text, opt.text, val.value, val))
            if self.is_op(","):
                self.next()
                if self.peek().kind == "}":
                    raise self.unexpected(self.peek(), "IDENTIFIER")
            elif self.peek().kind != "}":
                raise self.unexpected(self.peek(), "CLOSE_BRACE or COMMA")
        return Selector(matchers)

    def log_expr(self):
        sel = self.selector()
        return LogExpr(sel, self.pipeline())

    def filter_arg(self, op):
        t = self.peek()
        if t.kind == "STRING":
            self.next()
            compiled = None
            if op in ("|~", "!~"):
                try:
                    compiled = re.compile(t.value)
                except re.error as e:
                    raise _err(t.line, t.col, "error parsing regexp: %s: `%s`" % (e, t.value))
            elif op in ("|>", "!>"):
                compiled = _pattern_regex(t.value)
            return ("str", t.value, compiled)
        if t.kind == "IDENT" and t.text == "ip" and self.peek(1).kind == "(":
            self.next()
            self.next()
            s = self.expect("STRING", expecting="STRING")
            self.expect(")", expecting="CLOSE_PARENTHESIS")
            try:
                return ("ip", s.value, _ip_matcher(s.value))
            except ValueError as e:
                raise _err(s.line, s.col, "invalid ip filter: %s" % e)
        raise self.unexpected(t, "STRING")

    def pipeline(self):
        stages = []
        while True:
            t = self.peek()
            if t.kind == "OP" and t.text in LINE_OPS:
                self.next()
                alts = [self.filter_arg(t.text)]
                while self.is_word("or") and (self.peek(1).kind == "STRING" or
                                              (self.peek(1).kind == "IDENT" and
                                               self.peek(1).text == "ip")):
                    self.next()
                    alts.append(self.filter_arg(t.text))
                stages.append(lp.LineFilterStage(LineFilter(t.text, alts)))
            elif self.is_op("|"):
                self.next()
                stages.append(self.stage())
            else:
                return stages

    def _next_is_end(self, k):
        t = self.peek(k)
        return t.kind in ("EOF", "RANGE", ")") or (t.kind == "OP" and t.text in LINE_OPS +
                                                   ("|",))

    def extraction_params(self):
        """json/logfmt parameters: a="path", b (meaning b="b"), comma separated."""
        params = []
        while True:
            t = self.peek()
            if t.kind == "IDENT" and self.is_op("=", 1) and self.peek(2).kind == "STRING":
                params.append((t.text, self.peek(2).value))
                self.i += 3
            elif t.kind == "IDENT" and t.text.lower() not in ("or", "and", "offset") and \
                    (self.is_op(",", 1) or self._next_is_end(1)):
                params.append((t.text, t.text))
                self.i += 1
            else:
                return params
            if not self.is_op(","):
                return params
            self.next()

    def stage(self):
        t = self.peek()
        word = t.text.lower() if t.kind == "IDENT" else ""
        if word == "json":
            self.next()
            return lp.JsonParser(self.extraction_params())
        if word == "logfmt":
            self.next()
            strict = keep_empty = False
            while self.is_op("-") and self.is_op("-", 1) and self.peek(2).kind == "IDENT":
                flag = self.peek(2).text
                self.i += 3
                if flag == "keep" and self.is_op("-") and self.is_word("empty", 1):
                    self.i += 2
                    keep_empty = True
                elif flag == "strict":
                    strict = True
                else:
                    raise _err(t.line, t.col, "syntax error: unexpected IDENTIFIER")
            return lp.LogfmtParser(self.extraction_params(), strict, keep_empty)
        if word == "unpack":
            self.next()
            return lp.UnpackParser()
        if word == "decolorize":
            self.next()
            return lp.Decolorize()
        if word == "regexp":
            self.next()
            s = self.expect("STRING", expecting="STRING")
            src = re.sub(r"\(\?<(?![=!])", "(?P<", s.value)
            try:
                rx = re.compile(src)
            except re.error as e:
                raise _err(s.line, s.col, "error parsing regexp: %s: `%s`" % (e, s.value))
            if not rx.groupindex:
                raise _err(s.line, s.col, "at least one named capture must be supplied")
            return lp.RegexpParser(rx)
        if word == "pattern":
            self.next()
            s = self.expect("STRING", expecting="STRING")
            rx, names = lp.compile_pattern(s.value)
            if not names:
                raise _err(s.line, s.col, "at least one capture is required")
            return lp.PatternParser(rx)
        if word == "line_format":
            self.next()
            s = self.expect("STRING", expecting="STRING")
            return lp.LineFormat(self.template(s))
        if word == "label_format":
            self.next()
            items = []
            while True:
                dst = self.expect("IDENT", expecting="IDENTIFIER")
                self.expect("OP", "=", expecting="EQ")
                v = self.peek()
                if v.kind == "IDENT":
                    self.next()
                    items.append((dst.text, "rename", v.text))
                elif v.kind == "STRING":
                    self.next()
                    items.append((dst.text, "template", self.template(v)))
                else:
                    raise self.unexpected(v, "IDENTIFIER or STRING")
                if not self.is_op(","):
                    return lp.LabelFormat(items)
                self.next()
        if word in ("drop", "keep"):
            self.next()
            items = []
            while True:
                name = self.expect("IDENT", expecting="IDENTIFIER")
                matcher = None
                o = self.peek()
                if o.kind == "OP" and o.text in ("=", "!=", "=~", "!~"):
                    self.next()
                    v = self.expect("STRING", expecting="STRING")
                    matcher = Matcher(name.text, o.text, v.value, v).matches
                items.append((name.text, matcher))
                if not self.is_op(","):
                    return lp.DropKeep(word == "keep", items)
                self.next()
        if word == "unwrap":
            self.next()
            self.expect("IDENT", expecting="IDENTIFIER")
            if self.peek().kind == "(":
                self.next()
                self.expect("IDENT", expecting="IDENTIFIER")
                self.expect(")", expecting="CLOSE_PARENTHESIS")
            return lp.UnwrapMarker()
        if t.kind in ("IDENT", "("):
            return lp.LabelFilterStage(self.label_filter())
        raise self.unexpected(t)

    def template(self, tok):
        try:
            return lp.Template(tok.value)
        except lp.Template.Error as e:
            raise Unsupported(str(e))

    # -- label filters: or < and (also "," and juxtaposition) < primary

    def label_filter(self):
        left = self.lf_and()
        while self.is_word("or"):
            self.next()
            left = lp.OrFilter(left, self.lf_and())
        return left

    def _starts_primary(self):
        t = self.peek()
        if t.kind == "(":
            return True
        nxt = self.peek(1)
        return (t.kind == "IDENT" and t.text.lower() not in ("and", "or", "offset") and
                nxt.kind == "OP" and nxt.text in LF_OPS)

    def lf_and(self):
        left = self.lf_primary()
        while True:
            if self.is_word("and") or self.is_op(","):
                self.next()
            elif not self._starts_primary():
                return left
            left = lp.AndFilter(left, self.lf_primary())

    def lf_primary(self):
        if self.peek().kind == "(":
            self.next()
            e = self.label_filter()
            self.expect(")", expecting="CLOSE_PARENTHESIS")
            return e
        name = self.expect("IDENT", expecting="IDENTIFIER").text
        o = self.peek()
        if not (o.kind == "OP" and o.text in LF_OPS):
            raise self.unexpected(o)
        self.next()
        op = o.text
        v = self.peek()
        if v.kind == "STRING":
            if op not in ("=", "!=", "=~", "!~", "=="):
                raise self.unexpected(v)
            self.next()
            rx = Matcher(name, op, v.value, v).rx if op in ("=~", "!~") else None
            return lp.StringFilter(name, op, v.value, rx)
        if v.kind == "IDENT" and v.text == "ip" and self.peek(1).kind == "(":
            if op not in ("=", "!=", "=="):
                raise self.unexpected(v)
            self.next()
            self.next()
            s = self.expect("STRING", expecting="STRING")
            self.expect(")", expecting="CLOSE_PARENTHESIS")
            try:
                contains = _ip_contains(s.value)
            except ValueError as e:
                raise _err(s.line, s.col, "invalid ip filter: %s" % e)
            return lp.IpFilter(name, op, contains)
        neg = 1
        if v.kind == "OP" and v.text in ("-", "+"):
            neg = -1 if v.text == "-" else 1
            self.next()
            v = self.peek()
        if op in ("=~", "!~"):
            raise self.unexpected(v, "STRING")
        if v.kind == "NUMBER":
            self.next()
            return lp.NumberFilter(name, op, neg * v.value, "number", _to_float)
        if v.kind == "DURATION":
            self.next()
            return lp.NumberFilter(name, op, neg * v.value / 1e9, "duration", _to_seconds)
        if v.kind == "BYTES":
            self.next()
            return lp.NumberFilter(name, op, neg * lp.parse_bytes(v.value), "bytes",
                                   lp.parse_bytes)
        raise self.unexpected(v)


LF_OPS = ("=", "!=", "=~", "!~", ">", ">=", "<", "<=", "==")


def _to_float(v):
    try:
        return float(v)
    except ValueError:
        return None


def _to_seconds(v):
    d = parse_duration(v.strip())
    return None if d is None else d / 1e9


def _check_selectors(e):
    if isinstance(e, LogExpr):
        if not e.selector.non_empty():
            raise LogQLError("parse error : " + EMPTY_COMPAT)
    elif isinstance(e, LogRange):
        _check_selectors(e.log)
    elif isinstance(e, RangeAgg):
        _check_selectors(e.rng)
    elif isinstance(e, VectorAgg):
        _check_selectors(e.inner)
    elif isinstance(e, BinOp):
        _check_selectors(e.lhs)
        _check_selectors(e.rhs)


def parse_expr(text):
    """ParseExpr: a log or metric query, validated (non-empty-compatible selectors)."""
    if len(text.encode("utf-8", "surrogatepass")) >= MAX_INPUT:
        raise LogQLError("parse error : input size too long (%d > %d)"
                         % (len(text.encode()), MAX_INPUT))
    e = Parser(text).parse()
    _check_selectors(e)
    return e


def parse_matchers(text, validate=True):
    """ParseMatchers: a bare stream selector {...}; returns a Selector."""
    p = Parser(text)
    if p.peek().kind != "{":
        raise p.unexpected(p.peek(), "OPEN_BRACE")
    sel = p.selector()
    if p.peek().kind != "EOF":
        raise LogQLError("only label matchers are supported")
    if validate and not sel.non_empty():
        raise LogQLError("parse error : " + EMPTY_COMPAT)
    return sel


def parse_log_selector(text, validate=True):
    """ParseLogSelector: a log query (selector and pipeline), not a metric query."""
    e = Parser(text).parse()
    if not isinstance(e, LogExpr):
        raise LogQLError("only log selector is supported")
    if validate:
        _check_selectors(e)
    return e


# ---------------------------------------------------------------------------------------------
# Data


class Stream:
    """One stream: its labels and its entries (ts_ns, line, metadata dict) in time order."""

    def __init__(self, labels):
        self.labels = dict(labels)
        self.key = tuple(sorted(self.labels.items()))
        self.ts = []
        self.entries = []

    def add(self, ts, line, meta):
        entry = (ts, line, dict(meta or {}))
        if not self.ts or ts >= self.ts[-1]:  # the usual case: in order
            self.ts.append(ts)
            self.entries.append(entry)
            return
        i = bisect.bisect_right(self.ts, ts)
        self.ts.insert(i, ts)
        self.entries.insert(i, entry)

    def window(self, lo, hi, lo_open=False, hi_open=True):
        """Entries with lo <= ts < hi (or lo < ts, ts <= hi per the flags)."""
        a = bisect.bisect_right(self.ts, lo) if lo_open else bisect.bisect_left(self.ts, lo)
        b = bisect.bisect_left(self.ts, hi) if hi_open else bisect.bisect_right(self.ts, hi)
        return self.entries[a:b]


def select(selector, streams):
    return [s for s in streams if selector.matches(s.labels)]


# ---------------------------------------------------------------------------------------------
# Evaluation


def eval_log(e, streams, start, end, limit, direction):
    """Entries of a log query with start <= ts < end: [(ts, State)] (see logql_pipeline.State)
    in direction order, at most limit; plus the number of lines and bytes looked at."""
    picked = []
    scanned = scanned_bytes = 0
    for s in select(e.selector, streams):
        for ts, line, meta in s.window(start, end):
            scanned += 1
            scanned_bytes += len(line.encode())
            st = e.process(ts, s.labels, meta, line)
            if st is not None:
                picked.append((ts, st))
    picked.sort(key=lambda x: x[0], reverse=(direction == "backward"))
    return picked[:limit], scanned, scanned_bytes


def _key(labels):
    return tuple(sorted(labels.items()))


def _range_agg(node, streams, t):
    lr = node.rng
    hi = t - lr.offset
    lo = hi - lr.range
    acc = {}
    simple = lr.log.line_filters_only()
    for s in select(lr.log.selector, streams):
        for ts, line, meta in s.window(lo, hi, lo_open=True, hi_open=False):
            if simple is not None and not meta:  # fast path: no stage changes the labels
                if all(f.keep(line) for f in simple):
                    cur = acc.setdefault(s.key, [s.labels, 0, 0])
                    cur[1] += 1
                    cur[2] += len(line.encode())
                continue
            st = lr.log.process(ts, s.labels, meta, line)
            if st is None:
                continue
            labels = st.labels()
            k = _key(labels)
            if "__error__" in labels:
                err = labels["__error__"]
                raise LogQLError(
                    "pipeline error: '%s' for series: '%s'.\nUse a label filter to "
                    "intentionally skip this error. (e.g | __error__!=\"%s\").\nTo skip all "
                    "potential errors you can match empty errors.(e.g __error__=\"\")"
                    % (err, "{" + ", ".join('%s="%s"' % kv for kv in k) + "}", err))
            cur = acc.setdefault(k, [labels, 0, 0])
            cur[1] += 1
            cur[2] += len(st.line.encode())
    secs = lr.range / 1e9
    out = []
    if node.op == "absent_over_time":
        if acc:
            return []
        labels = {m.name: m.value for m in lr.log.selector.matchers if m.op == "="}
        return [(labels, 1.0)]
    for labels, count, nbytes in acc.values():
        v = {"count_over_time": count, "rate": count / secs, "bytes_over_time": nbytes,
             "bytes_rate": nbytes / secs}[node.op]
        out.append((labels, float(v)))
    return out


def _group_key(labels, grouping):
    if grouping is None:
        return {}
    kind, names = grouping
    if kind == "by":
        return {n: labels[n] for n in names if labels.get(n, "") != ""}
    return {k: v for k, v in labels.items() if k not in names}


def _vector_agg(node, vec):
    op = node.op
    if op in ("sort", "sort_desc"):
        return sorted(vec, key=lambda x: x[1], reverse=(op == "sort_desc"))
    groups = {}
    for labels, v in vec:
        g = _group_key(labels, node.grouping)
        groups.setdefault(_key(g), (g, []))[1].append((labels, v))
    out = []
    for g, members in groups.values():
        vals = [v for _, v in members]
        if op == "sum":
            out.append((g, float(sum(vals))))
        elif op == "count":
            out.append((g, float(len(vals))))
        elif op == "min":
            out.append((g, min(vals)))
        elif op == "max":
            out.append((g, max(vals)))
        elif op == "avg":
            out.append((g, sum(vals) / len(vals)))
        elif op in ("stddev", "stdvar"):
            mean = sum(vals) / len(vals)
            var = sum((x - mean) ** 2 for x in vals) / len(vals)
            out.append((g, math.sqrt(var) if op == "stddev" else var))
        elif op in ("topk", "bottomk"):
            ranked = sorted(members, key=lambda x: x[1], reverse=(op == "topk"))
            out.extend(ranked[:int(node.param)])
    return out


def _arith(op, a, b):
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b != 0 else (math.nan if a == 0 else math.copysign(math.inf, a))
        if op == "%":
            return math.fmod(a, b) if b != 0 else math.nan
        if op == "^":
            return a ** b
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan
    cmp = {"==": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}
    return cmp[op]


def _match_key(labels, mods):
    if mods["on"] is not None:
        return _key({k: v for k, v in labels.items() if k in mods["on"]})
    ign = mods["ignoring"] or []
    return _key({k: v for k, v in labels.items() if k not in ign})


def _binop(node, t, streams):
    lhs = eval_at(node.lhs, streams, t)
    rhs = eval_at(node.rhs, streams, t)
    op, mods = node.op, node.mods
    comparison = op in ("==", "!=", ">", ">=", "<", "<=")
    if op in ("and", "or", "unless") and "scalar" in (lhs[0], rhs[0]):
        raise LogQLError("parse error : set operators are not allowed between scalars")
    if lhs[0] == "scalar" and rhs[0] == "scalar":
        v = _arith(op, lhs[1], rhs[1])
        return ("scalar", float(v))
    if op in ("and", "or", "unless"):
        lv, rv = lhs[1], rhs[1]
        rkeys = {_match_key(l, mods) for l, _ in rv}
        if op == "and":
            return ("vector", [(l, v) for l, v in lv if _match_key(l, mods) in rkeys])
        if op == "unless":
            return ("vector", [(l, v) for l, v in lv if _match_key(l, mods) not in rkeys])
        lkeys = {_match_key(l, mods) for l, _ in lv}
        return ("vector", lv + [(l, v) for l, v in rv if _match_key(l, mods) not in lkeys])

    def combine(labels, a, b, keep_value):
        r = _arith(op, a, b)
        if comparison:
            if mods["bool"]:
                return labels, float(bool(r))
            return (labels, keep_value) if r else None
        return labels, float(r)

    out = []
    if lhs[0] == "scalar" or rhs[0] == "scalar":
        for labels, v in (rhs[1] if lhs[0] == "scalar" else lhs[1]):
            a, b = (lhs[1], v) if lhs[0] == "scalar" else (v, rhs[1])
            if not comparison:
                labels = {}.__class__(labels)
            res = combine(labels, a, b, v)
            if res is not None:
                out.append(res)
        return ("vector", out)
    if mods["group"] is not None:
        raise Unsupported("group_left/group_right are not supported by the Loki test double")
    rmap = {}
    for labels, v in rhs[1]:
        rmap[_match_key(labels, mods)] = v
    for labels, v in lhs[1]:
        k = _match_key(labels, mods)
        if k in rmap:
            res = combine(dict(k) if not comparison else labels, v, rmap[k], v)
            if res is not None:
                out.append(res)
    return ("vector", out)


def eval_at(e, streams, t):
    """An instant metric evaluation at t (ns): ("vector", [(labels, value)]) or ("scalar", v)."""
    if isinstance(e, Literal):
        return ("scalar", float(e.value))
    if isinstance(e, VectorLit):
        return ("vector", [({}, float(e.value))])
    if isinstance(e, RangeAgg):
        return ("vector", _range_agg(e, streams, t))
    if isinstance(e, VectorAgg):
        inner = eval_at(e.inner, streams, t)
        if inner[0] != "vector":
            raise LogQLError("parse error : unexpected scalar in aggregation")
        return ("vector", _vector_agg(e, inner[1]))
    if isinstance(e, BinOp):
        return _binop(e, t, streams)
    raise LogQLError("parse error : not a metric query")


def eval_range(e, streams, start, end, step):
    """A range metric evaluation: ("matrix", [(labels, [(t, v)])]) or a scalar as matrix."""
    series = {}
    t = start
    while t <= end:
        kind, res = eval_at(e, streams, t)
        if kind == "scalar":
            res = [({}, res)]
        for labels, v in res:
            series.setdefault(_key(labels), (labels, []))[1].append((t, v))
        t += step
    return ("matrix", list(series.values()))


def _fmt_num(v):
    return fmt_value(v)


def fmt_value(v):
    """A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    r = repr(v)
    if "e" in r or "E" in r:
        r = format(v, ".17f").rstrip("0")
    return r
