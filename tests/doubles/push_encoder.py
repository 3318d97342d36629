"""An independent encoder for Loki push bodies, used by the self-tests (and usable by other tests
that need to send a protobuf push without a gateway). It shares no code with wire.py.

snappy_compress(data, force=None)  snappy block format; finds 4-byte matches with a hash table
                                   and emits copies. force="copy1"|"copy2"|"copy4" picks one copy
                                   element kind where it can (to exercise every decoder path)
push_request(streams)              PushRequest bytes; streams = [(label_string,
                                   [(ts_ns, line, [(name, value)])])]
"""


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num, payload):
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


def _field_varint(num, value):
    return _varint(num << 3) + _varint(value & ((1 << 64) - 1))


def push_request(streams, with_hash=True):
    body = b""
    for labels, entries in streams:
        sa = _field_bytes(1, labels.encode())
        for ts, line, meta in entries:
            stamp = b""
            if ts // 1_000_000_000:
                stamp += _field_varint(1, ts // 1_000_000_000)
            if ts % 1_000_000_000:
                stamp += _field_varint(2, ts % 1_000_000_000)
            ea = _field_bytes(1, stamp) + _field_bytes(2, line.encode())
            for name, value in meta:
                ea += _field_bytes(3, _field_bytes(1, name.encode()) +
                                   _field_bytes(2, value.encode()))
            sa += _field_bytes(2, ea)
        if with_hash:
            sa += _field_varint(3, 0x1234567890)
        body += _field_bytes(1, sa)
    return body


def _literal(data):
    out = bytearray()
    n = len(data) - 1
    if n < 60:
        out.append(n << 2)
    elif n < 256:
        out += bytes([60 << 2, n])
    elif n < 65536:
        out += bytes([61 << 2]) + n.to_bytes(2, "little")
    else:
        out += bytes([62 << 2]) + n.to_bytes(3, "little")
    return bytes(out) + data


def _copy(offset, length, force):
    out = bytearray()
    while length > 0:
        if force in (None, "copy1") and 4 <= length <= 11 and offset < 2048:
            out += bytes([1 | ((length - 4) << 2) | ((offset >> 8) << 5), offset & 0xFF])
            return bytes(out)
        n = min(length, 64)
        if length - n in (1, 2, 3):  # keep the remainder at least 4 long
            n = length - 4
        if force == "copy4" or offset >= 65536:
            out += bytes([3 | ((n - 1) << 2)]) + offset.to_bytes(4, "little")
        else:
            out += bytes([2 | ((n - 1) << 2)]) + offset.to_bytes(2, "little")
        length -= n
    return bytes(out)


def snappy_compress(data, force=None):
    data = bytes(data)
    out = bytearray(_varint(len(data)))
    table = {}
    i = 0
    lit_start = 0
    while i + 4 <= len(data):
        key = data[i:i + 4]
        cand = table.get(key)
        table[key] = i
        if cand is not None and i - cand < (1 << 31):
            length = 4
            while i + length < len(data) and data[cand + length] == data[i + length]:
                length += 1
            if lit_start < i:
                out += _literal(data[lit_start:i])
            out += _copy(i - cand, length, force)
            i += length
            lit_start = i
        else:
            i += 1
    if lit_start < len(data):
        out += _literal(data[lit_start:])
    return bytes(out)
