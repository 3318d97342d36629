"""Self-tests of wire.py (snappy, protobuf, labels) against the independent push_encoder.py."""

import random
import unittest

from push_encoder import push_request, snappy_compress
from wire import WireError, decode_push_proto, parse_label_string, snappy_decompress


def _rand(n, seed):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))


class SnappyTest(unittest.TestCase):
    def test_known_answers(self):
        # Hand-assembled blocks, straight from the format description.
        cases = [
            ("empty", b"\x00", b""),
            ("literal", b"\x05\x10hello", b"hello"),
            ("copy1 overlapping", b"\x08\x00a\x0d\x01", b"aaaaaaaa"),
            ("copy2", b"\x07\x0cabcd\x0a\x04\x00", b"abcdabc"),
            ("copy4", b"\x06\x04ab\x0f\x02\x00\x00\x00", b"ababab"),
            ("literal 60", b"\x41\xf0\x40" + b"x" * 65, b"x" * 65),
        ]
        for name, block, want in cases:
            with self.subTest(name):
                self.assertEqual(snappy_decompress(block), want)

    def test_round_trips(self):
        text = b"level=info msg=\"request served\" path=/api/v1/query status=200\n" * 50
        far = _rand(70000, 1)
        inputs = [
            ("empty", b""),
            ("one byte", b"z"),
            ("runs", b"a" * 1000 + b"b" * 3 + b"a" * 77),
            ("log text", text),
            ("random 100k", _rand(100_000, 2)),
            ("far copy", far + far[:100]),
        ]
        for force in (None, "copy1", "copy2", "copy4"):
            for name, data in inputs:
                with self.subTest(name=name, force=force):
                    block = snappy_compress(data, force)
                    self.assertEqual(snappy_decompress(block), data)
                    if name in ("runs", "log text"):
                        self.assertLess(len(block), len(data) // 2)  # copies were emitted

    def test_malformed(self):
        cases = [
            ("no header", b""),
            ("truncated varint", b"\x80"),
            ("varint too long", b"\xff" * 11),
            ("short output", b"\x06\x10hello"),
            ("long output", b"\x04\x10hello"),
            ("literal past end", b"\x05\x10hel"),
            ("truncated literal length", b"\x50\xf0"),
            ("copy offset zero", b"\x08\x00a\x09\x00"),
            ("copy before start", b"\x08\x00a\x09\x05"),
            ("truncated copy2", b"\x08\x00a\x06\x01"),
            ("truncated copy4", b"\x08\x00a\x07\x01\x00"),
            ("copy beyond declared", b"\x03\x00a\x09\x01"),
            ("huge declared", b"\xff\xff\xff\xff\x0f\x00a"),
        ]
        for name, block in cases:
            with self.subTest(name):
                with self.assertRaises(WireError):
                    snappy_decompress(block)

    def test_random_garbage_never_crashes(self):
        r = random.Random(7)
        for i in range(300):
            data = bytes(r.getrandbits(8) for _ in range(r.randint(0, 64)))
            try:
                snappy_decompress(data)
            except WireError:
                pass


class ProtoTest(unittest.TestCase):
    def test_decode(self):
        streams = [
            ('{app="api", env="prod"}', [
                (1_763_790_000_123_456_789, "first line", []),
                (1_763_790_001_000_000_000, "with meta ✓", [("trace_id", "abc"), ("u", "")]),
            ]),
            ('{app="web"}', [(5, "tiny ts", [])]),
            ('{app="empty"}', []),
        ]
        for with_hash in (True, False):
            with self.subTest(with_hash=with_hash):
                got = decode_push_proto(push_request(streams, with_hash))
                self.assertEqual([s["labels"] for s in got], [s[0] for s in streams])
                self.assertEqual([s["entries"] for s in got],
                                 [[(t, l, list(m)) for t, l, m in s[1]] for s in streams])

    def test_unknown_fields_are_skipped(self):
        base = push_request([('{a="b"}', [(1, "x", [])])])
        extra = b"\x10\x05" + b"\x1d\x01\x02\x03\x04" + b"\x21" + b"\x00" * 8  # fields 2,3,4
        got = decode_push_proto(extra + base)
        self.assertEqual(got, [{"labels": '{a="b"}', "entries": [(1, "x", [])]}])

    def test_malformed(self):
        good = push_request([('{a="b"}', [(1, "line", [("k", "v")])])])
        cases = [
            ("truncated", good[:-3]),
            ("streams as varint", b"\x08\x01"),
            ("length past end", b"\x0a\x7f\x00"),
            ("group wire type", b"\x0b"),
            ("field zero", b"\x02\x00"),
            ("bad utf-8 labels", b"\x0a\x03\x0a\x01\xff"),
            ("labels as varint", b"\x0a\x02\x08\x01"),
        ]
        for name, data in cases:
            with self.subTest(name):
                with self.assertRaises(WireError):
                    decode_push_proto(data)


class LabelStringTest(unittest.TestCase):
    def test_valid(self):
        cases = [
            ('{a="b"}', [("a", "b")]),
            ('{ a = "b" , c="d" }', [("a", "b"), ("c", "d")]),
            ('{a="b",}', [("a", "b")]),
            ('{}', []),
            (r'{a="q\"uote\\ \n \u00e9"}', [("a", 'q"uote\\ \n é')]),
            ('{a=`raw\\n`}', [("a", "raw\\n")]),
            ('{_x9="1"}', [("_x9", "1")]),
        ]
        for text, want in cases:
            with self.subTest(text):
                self.assertEqual(parse_label_string(text), want)

    def test_invalid(self):
        for text in ('', 'a="b"', '{a="b"', '{a=b}', '{1a="b"}', '{a="b" c="d"}',
                     '{a="b"} x', '{a="b",a="c"}', '{a="\\q"}', '{a="b\n"}', '{a-b="c"}'):
            with self.subTest(text=text):
                with self.assertRaises(WireError) as cm:
                    parse_label_string(text)
                self.assertIn("error parsing labels", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
