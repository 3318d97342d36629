"""Start the test doubles from Python tests (standard library only).

    import sys; sys.path.insert(0, "<repo>/tests/doubles")
    from launch import LokiDouble, OpenBaoDouble

    loki = LokiDouble(seed=[{"labels": {"app": "a"}, "entries": [["now-1m", "hello"]]}],
                      multi_tenant=True)
    try:
        ... point obsgate at loki.url ...
        recs = loki.requests("/loki/api/v1/query_range")   # what reached the double
        assert recs[0]["params"] ...
    finally:
        loki.stop()

Each double is a subprocess on 127.0.0.1 with a port the kernel picked; the constructor returns
once the double has printed "LISTENING <port>" (it is accepting connections by then).
"""

import http.client
import json
import os
import select
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"


class DoubleProcess:
    """tls: None for plain HTTP, or a dict {"cert": path, "key": path, "client_ca": path or
    None, "control_cert": (cert, key) or None}: the double serves HTTPS (with client
    certificates required when client_ca is set; control_cert is what launch.py itself then
    presents). base_path: the double serves its API under that prefix."""

    def __init__(self, script, args, timeout=15.0, tls=None, base_path=""):
        args = list(args)
        self.tls = tls
        self.base_path = base_path.rstrip("/")
        if tls:
            args += ["--tls-cert", tls["cert"], "--tls-key", tls["key"]]
            if tls.get("client_ca"):
                args += ["--tls-client-ca", tls["client_ca"]]
        if base_path:
            args += ["--base-path", base_path]
        self._tmp = tempfile.TemporaryDirectory(prefix="obsgate-double-")
        self.stderr_path = os.path.join(self._tmp.name, "stderr.log")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), "--port", "0"] + list(args),
            stdout=subprocess.PIPE, stderr=self._err, stdin=subprocess.DEVNULL)
        self.port = self._read_port(timeout)

    def _read_port(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                if self.proc.poll() is None:
                    self.proc.kill()
                self.proc.wait(5)
                err = self.stderr()
                self.stop()
                raise RuntimeError("double did not start: %r %s" % (buf, err))
            r, _, _ = select.select([fd], [], [], min(left, 0.2))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError("unexpected first line from double: %r" % line)
        return int(line.split()[1])

    @property
    def url(self):
        """The API's base URL (with the base path, if any)."""
        return "%s://%s:%d%s" % ("https" if self.tls else "http", HOST, self.port,
                                 self.base_path)

    def _connection(self, timeout):
        if not self.tls:
            return http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the control channel does not check the double
        if self.tls.get("control_cert"):
            ctx.load_cert_chain(*self.tls["control_cert"])
        return http.client.HTTPSConnection(HOST, self.port, timeout=timeout, context=ctx)

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """One request on a fresh connection: (status, headers dict lower-case, body bytes)."""
        c = self._connection(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def _control(self, method, path, body=None):
        status, _, data = self.request(method, path, body)
        if status != 200:
            raise RuntimeError("%s %s -> %d %s" % (method, path, status, data))
        return json.loads(data)

    def tls_errors(self):
        """TLS handshakes that failed: [{"time", "error"}]."""
        return self._control("GET", "/__test/tls-errors")

    def requests(self, path=None):
        """Recorded requests (oldest first), optionally only those for one path."""
        recs = self._control("GET", "/__test/requests")
        return [r for r in recs if path is None or r["path"] == path]

    def reset(self):
        self._control("POST", "/__test/reset")

    def set_mode(self, mode, delay=0.0, status=503, text=""):
        """mode: normal, hang, close, reset or error (answers status with text); delay: seconds
        to wait before handling each request."""
        self._control("POST", "/__test/mode", {"mode": mode, "delay": delay, "status": status,
                                               "text": text})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._err.close()
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class LokiDouble(DoubleProcess):
    """seed: a list of streams, or {"tenants": {org: [streams]}} (see README.md)."""

    def __init__(self, seed=None, multi_tenant=False, gzip_responses=False, extra_args=(),
                 timeout=15.0, tls=None, base_path=""):
        args = list(extra_args)
        if gzip_responses:
            args.append("--gzip-responses")
        self._seed_tmp = None
        if seed is not None:
            fd, path = tempfile.mkstemp(prefix="loki-seed-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(seed, f)
            self._seed_tmp = path
            args += ["--data", path]
        if multi_tenant:
            args.append("--multi-tenant")
        super().__init__("loki_double.py", args, timeout, tls, base_path)

    def streams(self):
        return self._control("GET", "/__test/streams")

    def clear_streams(self):
        self._control("POST", "/__test/clear-streams")

    def tails(self):
        return self._control("GET", "/__test/tails")

    def pushes(self):
        """The decoded bodies of the pushes that reached the double."""
        return [r["push"] for r in self.requests("/loki/api/v1/push") if "push" in r]

    def stop(self):
        super().stop()
        if self._seed_tmp:
            os.unlink(self._seed_tmp)
            self._seed_tmp = None


class OpenBaoDouble(DoubleProcess):
    def __init__(self, name="bao-0", state="active", token="s.test-metrics-token",
                 unauthenticated_metrics=False, extra_args=(), timeout=15.0, tls=None,
                 base_path=""):
        args = ["--name", name, "--state", state, "--token", token] + list(extra_args)
        if unauthenticated_metrics:
            args.append("--unauthenticated-metrics")
        self.name = name
        self.token = token
        super().__init__("openbao_double.py", args, timeout, tls, base_path)

    def set_state(self, state):
        self._control("POST", "/__test/state", {"state": state})

    def set_metrics(self, append="", replace=None):
        """Appends text to the Prometheus exposition, or replaces it whole (None: don't)."""
        self._control("POST", "/__test/metrics", {"append": append, "replace": replace})


class OpenBaoCluster:
    """Several OpenBao node doubles sharing a token and cluster name: one active, the others
    standby. nodes is {name: OpenBaoDouble}; set_active(name) moves leadership (the old active
    node becomes a standby)."""

    def __init__(self, names=("bao-0", "bao-1", "bao-2"), active=None,
                 token="s.test-metrics-token", unauthenticated_metrics=(), **kw):
        self.nodes = {}
        active = names[0] if active is None else active
        try:
            for name in names:
                self.nodes[name] = OpenBaoDouble(
                    name=name, state="active" if name == active else "standby", token=token,
                    unauthenticated_metrics=name in unauthenticated_metrics, **kw)
        except Exception:
            self.stop()
            raise
        self.active = active

    def set_active(self, name):
        if self.active is not None and self.active != name:
            self.nodes[self.active].set_state("standby")
        self.nodes[name].set_state("active")
        self.active = name

    def stop(self):
        for node in self.nodes.values():
            node.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
