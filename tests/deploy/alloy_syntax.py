"""A structural parser for Grafana Alloy configuration syntax (standard library only).

No Alloy binary is installable on this project's machines (it is not a Debian package), so this
parser stands in for `alloy fmt`/`alloy run --dry-run`. It implements the syntax as documented
for Alloy's configuration language: `//` and `/* */` comments; blocks `name.part "label" { }`;
attributes `name = expr`; expressions with string (with escapes) and raw (backtick) literals,
numbers, true/false/null, arrays, objects (`{ key = value, "key" = value }`), references
(`a.b.c`), indexing, calls, unary ! and -, and the binary operators || && == != < <= > >= + - *
/ % ^ with their precedence.

Limitations (stated, not hidden): it does not know component schemas beyond what the caller
checks, does not evaluate expressions or standard-library functions, and does not type-check;
it accepts any newline/comma layout Alloy's own parser would accept and possibly a few it would
not (attribute terminators are not enforced).

    body = parse(text)   # [Block | Attr]; raises SyntaxError with line:col
"""

import re
from dataclasses import dataclass, field


@dataclass
class Attr:
    name: str
    value: object
    line: int


@dataclass
class Block:
    name: str
    label: object  # str or None
    body: list = field(default_factory=list)
    line: int = 0

    def attr(self, name):
        for a in self.body:
            if isinstance(a, Attr) and a.name == name:
                return a.value
        return None

    def blocks(self, name):
        return [b for b in self.body if isinstance(b, Block) and b.name == name]


@dataclass
class Ref:
    """A reference expression: dotted identifiers, e.g. loki.write.audit.receiver."""
    path: str


@dataclass
class Call:
    fn: object
    args: list


@dataclass
class Op:
    op: str
    args: list


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<number>\d+(\.\d+)?([eE][+-]?\d+)?)
  | (?P<string>"(\\.|[^"\\\n])*")
  | (?P<raw>`[^`]*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||&&|==|!=|<=|>=|[-+*/%^<>!=.,\[\](){}])
""", re.S | re.X)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}

_BINARY = [("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"),
           ("^",)]


def _unquote(s, line):
    out, i = [], 1
    while i < len(s) - 1:
        c = s[i]
        if c == "\\":
            n = s[i + 1]
            if n in _ESCAPES:
                out.append(_ESCAPES[n])
                i += 2
            elif n in "uU":
                width = 4 if n == "u" else 8
                out.append(chr(int(s[i + 2:i + 2 + width], 16)))
                i += 2 + width
            else:
                raise SyntaxError("%d: unknown escape \\%s" % (line, n))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tokens(text):
    pos, line, out = 0, 1, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise SyntaxError("%d: unexpected character %r" % (line, text[pos]))
        kind = m.lastgroup
        value = m.group()
        if kind == "op" and value == "/" and text.startswith("/*", pos):
            raise SyntaxError("%d: unterminated block comment" % line)
        if kind not in ("ws", "comment"):
            out.append((kind, value, line))
        line += value.count("\n")
        pos = m.end()
    out.append(("eof", "", line))
    return out


class _Parser:
    def __init__(self, text):
        self.t = _tokens(text)
        self.i = 0

    def peek(self, k=0):
        return self.t[min(self.i + k, len(self.t) - 1)]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, value):
        tok = self.next()
        if tok[1] != value or tok[0] in ("string", "raw"):
            raise SyntaxError("%d: expected %r, got %r" % (tok[2], value, tok[1]))
        return tok

    def body(self, closing):
        items = []
        while True:
            kind, value, line = self.peek()
            if kind == "eof" and closing is None:
                return items
            if value == "}" and closing == "}":
                self.next()
                return items
            if kind != "ident":
                raise SyntaxError("%d: expected a block or attribute, got %r" % (line, value))
            name = self.next()[1]
            if self.peek()[1] == "=":
                self.next()
                items.append(Attr(name, self.expr(), line))
                continue
            while self.peek()[1] == ".":
                self.next()
                tok = self.next()
                if tok[0] != "ident":
                    raise SyntaxError("%d: bad block name after %r" % (tok[2], name))
                name += "." + tok[1]
            label = None
            if self.peek()[0] == "string":
                label = _unquote(self.next()[1], line)
            self.expect("{")
            items.append(Block(name, label, self.body("}"), line))

    def expr(self, level=0):
        if level == len(_BINARY):
            return self.unary()
        left = self.expr(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY[level]:
            op = self.next()[1]
            right = self.expr(level + 1) if op != "^" else self.expr(level)
            left = Op(op, [left, right])
        return left

    def unary(self):
        if self.peek()[1] in ("!", "-") and self.peek()[0] == "op":
            return Op(self.next()[1], [self.unary()])
        return self.postfix(self.primary())

    def postfix(self, value):
        while True:
            v = self.peek()[1]
            if self.peek()[0] != "op":
                return value
            if v == ".":
                self.next()
                tok = self.next()
                if tok[0] != "ident":
                    raise SyntaxError("%d: expected a field name" % tok[2])
                value = Ref(value.path + "." + tok[1]) if isinstance(value, Ref) else \
                    Op(".", [value, tok[1]])
            elif v == "[":
                self.next()
                idx = self.expr()
                self.expect("]")
                value = Op("[]", [value, idx])
            elif v == "(":
                self.next()
                args = self.items(")")
                value = Call(value, args)
            else:
                return value

    def items(self, closing):
        out = []
        while self.peek()[1] != closing or self.peek()[0] in ("string", "raw"):
            out.append(self.expr())
            if self.peek()[1] == ",":
                self.next()
            elif self.peek()[1] != closing:
                tok = self.peek()
                raise SyntaxError("%d: expected ',' or %r, got %r" % (tok[2], closing, tok[1]))
        self.next()
        return out

    def primary(self):
        kind, value, line = self.next()
        if kind == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if kind == "string":
            return _unquote(value, line)
        if kind == "raw":
            return value[1:-1]
        if kind == "ident":
            if value in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[value]
            return Ref(value)
        if value == "(":
            e = self.expr()
            self.expect(")")
            return e
        if value == "[":
            return self.items("]")
        if value == "{":
            obj = {}
            while self.peek()[1] != "}" or self.peek()[0] == "string":
                k_kind, key, k_line = self.next()
                if k_kind == "string":
                    key = _unquote(key, k_line)
                elif k_kind != "ident":
                    raise SyntaxError("%d: bad object key %r" % (k_line, key))
                if key in obj:
                    raise SyntaxError("%d: duplicate object key %r" % (k_line, key))
                self.expect("=")
                obj[key] = self.expr()
                if self.peek()[1] == ",":
                    self.next()
                elif self.peek()[1] != "}":
                    tok = self.peek()
                    raise SyntaxError("%d: expected ',' or '}', got %r" % (tok[2], tok[1]))
            self.next()
            return obj
        raise SyntaxError("%d: unexpected %r" % (line, value))


def parse(text):
    return _Parser(text).body(None)


def refs(value):
    """Every Ref inside an expression value."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs(v)]
    if isinstance(value, Op):
        return [r for v in value.args for r in refs(v)]
    if isinstance(value, Call):
        return refs(value.fn) + [r for v in value.args for r in refs(v)]
    return []
