"""A minimal RFC 6455 WebSocket (server side, and a client for tests). Standard library only.

accept_key(key)              the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
handshake_error(headers)     None if the request headers are a valid upgrade, else the reason
WsConn(sock, is_client)      framing over a connected socket:
  send_text(str), send_ping(bytes), send_close(code, reason)
  recv(timeout) -> (opcode, payload) | None on timeout; answers pings and close itself
Opcodes: TEXT=1, BINARY=2, CLOSE=8, PING=9, PONG=10. Fragmented messages are reassembled.
"""

import base64
import hashlib
import os
import select
import socket
import struct
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
MAX_MESSAGE = 16 << 20


class WsClosed(Exception):
    """The peer closed (close frame or EOF); .code is the close code if one was given."""

    def __init__(self, code=None, reason=""):
        super().__init__("websocket closed (%s %s)" % (code, reason))
        self.code = code
        self.reason = reason


class WsProtocolError(Exception):
    pass


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake_error(headers):
    """Checks an upgrade request like gorilla/websocket's Upgrader (the messages are its own)."""
    conn = [t.strip().lower() for t in (headers.get("Connection") or "").split(",")]
    if "upgrade" not in conn:
        return ("websocket: the client is not using the websocket protocol: "
                "'upgrade' token not found in 'Connection' header")
    if (headers.get("Upgrade") or "").lower() != "websocket":
        return ("websocket: the client is not using the websocket protocol: "
                "'websocket' token not found in 'Upgrade' header")
    if headers.get("Sec-WebSocket-Version") != "13":
        return "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header"
    key = headers.get("Sec-WebSocket-Key") or ""
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError()
    except ValueError:
        return "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header is missing or " \
               "blank"
    return None


class WsConn:
    def __init__(self, sock, is_client=False, prefix=b""):
        self.sock = sock
        self.is_client = is_client
        self.buf = bytearray(prefix)
        self.send_lock = threading.Lock()
        self.closed_sent = False
        self.close_code = None

    # -- sending

    def _frame(self, opcode, payload, fin=True):
        head = bytearray([(0x80 if fin else 0) | opcode])
        mask_bit = 0x80 if self.is_client else 0
        n = len(payload)
        if n < 126:
            head.append(mask_bit | n)
        elif n < 65536:
            head.append(mask_bit | 126)
            head += struct.pack(">H", n)
        else:
            head.append(mask_bit | 127)
            head += struct.pack(">Q", n)
        if self.is_client:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
        with self.send_lock:
            self.sock.sendall(bytes(head) + bytes(payload))

    def send_text(self, text):
        self._frame(TEXT, text.encode("utf-8"))

    def send_binary(self, data):
        self._frame(BINARY, data)

    def send_ping(self, data=b""):
        self._frame(PING, data)

    def send_pong(self, data=b""):
        self._frame(PONG, data)

    def send_close(self, code=1000, reason=""):
        if self.closed_sent:
            return
        self.closed_sent = True
        payload = struct.pack(">H", code) + reason.encode() if code is not None else b""
        try:
            self._frame(CLOSE, payload)
        except OSError:
            pass

    # -- receiving

    def _fill(self, timeout):
        pending = getattr(self.sock, "pending", None)  # TLS may hold decrypted bytes already
        if timeout is not None and not (pending and pending()):
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return False
        data = self.sock.recv(65536)
        if not data:
            raise WsClosed(None, "EOF")
        self.buf += data
        return True

    def _need(self, n, timeout):
        while len(self.buf) < n:
            if not self._fill(timeout):
                return False
        return True

    def _read_frame(self, timeout):
        """One frame, or None if nothing complete arrived within timeout."""
        if not self._need(2, timeout):
            return None
        # Once a frame has started, wait for the rest of it.
        b0, b1 = self.buf[0], self.buf[1]
        if b0 & 0x70:
            raise WsProtocolError("reserved bits set")
        masked = bool(b1 & 0x80)
        if masked == self.is_client:
            raise WsProtocolError("frame masking is wrong for this direction")
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            self._need(4, None)
            n = struct.unpack(">H", bytes(self.buf[2:4]))[0]
            pos = 4
        elif n == 127:
            self._need(10, None)
            n = struct.unpack(">Q", bytes(self.buf[2:10]))[0]
            pos = 10
        if n > MAX_MESSAGE:
            raise WsProtocolError("frame too large")
        key = b""
        if masked:
            self._need(pos + 4, None)
            key = bytes(self.buf[pos:pos + 4])
            pos += 4
        self._need(pos + n, None)
        payload = bytes(self.buf[pos:pos + n])
        del self.buf[:pos + n]
        if masked:
            payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
        opcode = b0 & 0x0F
        fin = bool(b0 & 0x80)
        if opcode >= 8 and (not fin or n > 125):
            raise WsProtocolError("bad control frame")
        return fin, opcode, payload

    def recv(self, timeout=None):
        """The next data message (opcode, payload), or None on timeout.

        Pings are answered with pongs, pongs are returned as (PONG, payload); a close frame is
        answered and raises WsClosed."""
        parts = []
        first_op = None
        while True:
            fr = self._read_frame(timeout if not parts else None)
            if fr is None:
                return None
            fin, op, payload = fr
            if op == PING:
                self.send_pong(payload)
                continue
            if op == PONG:
                return PONG, payload
            if op == CLOSE:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                self.close_code = code
                self.send_close(code if code is not None else 1000)
                raise WsClosed(code, payload[2:].decode("utf-8", "replace"))
            if op == CONT:
                if first_op is None:
                    raise WsProtocolError("continuation without a first frame")
            elif op in (TEXT, BINARY):
                if first_op is not None:
                    raise WsProtocolError("new message inside a fragmented one")
                first_op = op
            else:
                raise WsProtocolError("unknown opcode %d" % op)
            parts.append(payload)
            if sum(len(p) for p in parts) > MAX_MESSAGE:
                raise WsProtocolError("message too large")
            if fin:
                return first_op, b"".join(parts)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def client_connect(host, port, target, headers=(), timeout=10.0, ssl_context=None,
                   server_hostname=None):
    """Opens a client WebSocket: returns (WsConn, status, response headers dict lower-case).
    With ssl_context, over TLS (server_hostname for SNI and the name check).

    On a non-101 answer returns (None, status, headers) with headers["__body__"] the body."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock = socket.create_connection((host, port), timeout=timeout)
    if ssl_context is not None:
        sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname or host)
    lines = ["GET %s HTTP/1.1" % target, "Host: %s:%d" % (host, port), "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
    lines += ["%s: %s" % kv for kv in headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            break
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    hlines = head.decode("latin-1").split("\r\n")
    status = int(hlines[0].split(" ")[1])
    hdrs = {}
    for h in hlines[1:]:
        k, _, v = h.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if status != 101:
        n = int(hdrs.get("content-length", "0"))
        while len(rest) < n:
            data = sock.recv(65536)
            if not data:
                break
            rest += data
        hdrs["__body__"] = rest.decode("utf-8", "replace")
        sock.close()
        return None, status, hdrs
    if hdrs.get("sec-websocket-accept") != accept_key(key):
        sock.close()
        raise WsProtocolError("bad Sec-WebSocket-Accept")
    return WsConn(sock, is_client=True, prefix=rest), status, hdrs
