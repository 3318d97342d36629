"""Decoders for Loki's push body (Python 3 standard library only).

snappy_decompress(data)   the snappy *block* format (not the framed/stream format), as Loki's
                          push uses; raises WireError on any malformed input
decode_push_proto(data)   a logproto.PushRequest (already decompressed) as a list of
                          {"labels": "<label string>", "entries": [(ts_ns, line, [(n, v)])]}
parse_label_string(s)     '{a="b", c="d"}' -> [("a", "b"), ("c", "d")] (PromQL metric syntax)

push.proto (grafana/loki pkg/push/push.proto):
  PushRequest      { repeated StreamAdapter streams = 1; }
  StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
  EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
                     repeated LabelPairAdapter structuredMetadata = 3; }
  LabelPairAdapter { string name = 1; string value = 2; }
  Timestamp        { int64 seconds = 1; int32 nanos = 2; }
"""

MAX_DECOMPRESSED = 256 << 20


class WireError(Exception):
    pass


def _uvarint(data, pos, what="proto"):
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise WireError("%s: truncated varint" % what)
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 64:
            raise WireError("%s: varint overflows 64 bits" % what)


def snappy_decompress(data):
    data = bytes(data)
    n, pos = _uvarint(data, 0, "snappy")
    if n > MAX_DECOMPRESSED:
        raise WireError("snappy: decoded length %d too large" % n)
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                if pos + extra > end:
                    raise WireError("snappy: truncated literal length")
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise WireError("snappy: literal runs past the input")
            out += data[pos:pos + length]
            pos += length
        else:
            if kind == 1:
                if pos >= end:
                    raise WireError("snappy: truncated copy")
                length = 4 + ((tag >> 2) & 7)
                offset = ((tag >> 5) << 8) | data[pos]
                pos += 1
            elif kind == 2:
                if pos + 2 > end:
                    raise WireError("snappy: truncated copy")
                length = (tag >> 2) + 1
                offset = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
            else:
                if pos + 4 > end:
                    raise WireError("snappy: truncated copy")
                length = (tag >> 2) + 1
                offset = int.from_bytes(data[pos:pos + 4], "little")
                pos += 4
            if offset == 0 or offset > len(out):
                raise WireError("snappy: bad copy offset %d" % offset)
            if len(out) + length > n:
                raise WireError("snappy: output exceeds the declared length")
            start = len(out) - offset
            if length <= offset:
                out += out[start:start + length]
            else:  # overlapping copy: repeats the last `offset` bytes
                pattern = bytes(out[start:])
                out += (pattern * (length // offset + 1))[:length]
        if len(out) > n:
            raise WireError("snappy: output exceeds the declared length")
    if len(out) != n:
        raise WireError("snappy: decoded %d bytes, header says %d" % (len(out), n))
    return bytes(out)


def iter_fields(data):
    """Yields (field number, wire type, value): int for varint/fixed, bytes for length-delimited."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = _uvarint(data, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise WireError("proto: illegal field number 0")
        if wt == 0:
            v, pos = _uvarint(data, pos)
        elif wt == 1:
            if pos + 8 > end:
                raise WireError("proto: truncated fixed64")
            v = int.from_bytes(data[pos:pos + 8], "little")
            pos += 8
        elif wt == 2:
            ln, pos = _uvarint(data, pos)
            if pos + ln > end:
                raise WireError("proto: length-delimited field runs past the message")
            v = data[pos:pos + ln]
            pos += ln
        elif wt == 5:
            if pos + 4 > end:
                raise WireError("proto: truncated fixed32")
            v = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        else:
            raise WireError("proto: unsupported wire type %d" % wt)
        yield num, wt, v


def _expect(wt, want, what):
    if wt != want:
        raise WireError("proto: wrong wire type %d for %s" % (wt, what))


def _str(b, what):
    try:
        return bytes(b).decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("proto: %s is not valid UTF-8" % what)


def _signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def _decode_timestamp(data):
    seconds = nanos = 0
    for num, wt, v in iter_fields(data):
        if num == 1:
            _expect(wt, 0, "Timestamp.seconds")
            seconds = _signed64(v)
        elif num == 2:
            _expect(wt, 0, "Timestamp.nanos")
            nanos = _signed64(v)
    return seconds * 1_000_000_000 + nanos


def _decode_label_pair(data):
    name = value = ""
    for num, wt, v in iter_fields(data):
        if num == 1:
            _expect(wt, 2, "LabelPairAdapter.name")
            name = _str(v, "label name")
        elif num == 2:
            _expect(wt, 2, "LabelPairAdapter.value")
            value = _str(v, "label value")
    return name, value


def _decode_entry(data):
    ts = 0
    line = ""
    meta = []
    for num, wt, v in iter_fields(data):
        if num == 1:
            _expect(wt, 2, "EntryAdapter.timestamp")
            ts = _decode_timestamp(v)
        elif num == 2:
            _expect(wt, 2, "EntryAdapter.line")
            line = _str(v, "line")
        elif num == 3:
            _expect(wt, 2, "EntryAdapter.structuredMetadata")
            meta.append(_decode_label_pair(v))
    return ts, line, meta


def decode_push_proto(data):
    streams = []
    for num, wt, v in iter_fields(memoryview(bytes(data))):
        if num != 1:
            continue
        _expect(wt, 2, "PushRequest.streams")
        labels = ""
        entries = []
        for n2, wt2, v2 in iter_fields(v):
            if n2 == 1:
                _expect(wt2, 2, "StreamAdapter.labels")
                labels = _str(v2, "labels")
            elif n2 == 2:
                _expect(wt2, 2, "StreamAdapter.entries")
                entries.append(_decode_entry(v2))
            elif n2 == 3:
                _expect(wt2, 0, "StreamAdapter.hash")
        streams.append({"labels": labels, "entries": entries})
    return streams


# -- label strings


def _is_name_start(c):
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_name_char(c):
    return _is_name_start(c) or ("0" <= c <= "9")


def unquote_go(s, pos, quote):
    """Reads a Go string literal body starting after its opening quote; returns (text, pos)."""
    out = []
    if quote == "`":
        j = s.find("`", pos)
        if j < 0:
            raise WireError("unterminated raw string")
        return s[pos:j], j + 1
    while True:
        if pos >= len(s):
            raise WireError("unterminated quoted string")
        c = s[pos]
        if c == quote:
            return "".join(out), pos + 1
        if c == "\n":
            raise WireError("newline in string")
        if c != "\\":
            out.append(c)
            pos += 1
            continue
        pos += 1
        if pos >= len(s):
            raise WireError("unterminated quoted string")
        e = s[pos]
        simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                  "\\": "\\", "'": "'", '"': '"'}
        if e in simple:
            if (e == "'" and quote == '"') or (e == '"' and quote == "'"):
                raise WireError("invalid escape \\%s" % e)
            out.append(simple[e])
            pos += 1
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            hexs = s[pos + 1:pos + 1 + n]
            if len(hexs) != n or any(ch not in "0123456789abcdefABCDEF" for ch in hexs):
                raise WireError("invalid escape \\%s%s" % (e, hexs))
            v = int(hexs, 16)
            if e == "x":
                out.append(chr(v))  # a byte; treated as a code point here
            else:
                if v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                    raise WireError("invalid code point in escape")
                out.append(chr(v))
            pos += 1 + n
        elif e in "01234567":
            octs = s[pos:pos + 3]
            if len(octs) != 3 or any(ch not in "01234567" for ch in octs) or int(octs, 8) > 255:
                raise WireError("invalid octal escape")
            out.append(chr(int(octs, 8)))
            pos += 3
        else:
            raise WireError("invalid escape \\%s" % e)


def parse_label_string(s):
    """Parses a Prometheus-style label set '{a="b", c="d"}' (what Loki's protobuf push carries).

    Raises WireError in the style of Loki's message on malformed input."""
    def err(msg):
        return WireError("error parsing labels '%s' with error: %s" % (s, msg))

    i = 0
    n = len(s)

    def skip_ws(i):
        while i < n and s[i] in " \t\r\n":
            i += 1
        return i

    i = skip_ws(i)
    if i >= n or s[i] != "{":
        raise err("1:%d: parse error: unexpected %s, expected {" % (i + 1, "end of input"
                                                                       if i >= n else s[i]))
    i += 1
    pairs = []
    seen = set()
    while True:
        i = skip_ws(i)
        if i < n and s[i] == "}":
            i += 1
            break
        if i >= n or not _is_name_start(s[i]):
            raise err("1:%d: parse error: unexpected character inside braces" % (i + 1))
        j = i
        while j < n and _is_name_char(s[j]):
            j += 1
        name = s[i:j]
        i = skip_ws(j)
        if i >= n or s[i] != "=":
            raise err("1:%d: parse error: unexpected character after label name, expected ="
                      % (i + 1))
        i = skip_ws(i + 1)
        if i >= n or s[i] not in "\"'`":
            raise err("1:%d: parse error: unexpected character, expected string" % (i + 1))
        try:
            value, i = unquote_go(s, i + 1, s[i])
        except WireError as e:
            raise err("1:%d: parse error: %s" % (i + 1, e))
        if name in seen:
            raise err("duplicate label name: %s" % name)
        seen.add(name)
        pairs.append((name, value))
        i = skip_ws(i)
        if i < n and s[i] == ",":
            i += 1
            continue
        if i < n and s[i] == "}":
            i += 1
            break
        raise err("1:%d: parse error: unexpected %s inside braces"
                  % (i + 1, "end of input" if i >= n else "character"))
    if skip_ws(i) != n:
        raise err("1:%d: parse error: unexpected text after }" % (i + 1))
    return pairs
