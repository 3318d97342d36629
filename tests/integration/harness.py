"""Integration-test harness for obsgate (Python 3 standard library only).

Pieces:
  free_port()          a currently free TCP port on 127.0.0.1
  Upstream             a recording HTTP/1.1 test backend on raw sockets (optionally TLS);
                       per-path Behaviour (echo, stream N bytes with content-length or chunked,
                       sleep, die mid-response, raw bytes, extra response headers) and a record
                       of every request (method, target, headers, body length + sha256, client
                       port / connection), connection and send error it saw
  Blackhole            a port whose accept queue is full (connects hang: connect timeouts)
  Gateway              obsgate as a subprocess with a generated config in a temp dir
  GatewayTestCase      unittest.TestCase base that starts/stops the above and cleans up
  TokenIssuer          a test identity provider's key (obsgate_mint_token): a JWKS file for
                       obsgate's config and signed tokens with the claims a test asks for
  raw_request(), RawConn, read_response()
                       a raw-socket client for malformed requests and framing checks

Every loop is bounded in time; every server listens on 127.0.0.1 only.
"""

import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

HOST = "127.0.0.1"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# --------------------------------------------------------------------------------------------
# Small utilities


def free_port():
    """A port that was free a moment ago on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls predicate() until it returns a truthy value; returns it or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def obsgate_bin():
    path = os.environ.get("OBSGATE_BIN")
    if path:
        return path
    for cand in ("build-it", "build"):
        p = os.path.join(REPO_ROOT, cand, "gateway", "cli", "obsgate")
        if os.path.exists(p):
            return p
    raise RuntimeError("set OBSGATE_BIN to the obsgate binary")


def mint_tool():
    """The obsgate_mint_token binary (tests/tools), next to obsgate in the build tree."""
    path = os.environ.get("OBSGATE_MINT_TOKEN")
    if path:
        return path
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(obsgate_bin()))))
    path = os.path.join(build, "tests", "tools", "obsgate_mint_token")
    if not os.path.exists(path):
        raise unittest.SkipTest("obsgate_mint_token not built (set OBSGATE_MINT_TOKEN)")
    return path


class TokenIssuer:
    """One ES256 signing key of a test issuer, in a temp dir: jwks_path goes into obsgate's
    identity config (keys.file); token() signs iss/aud/sub/iat/exp plus the given claims.
    Tokens are cached per claim set (minting runs a process)."""

    def __init__(self, issuer, audience="obsgate", prefix="obsgate-it-", lifetime=900):
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.mint = mint_tool()
        self.key_path = self.path("idp.pem")
        self.jwks_path = self.path("jwks.json")
        self.run_mint("--generate", "--key", self.key_path, "--jwks", self.jwks_path,
                      "--alg", "ES256", "--kid", "k1")
        self._tokens = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_mint(self, *args):
        p = subprocess.run([self.mint] + list(args), capture_output=True, timeout=30, text=True)
        if p.returncode != 0:
            raise RuntimeError("obsgate_mint_token: " + p.stderr)
        return p.stdout.strip()

    def token(self, sub="u", **claims):
        key = json.dumps([sub, claims], sort_keys=True)
        if key not in self._tokens:
            now = int(time.time())
            body = {"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now,
                    "exp": now + self.lifetime}
            body.update(claims)
            self._tokens[key] = self.run_mint("--key", self.key_path, "--alg", "ES256",
                                              "--kid", "k1", "--claims", json.dumps(body))
        return self._tokens[key]

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Pattern:
    """Deterministic bytes for large bodies: a 1 MiB pseudo-random block, repeated."""

    _block = None

    @classmethod
    def block(cls):
        if cls._block is None:
            out = bytearray()
            h = b"obsgate-integration"
            while len(out) < (1 << 20):
                h = hashlib.sha256(h).digest()
                out += h
            cls._block = bytes(out[: 1 << 20])
        return cls._block

    @classmethod
    def chunks(cls, total, size=256 * 1024):
        """Yields total bytes of the pattern in pieces of at most size bytes (<= 1 MiB)."""
        block = cls.block()
        assert 0 < size <= len(block)
        off = 0
        while off < total:
            n = min(size, total - off)
            start = off % len(block)
            if start + n <= len(block):
                yield block[start : start + n]
            else:
                first = block[start:]
                yield first + block[: n - len(first)]
            off += n

    _digests = {}

    @classmethod
    def sha256(cls, total):
        if total not in cls._digests:
            h = hashlib.sha256()
            for c in cls.chunks(total, 1 << 20):
                h.update(c)
            cls._digests[total] = h.hexdigest()
        return cls._digests[total]


# --------------------------------------------------------------------------------------------
# The recording upstream


class Behaviour:
    """What the upstream does for one path. Build with the static constructors."""

    def __init__(self, kind="echo", **kw):
        self.kind = kind
        self.size = kw.get("size", 0)
        self.chunked = kw.get("chunked", False)
        self.delay = kw.get("delay", 0.0)
        self.status = kw.get("status", 200)
        self.headers = kw.get("headers", [])
        self.die_after = kw.get("die_after", 0)
        self.declared = kw.get("declared", 0)
        self.rate_sleep = kw.get("rate_sleep", 0.0)
        self.data = kw.get("data", b"")
        self.close = kw.get("close", False)
        self.piece = kw.get("piece", 256 * 1024)
        self.body_delay = kw.get("body_delay", 0.0)

    @staticmethod
    def echo(status=200, headers=(), delay=0.0, close=False):
        """A JSON description of the request; close=True closes the connection silently after
        the response (without announcing it), like a backend's idle timeout."""
        return Behaviour("echo", status=status, headers=list(headers), delay=delay, close=close)

    @staticmethod
    def stream(size, chunked=False, headers=(), rate_sleep=0.0, piece=256 * 1024):
        """size pattern bytes, with Content-Length or chunked, written piece bytes at a time
        with rate_sleep seconds after each piece."""
        return Behaviour("stream", size=size, chunked=chunked, headers=list(headers),
                         rate_sleep=rate_sleep, piece=piece)

    @staticmethod
    def slow_reader(body_delay):
        """Waits body_delay seconds before reading the request body, then echoes."""
        return Behaviour("echo", body_delay=body_delay)

    @staticmethod
    def sleep(delay):
        return Behaviour("echo", delay=delay)

    @staticmethod
    def raw(data, keep_open=False):
        """Sends data verbatim as the response, then closes the connection (or keeps serving
        it with keep_open=True)."""
        return Behaviour("raw", data=data, close=not keep_open)

    @staticmethod
    def die(after, declared=None, chunked=False):
        """Announces `declared` bytes (or chunked), sends `after`, then closes the socket."""
        return Behaviour("die", die_after=after, declared=declared or after * 10,
                         chunked=chunked)


class Record:
    """One request the upstream received in full (or that broke off: complete=False)."""

    def __init__(self):
        self.method = ""
        self.target = ""
        self.version = ""
        self.headers = []  # [(name, value)] in order, as received
        self.body_len = 0
        self.body_sha256 = ""
        self.client_port = 0
        self.conn_id = 0
        self.complete = False
        self.time = time.monotonic()

    def header(self, name):
        """The value of the (first) header with that name, or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def path(self):
        return self.target.split("?", 1)[0]

    def __repr__(self):
        return "Record(%s %s body=%d conn=%d complete=%s)" % (
            self.method, self.target, self.body_len, self.conn_id, self.complete)


class ConnInfo:
    def __init__(self, conn_id, client_port):
        self.conn_id = conn_id
        self.client_port = client_port
        self.opened = time.monotonic()
        self.closed = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.send_error = None  # e.g. "BrokenPipeError" while writing a response
        self.send_error_time = None
        self.sni = None
        self.protocol_error = None
        self.tls_error = None
        self.peer_cn = None  # the client certificate's CN on a TLS upstream that asks for one


class _ProtocolError(Exception):
    pass


class _Reader:
    """Buffered reads from a socket with a byte cap on lines."""

    def __init__(self, sock, info):
        self.sock = sock
        self.info = info
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError()
        self.info.bytes_in += len(data)
        self.buf += data

    def line(self, limit=1 << 20):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
                return out
            if len(self.buf) > limit:
                raise _ProtocolError("line too long")
            self._fill()

    def exact(self, n, sink):
        """Feeds exactly n bytes to sink(bytes)."""
        while n > 0:
            if not self.buf:
                self._fill()
            take = self.buf[:n]
            self.buf = self.buf[len(take) :]
            n -= len(take)
            sink(take)


class Upstream:
    """A threaded HTTP/1.1 backend that records what it receives. Keep-alive by default."""

    def __init__(self, ssl_context=None):
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.records = []
        self.conns = []
        self.behaviours = {}
        self.default = Behaviour.echo()
        self.sni_seen = []
        self._stop = threading.Event()
        self._threads = []
        self._socks = set()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        if ssl_context is not None:
            ssl_context.sni_callback = self._on_sni
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ssl_context else "http", self.port)

    def on(self, path, behaviour):
        with self.lock:
            self.behaviours[path] = behaviour

    def requests(self, path=None, complete_only=True):
        with self.lock:
            return [r for r in self.records
                    if (path is None or r.path == path) and (r.complete or not complete_only)]

    def connections(self):
        with self.lock:
            return list(self.conns)

    def reset(self):
        with self.lock:
            self.records.clear()
            self.conns.clear()
            self.sni_seen.clear()

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._accept_thread.join(5)
        for t in list(self._threads):
            t.join(5)

    # -- internals

    def _on_sni(self, sslobj, name, ctx):
        with self.lock:
            self.sni_seen.append(name)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                info = ConnInfo(len(self.conns) + 1, addr[1])
                self.conns.append(info)
                self._socks.add(conn)
            t = threading.Thread(target=self._serve, args=(conn, info), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn, info):
        try:
            conn.settimeout(30)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                try:
                    conn = self.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    info.tls_error = str(e)
                    return
                with self.lock:
                    self._socks.add(conn)
                cert = conn.getpeercert()
                if cert:
                    info.peer_cn = dict(x[0] for x in cert.get("subject", ())).get("commonName")
            reader = _Reader(conn, info)
            while not self._stop.is_set():
                if not self._one(conn, reader, info):
                    break
        except (EOFError, OSError, _ProtocolError, ValueError) as e:
            # A request this strict parser cannot frame is recorded as a protocol error.
            if isinstance(e, (_ProtocolError, ValueError)):
                info.protocol_error = str(e)
        finally:
            info.closed = time.monotonic()
            try:
                conn.close()
            except OSError:
                pass

    def _one(self, conn, reader, info):
        rec = Record()
        rec.client_port = info.client_port
        rec.conn_id = info.conn_id
        try:
            line = reader.line()
        except EOFError:
            return False
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise _ProtocolError("bad request line %r" % line)
        rec.method, rec.target, rec.version = parts
        while True:
            h = reader.line().decode("latin-1")
            if h in ("\r\n", "\n"):
                break
            name, _, value = h.partition(":")
            rec.headers.append((name, value.strip()))
        with self.lock:
            self.records.append(rec)  # visible at once, complete=False until the body is in
        with self.lock:
            b = self.behaviours.get(rec.path, self.default)
        if b.body_delay:
            self._stop.wait(b.body_delay)
        sha = hashlib.sha256()

        def sink(b):
            rec.body_len += len(b)
            sha.update(b)

        te = (rec.header("Transfer-Encoding") or "").lower()
        if te == "chunked":
            while True:
                size_line = reader.line().decode("latin-1").strip()
                size = int(size_line.split(";")[0], 16)
                if size == 0:
                    while reader.line() not in (b"\r\n", b"\n"):
                        pass
                    break
                reader.exact(size, sink)
                reader.line()
        elif rec.header("Content-Length") is not None:
            reader.exact(int(rec.header("Content-Length")), sink)
        rec.body_sha256 = sha.hexdigest()
        rec.complete = True
        rec.time = time.monotonic()
        return self._respond(conn, rec, b, info)

    def _send(self, conn, data, info):
        try:
            conn.sendall(data)
            info.bytes_out += len(data)
        except OSError as e:
            info.send_error = type(e).__name__
            info.send_error_time = time.monotonic()
            raise

    def _respond(self, conn, rec, b, info):
        if b.delay:
            self._stop.wait(b.delay)
        extra = "".join("%s: %s\r\n" % (k, v) for k, v in b.headers)
        if b.kind == "echo":
            body = json.dumps({
                "method": rec.method, "target": rec.target, "headers": rec.headers,
                "body_len": rec.body_len, "body_sha256": rec.body_sha256,
            }).encode()
            if b.status in (204, 304):
                body = b""
                head = "HTTP/1.1 %d X\r\n%s\r\n" % (b.status, extra)
            else:
                head = ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                        "Content-Length: %d\r\n%s\r\n" % (b.status, len(body), extra))
            self._send(conn, head.encode() + (b"" if rec.method == "HEAD" else body), info)
            return not b.close
        if b.kind == "stream":
            if b.chunked:
                head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n%s\r\n" % extra
            else:
                head = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (b.size, extra)
            self._send(conn, head.encode(), info)
            for c in Pattern.chunks(b.size, b.piece):
                if self._stop.is_set():
                    return False
                if b.chunked:
                    c = b"%x\r\n" % len(c) + c + b"\r\n"
                self._send(conn, c, info)
                if b.rate_sleep:
                    time.sleep(b.rate_sleep)
            if b.chunked:
                self._send(conn, b"0\r\n\r\n", info)
            return True
        if b.kind == "die":
            if b.chunked:
                head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            else:
                head = "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % b.declared
            data = b"".join(Pattern.chunks(b.die_after))
            if b.chunked:
                data = b"%x\r\n" % len(data) + data + b"\r\n"
            self._send(conn, head.encode() + data, info)
            time.sleep(0.1)
            return False  # closes the socket: the response is cut short
        if b.kind == "raw":
            self._send(conn, b.data, info)
            if not b.close:
                return True
            time.sleep(0.1)
            return False
        raise _ProtocolError("unknown behaviour " + b.kind)


class Blackhole:
    """A listening port whose accept queue is full: connection attempts hang (SYNs dropped)."""

    def __init__(self, fill=4):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(fill):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((HOST, self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)

    def close(self):
        for s in self.fillers + [self.sock]:
            s.close()


# --------------------------------------------------------------------------------------------
# obsgate as a subprocess


def base_config(listen_port, admin_port, upstreams, routes, **server):
    """A config dict (dumped as JSON, which is YAML) with short, test-friendly defaults."""
    timeouts = {"request_read": "10s", "idle": "30s", "upstream_connect": "2s",
                "upstream_response": "20s", "drain": "10s"}
    timeouts.update(server.pop("timeouts", {}))
    limits = {"max_header_bytes": "16KiB", "max_header_count": 100, "max_body_bytes": "1GiB"}
    limits.update(server.pop("limits", {}))
    listeners = server.pop("listeners", None) or [
        {"name": "public", "address": HOST, "port": listen_port}]
    cfg = {
        "server": dict({"worker_threads": 1, "listeners": listeners, "limits": limits,
                        "timeouts": timeouts}, **server),
        "admin": {"address": HOST, "port": admin_port},
        "logging": {"access_log": "stdout", "decision_log": "stderr"},
        "upstreams": upstreams,
        "routes": routes,
    }
    return cfg


def prom_routes(upstream="prom"):
    return [
        {"name": "query", "methods": ["GET", "POST"], "path": "/api/v1/query",
         "upstream": upstream, "auth": "unsafe_none", "query_params": ["query", "time"]},
        {"name": "label-values", "methods": ["GET"], "path": "/api/v1/label/{name}/values",
         "upstream": upstream, "auth": "unsafe_none", "unsafe_any_query_params": True},
        {"name": "write", "methods": ["POST", "PUT"], "path": "/api/v1/write",
         "upstream": upstream, "auth": "unsafe_none"},
        {"name": "big", "methods": ["GET"], "path": "/big", "upstream": upstream,
         "auth": "unsafe_none"},
        {"name": "slow", "methods": ["GET"], "path": "/slow", "upstream": upstream,
         "auth": "unsafe_none"},
        {"name": "die", "methods": ["GET"], "path": "/die", "upstream": upstream,
         "auth": "unsafe_none"},
    ]


class Gateway:
    """obsgate running on a generated config. Always call stop() (GatewayTestCase does)."""

    def __init__(self, config, workdir):
        self.config = config
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "obsgate.yaml")
        self.stdout_path = os.path.join(workdir, "stdout.log")
        self.stderr_path = os.path.join(workdir, "stderr.log")
        self.proc = None
        self._out = None
        self._err = None

    @property
    def port(self):
        return self.config["server"]["listeners"][0]["port"]

    @property
    def admin_port(self):
        return self.config["admin"]["port"]

    @property
    def pid(self):
        return self.proc.pid

    def write_config(self, config=None, text=None):
        if config is not None:
            self.config = config
        data = text if text is not None else json.dumps(self.config, indent=2)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, self.config_path)

    def start(self, timeout=15.0, ready_path="/readyz"):
        """Starts obsgate and waits until ready_path answers 200 (/healthz when the config's
        identity providers can't be reached, so /readyz would wait for their keys forever)."""
        self.write_config()
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([obsgate_bin(), "--config", self.config_path],
                                     stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("obsgate exited with %s: %s" % (self.proc.returncode,
                                                                   self.stderr()))
            try:
                if self.admin_get(ready_path, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("obsgate not ready after %.0fs: %s" % (timeout, self.stderr()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for f in (self._out, self._err):
            if f is not None:
                f.close()
        self._out = self._err = None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        return self.proc.wait(timeout)

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def access_log(self):
        """The JSON lines written to stdout so far, parsed."""
        out = []
        for line in self.stdout().splitlines():
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_access_log(self, predicate, timeout=5.0):
        def find():
            return [e for e in self.access_log() if predicate(e)]
        return wait_for(find, timeout, what="access log entry")

    def admin_get(self, path, timeout=5):
        c = http.client.HTTPConnection(HOST, self.admin_port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def metrics(self):
        status, body = self.admin_get("/metrics")
        if status != 200:
            raise AssertionError("/metrics answered %d" % status)
        return body

    def metric(self, name, **labels):
        """The value of one sample (labels must match exactly those given), or None."""
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            key, _, value = line.rpartition(" ")
            if "{" in key:
                mname, _, rest = key.partition("{")
                got = dict(_parse_labels(rest.rstrip("}")))
            else:
                mname, got = key, {}
            if mname == name and got == labels:
                return float(value)
        return None

    def vm_hwm_kib(self):
        return _proc_status_kib(self.pid, "VmHWM")

    def vm_rss_kib(self):
        return _proc_status_kib(self.pid, "VmRSS")

    def connection(self, timeout=30):
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a fresh connection: (status, headers dict (lower-case), body)."""
        c = self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()


def _proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (key, pid))


def _parse_labels(s):
    out = []
    i = 0
    while i < len(s):
        eq = s.index("=", i)
        name = s[i:eq].strip().lstrip(",").strip()
        j = eq + 2  # past ="
        val = []
        while s[j] != '"':
            if s[j] == "\\":
                j += 1
            val.append(s[j])
            j += 1
        out.append((name, "".join(val)))
        i = j + 1
        if i < len(s) and s[i] == ",":
            i += 1
    return out


# --------------------------------------------------------------------------------------------
# Raw-socket client


class Response:
    def __init__(self):
        self.status = 0
        self.reason = ""
        self.version = ""
        self.headers = []
        self.body = b""
        self.complete = False  # the body arrived in full per its framing

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Response(%d %s, %d body bytes, complete=%s)" % (
            self.status, self.headers, len(self.body), self.complete)


class RawConn:
    """A plain TCP connection for hand-written requests."""

    def __init__(self, port, timeout=10.0, sock=None):
        self.sock = sock or socket.create_connection((HOST, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data):
        self.sock.sendall(data)

    def send_quiet(self, data):
        """Sends, ignoring a peer that already closed (it may have answered first)."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self):
        while b"\n" not in self.buf:
            if not self._fill():
                return None
        i = self.buf.index(b"\n")
        out, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
        return out

    def _exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                out, self.buf = self.buf, b""
                return out
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request=False):
        """Reads one response; None if the connection ended before a status line."""
        while True:
            line = self._line()
            if line is None:
                return None
            r = Response()
            r.version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
            code, _, r.reason = rest.partition(" ")
            r.status = int(code)
            while True:
                h = self._line()
                if h is None:
                    return r
                h = h.decode("latin-1")
                if h in ("\r\n", "\n"):
                    break
                k, _, v = h.partition(":")
                r.headers.append((k, v.strip()))
            if 100 <= r.status < 200:
                if r.status == 100:
                    return r
                continue
            break
        if head_request or r.status in (204, 304):
            r.complete = True
            return r
        te = (r.header("Transfer-Encoding") or "").lower()
        if te == "chunked":
            parts = []
            while True:
                sl = self._line()
                if sl is None:
                    break
                size = int(sl.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        t = self._line()
                        if t is None or t in (b"\r\n", b"\n"):
                            break
                    r.complete = t is not None
                    break
                data = self._exact(size)
                parts.append(data)
                if len(data) < size or self._line() is None:
                    break
            r.body = b"".join(parts)
        elif r.header("Content-Length") is not None:
            try:
                n = int(r.header("Content-Length"))
            except ValueError:
                raise AssertionError("a strict client cannot frame this response: "
                                     "Content-Length %r" % r.header("Content-Length"))
            r.body = self._exact(n)
            r.complete = len(r.body) == n
        else:
            while self._fill():
                pass
            r.body, self.buf = self.buf, b""
            r.complete = True
        return r

    def closed_by_peer(self, timeout=5.0):
        """True if the peer closes (EOF or reset) within timeout with no further bytes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True
            if not data:
                return True
            self.buf += data
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_request(port, data, timeout=10.0):
    """Sends raw bytes on a fresh connection and reads one response (None if none came)."""
    c = RawConn(port, timeout)
    try:
        c.send_quiet(data)
        return c.read_response()
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# unittest base


class GatewayTestCase(unittest.TestCase):
    """Starts one recording upstream (self.up) and obsgate (self.gw) per test.

    Subclasses override make_config(upstream) to change the configuration.
    """

    upstream_api = "prometheus"

    def make_config(self, up):
        ups = [{"name": "prom", "url": up.url, "api": self.upstream_api}]
        return base_config(free_port(), free_port(), ups, prom_routes())

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="obsgate-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.up = Upstream()
        self.addCleanup(self.up.stop)
        self.gw = self.start_gateway(self.make_config(self.up))

    def start_gateway(self, config, attempts=3):
        """Starts obsgate; retries with fresh ports if another process took one meanwhile."""
        last = None
        for i in range(attempts):
            d = os.path.join(self.tmp, "gw%d" % len(os.listdir(self.tmp)))
            os.makedirs(d)
            gw = Gateway(config, d)
            try:
                gw.start()
                self.addCleanup(gw.stop)
                return gw
            except RuntimeError as e:
                gw.stop()
                last = e
                if "cannot listen" not in str(e):
                    raise
                for l in config["server"]["listeners"]:
                    l["port"] = free_port()
                config["admin"]["port"] = free_port()
        raise last
