#!/usr/bin/env python3
"""Writes the seed corpus for the loki_push fuzz target (run from this folder).

Each seed is one flag byte (bit 0 JSON, bit 1 gzip as is, bit 2 drop mode, bit 3 strict policy;
see fuzz.cpp) followed by the body: a hand-encoded raw PushRequest (the harness adds snappy),
a JSON push body, or a gzip member. No protobuf or snappy module is needed.
"""
import gzip
import os


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


def ts(sec=1700000000, nanos=123):
    return field(1, 2, field(1, 0, varint(sec)) + field(2, 0, varint(nanos)))


def entry(line, md=(), sec=1700000000, nanos=123):
    body = ts(sec, nanos) + s(2, line)
    for n, v in md:
        body += field(3, 2, s(1, n) + s(2, v))
    return field(2, 2, body)


def stream(labels, *entries, hash_=None):
    body = s(1, labels) + b"".join(entries)
    if hash_ is not None:
        body += field(3, 0, varint(hash_))
    return field(1, 2, body)


PB = {
    "pb_empty": b"",
    "pb_one": stream('{app="api"}', entry("GET / 200")),
    "pb_two_streams": stream('{app="a", env="dev"}', entry("x"), entry("y"))
    + stream('{app="b"}', entry("z", [("trace_id", "t")])),
    "pb_tenant_ok": stream('{tenant="t1", app="a"}', entry("l")),
    "pb_tenant_bad": stream('{tenant="t2", app="a"}', entry("l")),
    "pb_forbidden": stream('{app="a", user_id="1"}', entry("l")),
    "pb_hidden": stream('{app="a", secret="s"}', entry("l")),
    "pb_audit": stream('{stream="audit", app="a"}', entry("l")),
    "pb_escapes": stream('{msg="a\\"b\\\\c\\n\\u00e9\\x41", app=`raw`}', entry("l")),
    "pb_regex": stream('{app=~"a.*"}', entry("l")),
    "pb_pipeline": stream('{app="a"} |= "x"', entry("l")),
    "pb_empty_labels": stream("{}", entry("l")),
    "pb_empty_value": stream('{app="a", e=""}', entry("l")),
    "pb_hash": stream('{app="a"}', entry("l"), hash_=12345),
    "pb_metadata": stream('{app="a"}', entry("l", [("k1", "v1"), ("k2", "v2"), ("k3", "v")])),
    "pb_md_forbidden": stream('{app="a"}', entry("l", [("user_id", "1")])),
    "pb_long_line": stream('{app="a"}', entry("x" * 100)),
    "pb_bad_utf8_line": stream('{app="a"}', entry(b"\xff\xfe")),
    "pb_parsed_field": stream('{app="a"}', field(2, 2, field(4, 2, s(1, "a") + s(2, "b")))),
    "pb_format_field": stream('{app="a"}', entry("l")) + s(2, "otlp"),
    "pb_bad_nanos": stream('{app="a"}', entry("l", nanos=2_000_000_000)),
    "pb_many_labels": stream('{a="1", b="2", c="3", d="4", e="5"}', entry("l")),
    "pb_truncated": stream('{app="a"}', entry("line"))[:-2],
}

J = {
    "js_empty": '{"streams":[]}',
    "js_one": '{"streams":[{"stream":{"app":"api"},"values":[["1700000000000000000","GET /"]]}]}',
    "js_metadata": '{"streams":[{"stream":{"app":"a","env":"dev"},"values":[["1","l",'
    '{"trace_id":"t","k":"v"}],["-5","\\u00e9\\n"]]}]}',
    "js_tenant_bad": '{"streams":[{"stream":{"tenant":"t2"},"values":[]}]}',
    "js_audit": '{"streams":[{"stream":{"stream":"audit"},"values":[["1","x"]]}]}',
    "js_forbidden": '{"streams":[{"stream":{"user_id":"1","app":"b"}}]}',
    "js_unknown_keys": '{"x":[1,2.5e3,{"y":null}],"streams":[{"extra":true,'
    '"stream":{"app":"a"},"values":[]}]}',
    "js_bad_name": '{"streams":[{"stream":{"a.b":"x"},"values":[]}]}',
    "js_dup_label": '{"streams":[{"stream":{"a":"1","a":"2"},"values":[]}]}',
    "js_surrogates": '{"streams":[{"stream":{"e":"\\ud83d\\ude00"},"values":[["1","\\ud83d\\ude00"]]}]}',
    "js_bad_ts": '{"streams":[{"stream":{"app":"a"},"values":[[1,"x"]]}]}',
    "js_four": '{"streams":[{"stream":{"app":"a"},"values":[["1","x",{},{}]]}]}',
    "js_two_streams": '{"streams":[{"stream":{"app":"a"},"values":[["1","x"]]},'
    '{"stream":{"app":"b","env":"p"},"values":[["2","y"]]}]}',
    "js_deep": '{"x":' + "[" * 40 + "]" * 40 + ',"streams":[]}',
}

os.makedirs("corpus", exist_ok=True)
for name, body in PB.items():
    for flags, suffix in ((0x00, ""), (0x04, ".drop"), (0x08, ".strict")):
        with open(os.path.join("corpus", name + suffix), "wb") as f:
            f.write(bytes([flags]) + body)
for name, text in J.items():
    for flags, suffix in ((0x01, ""), (0x0D, ".strict_drop")):
        with open(os.path.join("corpus", name + suffix), "wb") as f:
            f.write(bytes([flags]) + text.encode())
with open(os.path.join("corpus", "gz_json"), "wb") as f:
    f.write(bytes([0x03]) + gzip.compress(J["js_metadata"].encode(), mtime=0))
with open(os.path.join("corpus", "gz_bomb"), "wb") as f:
    f.write(bytes([0x03]) + gzip.compress(b" " * (2 << 20) + b"{}", mtime=0))
