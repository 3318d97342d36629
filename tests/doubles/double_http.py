"""The HTTP machinery shared by obsgate's test doubles (Python 3 standard library only).

DoubleServer   a ThreadingHTTPServer on 127.0.0.1 that records every request it receives and
               can be switched into failure modes (hang, close) through /__test/mode
DoubleHandler  the request handler base: reads the body (Content-Length or chunked), records
               it, dispatches /__test/* control requests, and calls handle_api(rec) for the rest
serve(server)  prints "LISTENING <port>" as the first stdout line and serves until SIGTERM/SIGINT

Control endpoints every double has (never recorded):
  GET  /__test/requests         the recordings, oldest first (JSON list)
  POST /__test/reset            clears the recordings (and whatever reset_state() adds)
  POST /__test/mode  {"mode": "normal" | "hang" | "close"}
       hang:  requests are read and recorded, then never answered; when the mode goes back to
              normal (or the double stops) those connections are closed without an answer
       close: requests are read and recorded, then the connection is closed without an answer
       reset: the same, but the close is a TCP reset (RST) instead of a FIN
       error: every request gets {"status"} (default 503) with {"text"} as a plain-text body
  "delay": seconds to wait before handling each request (any mode)
  GET  /__test/mode             {"mode": ...}
"""

import json
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
MAX_BODY = 64 << 20
MAX_TEXT = 1 << 20
MODES = ("normal", "hang", "close", "reset", "error")


class BodyError(Exception):
    pass


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, args, handler_cls):
        """args: the parsed command line (see add_common_args)."""
        super().__init__((HOST, args.port), handler_cls)
        self.verbose = args.verbose
        self.base_path = (args.base_path or "").rstrip("/")
        self.ssl_context = tls_context(args)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.records = []
        self.tls_errors = []
        self.seq = 0
        self.mode = "normal"
        self.delay = 0.0
        self.error_status = 503
        self.error_text = ""
        self.stopping = False

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            # The handshake runs in the connection's own thread (DoubleHandler.setup).
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def add_tls_error(self, err):
        with self.lock:
            self.tls_errors.append({"time": time.time(), "error": err})

    @property
    def port(self):
        return self.server_address[1]

    def add_record(self, rec):
        with self.lock:
            self.seq += 1
            rec["seq"] = self.seq
            self.records.append(rec)

    def set_status(self, rec, status):
        with self.lock:
            rec["status"] = status

    def records_json(self):
        with self.lock:
            return json.dumps(self.records)

    def reset(self):
        with self.lock:
            self.records.clear()
            self.tls_errors.clear()
        self.reset_state()

    def reset_state(self):
        """Overridden by doubles with more to clear."""

    def set_mode(self, mode, delay=0.0, status=503, text=""):
        with self.cond:
            self.mode = mode
            self.delay = delay
            self.error_status = status
            self.error_text = text
            self.cond.notify_all()

    def mode_json(self):
        with self.lock:
            return {"mode": self.mode, "delay": self.delay, "status": self.error_status,
                    "text": self.error_text}

    def wait_not_hanging(self):
        with self.cond:
            while self.mode == "hang" and not self.stopping:
                self.cond.wait(0.5)

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.shutdown()


class DoubleHandler(BaseHTTPRequestHandler):
    """Subclasses implement handle_api(rec) and may override control(rec) for extra /__test/."""

    protocol_version = "HTTP/1.1"
    server_version = "obsgate-double"
    sys_version = ""

    def version_string(self):
        return self.server_version

    def setup(self):
        self.tls = None
        self.tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.server.add_tls_error(str(e))
                self.tls_failed = True
            else:
                cert = self.request.getpeercert() or {}
                subject = dict(x[0] for x in cert.get("subject", ()))
                self.tls = {"sni": getattr(self.request, "obsgate_sni", None),
                            "version": self.request.version(),
                            "peer_cn": subject.get("commonName")}
            self.request.settimeout(None)
        super().setup()

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    # -- dispatch

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        self.rec = None  # a keep-alive connection must not touch the previous request's record
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        try:
            body = self._read_body()
        except BodyError as e:
            self.reply_text(400, str(e) + "\n")
            self.close_connection = True
            return
        if path.startswith("/__test/"):
            self._control(path, query, body)
            return
        base = self.server.base_path
        if base and not (path == base or path.startswith(base + "/")):
            self.api_path = None  # outside --base-path: 404 (but recorded)
        else:
            self.api_path = path[len(base):] or "/"
        rec = {
            "seq": 0,
            "time": time.time(),
            "method": self.command,
            "target": self.path,
            "path": path,
            "query": [list(p) for p in query],
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": len(body),
            "body_text": _text(body),
            "status": None,
        }
        if self.tls is not None:
            rec["tls"] = self.tls
        self.rec = rec
        self.body = body
        self.query = query
        self.server.add_record(rec)
        srv = self.server
        with srv.lock:
            mode, delay = srv.mode, srv.delay
            err_status, err_text = srv.error_status, srv.error_text
        if delay:
            with srv.cond:  # interruptible by a mode change or the double stopping
                srv.cond.wait_for(lambda: srv.stopping or (srv.mode, srv.delay) != (mode, delay),
                                  timeout=delay)
        if mode == "error":
            self.reply_text(err_status, err_text)
            return
        if mode == "close":
            self.server.set_status(rec, "closed")
            self._drop()
            return
        if mode == "reset":
            self.server.set_status(rec, "reset")
            self._reset()
            return
        if mode == "hang":
            self.server.set_status(rec, "hung")
            self.server.wait_not_hanging()
            self._drop()
            return
        try:
            if self.api_path is None:
                self.reply_text(404, "404 page not found\n")
            else:
                self.handle_api(rec)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug in the double: answer 500 so the test sees it
            text = traceback.format_exc()
            sys.stderr.write(text)
            rec["double_error"] = text
            try:
                self.reply_text(500, "test double error:\n" + text)
            except OSError:
                self.close_connection = True

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reset(self):
        """Closes with an RST (SO_LINGER 0) instead of a FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()  # now, before socketserver's shutdown(SHUT_WR) sends a FIN
        except OSError:
            pass

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if te == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(1 << 16)
                if not line:
                    raise BodyError("unexpected EOF in chunked body")
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyError("bad chunk size line")
                if size == 0:
                    while True:
                        t = self.rfile.readline(1 << 16)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise BodyError("request body too large")
                out += self.rfile.read(size)
                self.rfile.readline(16)
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        try:
            n = int(n)
        except ValueError:
            raise BodyError("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise BodyError("request body too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise BodyError("unexpected EOF in body")
        return data

    # -- control endpoints

    def _control(self, path, query, body):
        srv = self.server
        if path == "/__test/requests" and self.command == "GET":
            self.reply_raw(200, srv.records_json().encode(), "application/json")
        elif path == "/__test/tls-errors" and self.command == "GET":
            with srv.lock:
                errors = list(srv.tls_errors)
            self.reply_json(200, errors)
        elif path == "/__test/reset" and self.command == "POST":
            srv.reset()
            self.reply_json(200, {"ok": True})
        elif path == "/__test/mode" and self.command == "GET":
            self.reply_json(200, srv.mode_json())
        elif path == "/__test/mode" and self.command == "POST":
            try:
                doc = json.loads(body or b"{}")
                mode = doc.get("mode")
                delay = float(doc.get("delay", 0))
                status = int(doc.get("status", 503))
                text = doc.get("text", "")
                if mode not in MODES or not (0 <= delay <= 3600) or \
                        not (100 <= status <= 999) or not isinstance(text, str):
                    raise ValueError()
            except (ValueError, AttributeError, TypeError):
                self.reply_json(400, {"error": "want {\"mode\": one of %s, \"delay\": seconds, "
                                               "\"status\": code, \"text\": body}"
                                               % (MODES,)})
                return
            srv.set_mode(mode, delay, status, text)
            self.reply_json(200, srv.mode_json())
        elif not self.control(path, query, body):
            self.reply_json(404, {"error": "unknown control endpoint %s %s" % (self.command,
                                                                              path)})

    def control(self, path, query, body):
        """Extra control endpoints of a double; returns False if path is not one."""
        return False

    def handle_api(self, rec):
        raise NotImplementedError

    # -- replies

    def _note_status(self, status):
        # Before the answer goes out, so a test that got the answer sees the status recorded.
        rec = getattr(self, "rec", None)
        if rec is not None:
            self.server.set_status(rec, status)

    def reply_raw(self, status, data, ctype, headers=()):
        self._note_status(status)
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def reply_json(self, status, obj, headers=()):
        self.reply_raw(status, json.dumps(obj).encode(), "application/json", headers)

    def reply_text(self, status, text, headers=()):
        self.reply_raw(status, text.encode(), "text/plain; charset=utf-8",
                       [("X-Content-Type-Options", "nosniff")] + list(headers))

    def reply_empty(self, status, headers=()):
        self._note_status(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", "0")
        self.end_headers()

    def header(self, name):
        return self.headers.get(name)


def add_common_args(ap):
    """The command-line options every double has."""
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM, chain first)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    ap.add_argument("--tls-client-ca", help="require client certificates issued by this CA")
    ap.add_argument("--base-path", default="",
                    help="serve the API under this path prefix (e.g. /bao); others get 404")


def tls_context(args):
    if not args.tls_cert:
        if args.tls_key or args.tls_client_ca:
            raise SystemExit("--tls-key and --tls-client-ca need --tls-cert")
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    if args.tls_client_ca:
        ctx.load_verify_locations(args.tls_client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED

    def on_sni(sock, name, _ctx):
        try:
            sock.obsgate_sni = name
        except AttributeError:
            pass
    ctx.sni_callback = on_sni
    return ctx


def _text(body):
    """The body as text if it is UTF-8 (at most 1 MiB of it), else None."""
    if not body:
        return ""
    try:
        return body[:MAX_TEXT].decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= MAX_TEXT - 3 and len(body) > MAX_TEXT:
            return body[:e.start].decode("utf-8")
        return None


def serve(server):
    """Announces the port on stdout's first line, then serves until SIGTERM or SIGINT."""
    def on_signal(signum, frame):
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write("LISTENING %d\n" % server.port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
