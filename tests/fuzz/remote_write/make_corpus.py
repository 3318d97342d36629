#!/usr/bin/env python3
"""Writes the seed corpus for the remote_write fuzz target (run from this folder).

Each seed is one flag byte (bit 0 snappy, bit 1 drop mode, bit 2 strict policy; see fuzz.cpp)
followed by a WriteRequest, hand-encoded here so the seeds need no protobuf or snappy module.
"""
import os
import struct


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(num, wt, payload):
    tag = varint((num << 3) | wt)
    if wt == 2:
        return tag + varint(len(payload)) + payload
    return tag + payload


def s(num, text):
    return field(num, 2, text.encode() if isinstance(text, str) else text)


def label(n, v):
    return field(1, 2, s(1, n) + s(2, v))


def sample(v=1.5, ts=1700000000000):
    return field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(ts)))


def exemplar():
    body = field(1, 2, s(1, "trace_id") + s(2, "abc123")) + field(2, 1, struct.pack("<d", 0.5))
    return field(3, 2, body + field(3, 0, varint(1700000000001)))


def histogram():
    span = field(1, 0, varint(0)) + field(2, 0, varint(2))
    deltas = varint(4) + varint(1)
    counts = struct.pack("<dd", 1.0, 2.0)
    body = (field(1, 0, varint(5)) + field(3, 1, struct.pack("<d", 9.5)) + field(4, 0, varint(6))
            + field(11, 2, span) + field(12, 2, deltas) + field(8, 2, span)
            + field(10, 2, counts) + field(14, 0, varint(2)) + field(15, 0, varint(17)))
    return field(4, 2, body)


def series(labels, extra=b""):
    body = b"".join(label(n, v) for n, v in labels) + (extra or sample())
    return field(1, 2, body)


def metadata(name, typ=1):
    return field(3, 2, field(1, 0, varint(typ)) + s(2, name) + s(4, "help text") + s(5, "s"))


def snappy_literal(raw):
    """Snappy block format using literals only (valid, if not compressed)."""
    out = bytearray(varint(len(raw)))
    for i in range(0, len(raw), 60):
        chunk = raw[i:i + 60]
        out.append((len(chunk) - 1) << 2)
        out += chunk
    return bytes(out)


UP = [("__name__", "up"), ("env", "prod"), ("job", "api")]
REQUESTS = {
    "one_series": series(UP),
    "two_series": series(UP) + series([("__name__", "http_requests_total"), ("code", "200"),
                                        ("env", "dev")]),
    "tenant_present": series([("__name__", "up"), ("env", "prod"), ("tenant", "t1")]),
    "tenant_other": series([("__name__", "up"), ("tenant", "t2")]),
    "tenant_empty": series([("__name__", "up"), ("tenant", "")]),
    "forbidden": series([("__name__", "up"), ("env", "prod"), ("user_id", "7")]),
    "unsorted": series([("__name__", "up"), ("job", "a"), ("env", "prod")]),
    "duplicate": series([("__name__", "up"), ("env", "a"), ("env", "b")]),
    "empty_name": series([("", "x"), ("__name__", "up")]),
    "no_name": series([("env", "prod"), ("job", "x")]),
    "bad_utf8": series([("__name__", "up"), ("env", b"\xc3\x28")]),
    "uppercase_first": series([("A", "1"), ("__name__", "up"), ("env", "prod")]),
    "exemplar": series(UP, sample() + exemplar()),
    "histogram": series(UP, histogram()),
    "everything": series(UP, sample() + sample(2.5, 1700000015000) + exemplar() + histogram()),
    "no_samples": field(1, 2, b"".join(label(n, v) for n, v in UP)),
    "metadata": series(UP) + metadata("up", 2) + metadata("secret", 1),
    "metadata_only": metadata("http_requests", 1),
    "out_of_scope": series([("__name__", "up"), ("env", "staging")]),
    "schema_unknown": series([("__name__", "down"), ("env", "prod")]),
    "schema_bucket": series([("__name__", "http_requests_bucket"), ("env", "prod"),
                             ("le", "0.5")]),
    "empty": b"",
    "truncated": series(UP)[:-3],
    "unknown_field": series(UP) + field(5, 0, varint(1)),
    "wrong_wire_type": field(1, 0, varint(3)),
    "packed_bad": series(UP, field(4, 2, field(13, 2, b"1234567"))),
}

os.makedirs("corpus", exist_ok=True)
for name, raw in sorted(REQUESTS.items()):
    with open(os.path.join("corpus", name + ".raw"), "wb") as f:
        f.write(bytes([0b010]) + raw)  # raw protobuf, drop mode
    if name in ("one_series", "everything", "forbidden", "metadata", "tenant_other", "unsorted"):
        with open(os.path.join("corpus", name + ".sz"), "wb") as f:
            f.write(bytes([0b101]) + snappy_literal(raw))  # snappy, strict, reject mode
        with open(os.path.join("corpus", name + ".strict"), "wb") as f:
            f.write(bytes([0b110]) + raw)  # raw, strict, drop mode
# A decompression bomb: a header claiming 1 GiB and nothing behind it.
with open(os.path.join("corpus", "bomb.sz"), "wb") as f:
    f.write(bytes([0b001]) + varint(1 << 30) + b"\x00a")
