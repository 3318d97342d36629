"""The stages of a LogQL log pipeline, as the Loki double evaluates them (standard library only).

Each entry runs through the pipeline with a State: its line and its labels in three categories
(stream labels, structured metadata, parsed labels). A stage's apply(state) returns False to drop
the entry. run(pipeline, stream_labels, meta, line) returns the final State or None.

Semantics follow Loki's pkg/logql/log package where it matters to tests:
  - parsed labels that clash with a stream or metadata label are named <name>_extracted;
  - a parser failure sets __error__ (JSONParserErr, LogfmtParserErr) and __error_details__;
  - a numeric/duration/bytes label filter drops entries without the label, keeps entries that
    already have an error, and sets __error__=LabelFilterErr when the value does not convert;
  - line_format and label_format templates support {{.name}}, {{ __line__ }} and the functions
    ToUpper/ToLower/upper/lower in a pipe; anything else is refused when parsed.
"""

import ipaddress
import json
import re

_INVALID_KEY = re.compile(r"[^a-zA-Z0-9_]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def sanitize_key(key):
    key = _INVALID_KEY.sub("_", key.strip())
    if key and key[0].isdigit():
        key = "_" + key
    return key


class State:
    """One entry going through a pipeline. stream and meta are shared with the store until a
    stage deletes from them (copy on write): treat them as read-only."""

    __slots__ = ("ts", "line", "stream", "meta", "parsed", "_owned")

    def __init__(self, ts, line, stream, meta):
        self.ts = ts
        self.line = line
        self.stream = stream
        self.meta = meta if meta is not None else {}
        self.parsed = {}
        self._owned = False

    def get(self, name):
        for d in (self.parsed, self.meta, self.stream):
            if name in d:
                return d[name], True
        return "", False

    def set_parsed(self, name, value):
        if not name:
            return
        if name in self.stream or name in self.meta:
            name += "_extracted"
        self.parsed[name] = value

    def has_err(self):
        return "__error__" in self.parsed

    def set_err(self, kind, details):
        if not self.has_err():
            self.parsed["__error__"] = kind
            self.parsed["__error_details__"] = details

    def labels(self):
        """All labels (stream, then metadata, then parsed); do not modify the result."""
        if not self.meta and not self.parsed:
            return self.stream
        out = dict(self.stream)
        for k, v in self.meta.items():
            out.setdefault(k, v)
        out.update(self.parsed)
        return out

    def delete(self, name):
        if not self._owned and (name in self.stream or name in self.meta):
            self.stream, self.meta, self._owned = dict(self.stream), dict(self.meta), True
        for d in (self.parsed, self.meta, self.stream):
            d.pop(name, None)

    def names(self):
        return set(self.stream) | set(self.meta) | set(self.parsed)


def run(pipeline, ts, stream_labels, meta, line):
    st = State(ts, line, stream_labels, meta)
    for stage in pipeline:
        if not stage.apply(st):
            return None
    return st


# ---------------------------------------------------------------------------------------------
# Parsers


def _json_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else None


def _raw_json(text):
    # Numbers keep their text ("1.50" stays "1.50"), as Loki copies the raw bytes.
    return json.loads(text, parse_float=str, parse_int=str, parse_constant=str)


_PATH_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def json_path(doc, path):
    pos = 0
    cur = doc
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        if m.group(2) is not None:
            idx = int(m.group(2))
            if not isinstance(cur, list) or idx >= len(cur):
                return None
            cur = cur[idx]
        else:
            key = m.group(1) if m.group(1) is not None else m.group(3)
            if not isinstance(cur, dict) or key not in cur:
                return None
            cur = cur[key]
    if isinstance(cur, (dict, list)):
        return json.dumps(cur, separators=(",", ":"))
    if cur is None:
        return ""
    return _json_scalar(cur) if isinstance(cur, bool) else str(cur)


class JsonParser:
    def __init__(self, params):
        self.params = params  # [(label, path)]

    def apply(self, st):
        try:
            doc = _raw_json(st.line)
        except ValueError as e:
            st.set_err("JSONParserErr", str(e))
            return True
        if not isinstance(doc, dict):
            st.set_err("JSONParserErr", "Value looks like object, but can't find closing '}'")
            return True
        if self.params:
            for label, path in self.params:
                v = json_path(doc, path)
                if v is not None:
                    st.set_parsed(sanitize_key(label), v)
            return True

        def walk(d, prefix):
            for k, v in d.items():
                key = prefix + sanitize_key(k)
                if isinstance(v, dict):
                    walk(v, key + "_")
                elif isinstance(v, list) or v is None:
                    continue
                else:
                    st.set_parsed(key, _json_scalar(v))
        walk(doc, "")
        return True


class UnpackParser:
    def apply(self, st):
        try:
            doc = json.loads(st.line)
        except ValueError as e:
            st.set_err("JSONParserErr", str(e))
            return True
        if not isinstance(doc, dict):
            st.set_err("JSONParserErr", "expecting json object")
            return True
        for k, v in doc.items():
            if not isinstance(v, str):
                continue
            if k == "_entry":
                st.line = v
            else:
                st.set_parsed(sanitize_key(k), v)
        return True


class LogfmtParser:
    def __init__(self, params, strict, keep_empty):
        self.params = params
        self.strict = strict
        self.keep_empty = keep_empty

    @staticmethod
    def pairs(line):
        """[(key, value, ok)]: ok is False for a malformed pair (value then holds the reason)."""
        out = []
        i, n = 0, len(line)
        while i < n:
            while i < n and line[i] in " \t":
                i += 1
            if i >= n:
                break
            j = i
            while j < n and line[j] not in " \t=\"":
                j += 1
            key = line[i:j]
            if j < n and line[j] == '"':
                out.append(("", "unexpected '\"'", False))
                while j < n and line[j] not in " \t":
                    j += 1
                i = j
                continue
            if not key:
                out.append(("", "unexpected '='", False))
                while j < n and line[j] not in " \t":
                    j += 1
                i = j
                continue
            if j >= n or line[j] != "=":
                out.append((key, "", True))
                i = j
                continue
            j += 1
            if j < n and line[j] == '"':
                k = j + 1
                buf = []
                while k < n and line[k] != '"':
                    if line[k] == "\\" and k + 1 < n:
                        k += 1
                        buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(line[k], line[k]))
                    else:
                        buf.append(line[k])
                    k += 1
                if k >= n:
                    out.append((key, "unterminated quoted value", False))
                    break
                out.append((key, "".join(buf), True))
                i = k + 1
            else:
                k = j
                while k < n and line[k] not in " \t":
                    k += 1
                out.append((key, line[j:k], True))
                i = k
        return out

    def apply(self, st):
        wanted = dict((path, label) for label, path in self.params) if self.params else None
        for key, value, ok in self.pairs(st.line):
            if not ok:
                if self.strict:
                    st.set_err("LogfmtParserErr", "logfmt syntax error: " + value)
                    return True
                continue
            if value == "" and not self.keep_empty:
                continue
            if wanted is not None:
                if key in wanted:
                    st.set_parsed(sanitize_key(wanted[key]), value)
                continue
            st.set_parsed(sanitize_key(key), value)
        return True


class RegexpParser:
    def __init__(self, compiled):
        self.rx = compiled

    def apply(self, st):
        m = self.rx.search(st.line)
        if m:
            for name, v in m.groupdict().items():
                if v is not None:
                    st.set_parsed(name, v)
        return True


def compile_pattern(p):
    """A Loki pattern ("<ip> - <_> <status>") as a regex anchored at the start; returns
    (regex, capture names)."""
    out = ["^"]
    names = []
    parts = re.split(r"(<[A-Za-z_][A-Za-z0-9_]*>)", p)
    for i, part in enumerate(parts):
        if i % 2 == 1:  # a capture (re.split puts the separators at odd indices)
            name = part[1:-1]
            last = all(x == "" for x in parts[i + 1:])
            body = ".*" if last else ".*?"
            if name == "_":
                out.append("(?:%s)" % body)
            else:
                out.append("(?P<%s>%s)" % (name, body))
                names.append(name)
        else:
            out.append(re.escape(part))
    return re.compile("".join(out), re.DOTALL), names


class PatternParser:
    def __init__(self, compiled):
        self.rx = compiled

    def apply(self, st):
        m = self.rx.match(st.line)
        if m:
            for name, v in m.groupdict().items():
                st.set_parsed(name, v)
        return True


# ---------------------------------------------------------------------------------------------
# Formatting stages


_TEMPLATE_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_FUNCS = {"ToUpper": str.upper, "upper": str.upper, "ToLower": str.lower, "lower": str.lower,
          "TrimSpace": str.strip, "trim": str.strip}


class Template:
    """The subset of Go templates the double renders; TemplateError for anything else."""

    class Error(Exception):
        pass

    def __init__(self, text):
        self.parts = []
        pos = 0
        for m in _TEMPLATE_ACTION.finditer(text):
            self.parts.append(("lit", text[pos:m.start()]))
            pipe = [p.strip() for p in m.group(1).split("|")]
            src = pipe[0]
            if src == "__line__":
                getter = ("line", None)
            elif re.fullmatch(r"\.[A-Za-z_][A-Za-z0-9_]*", src):
                getter = ("label", src[1:])
            else:
                raise Template.Error("template action %r is not supported by the Loki test "
                                     "double" % m.group(0))
            funcs = []
            for f in pipe[1:]:
                if f not in _FUNCS:
                    raise Template.Error("template function %r is not supported by the Loki "
                                         "test double" % f)
                funcs.append(_FUNCS[f])
            self.parts.append(("act", (getter, funcs)))
            pos = m.end()
        self.parts.append(("lit", text[pos:]))
        if "{{" in "".join(v for k, v in self.parts if k == "lit"):
            raise Template.Error("unterminated template action")

    def render(self, st):
        out = []
        for kind, v in self.parts:
            if kind == "lit":
                out.append(v)
                continue
            (what, name), funcs = v
            s = st.line if what == "line" else st.get(name)[0]
            for f in funcs:
                s = f(s)
            out.append(s)
        return "".join(out)


class LineFormat:
    def __init__(self, template):
        self.template = template

    def apply(self, st):
        st.line = self.template.render(st)
        return True


class LabelFormat:
    def __init__(self, items):
        self.items = items  # [(dst, "rename", src) | (dst, "template", Template)]

    def apply(self, st):
        values = []
        for dst, kind, v in self.items:
            values.append((dst, kind, v, st.get(v)[0] if kind == "rename" else v.render(st)))
        for dst, kind, v, value in values:
            if kind == "rename":
                st.delete(v)
            st.delete(dst)
            st.parsed[dst] = value
        return True


class DropKeep:
    def __init__(self, keep, items):
        self.keep = keep
        self.items = items  # [(name, matcher or None)]

    def _hit(self, name, value):
        for n, m in self.items:
            if n == name and (m is None or m(value)):
                return True
        return False

    def apply(self, st):
        for name in list(st.names()):
            value = st.get(name)[0]
            if self._hit(name, value) != self.keep:
                st.delete(name)
        return True


class Decolorize:
    def apply(self, st):
        st.line = _ANSI.sub("", st.line)
        return True


class LineFilterStage:
    def __init__(self, line_filter):
        self.f = line_filter

    def apply(self, st):
        return self.f.keep(st.line)


# ---------------------------------------------------------------------------------------------
# Label filters


_BYTES = re.compile(r"(?i)^\s*([0-9]*\.?[0-9]+)\s*([kmgtpe]?)(i?)(b?)\s*$")


def parse_bytes(text):
    """humanize.ParseBytes: "10GB" (10^9), "2.5KiB" (2.5*1024), "42B", "42"; None if bad."""
    m = _BYTES.match(text)
    if not m:
        return None
    num, unit, i, _ = m.groups()
    if i and not unit:
        return None
    power = "kmgtpe".find(unit.lower()) + 1 if unit else 0
    return float(num) * ((1024 if i else 1000) ** power)


class StringFilter:
    def __init__(self, name, op, value, compiled):
        self.name, self.op, self.value, self.rx = name, op, value, compiled

    def test(self, st):
        v = st.get(self.name)[0]
        if self.op in ("=", "=="):
            return v == self.value
        if self.op == "!=":
            return v != self.value
        hit = self.rx.fullmatch(v) is not None
        return hit if self.op == "=~" else not hit


class NumberFilter:
    """kind: "number", "duration" (value in seconds) or "bytes"."""

    def __init__(self, name, op, value, kind, convert):
        self.name, self.op, self.value, self.kind, self.convert = name, op, value, kind, convert

    def test(self, st):
        if st.has_err():
            return True
        v, ok = st.get(self.name)
        if not ok:
            return False
        x = self.convert(v)
        if x is None:
            st.set_err("LabelFilterErr", "cannot convert %r to %s" % (v, self.kind))
            return True
        a, b = x, self.value
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, "==": a == b, "=": a == b,
                "!=": a != b}[self.op]


class IpFilter:
    def __init__(self, name, op, contains):
        self.name, self.op, self.contains = name, op, contains

    def test(self, st):
        v = st.get(self.name)[0]
        try:
            hit = self.contains(ipaddress.ip_address(v.strip()))
        except ValueError:
            hit = False
        return hit if self.op in ("=", "==") else not hit


class AndFilter:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def test(self, st):
        return self.a.test(st) and self.b.test(st)


class OrFilter:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def test(self, st):
        return self.a.test(st) or self.b.test(st)


class LabelFilterStage:
    def __init__(self, expr):
        self.expr = expr

    def apply(self, st):
        return self.expr.test(st)


class UnwrapMarker:
    """`| unwrap x`: parsed so the query can be refused as unsupported."""

    def apply(self, st):
        return True
