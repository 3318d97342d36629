"""Shared helpers for the tests of deploy/ (the operator artifacts).

Each test module checks one kind of artifact with the real tool where one is installable
(promtool, systemd-analyze, kubectl kustomize, obsgate itself) and a parse plus explicit checks
otherwise. Python 3 with PyYAML (Debian: python3-yaml, installed by scripts/setup.sh).
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import yaml
except ImportError as e:  # pragma: no cover - the message is the point
    raise SystemExit("tests/deploy need PyYAML: apt-get install python3-yaml "
                     "(scripts/setup.sh installs it)") from e

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")


def path(*parts):
    return os.path.join(DEPLOY, *parts)


def read(p):
    with open(p, encoding="utf-8") as f:
        return f.read()


def load_yaml(p):
    return yaml.safe_load(read(p))


def load_yaml_all(p):
    return [d for d in yaml.safe_load_all(read(p)) if d is not None]


def obsgate_bin():
    """The obsgate binary: OBSGATE_BIN (CTest sets it), else a build directory's."""
    p = os.environ.get("OBSGATE_BIN")
    if p:
        return p
    for cand in ("build", "build-deploy", "build-it"):
        p = os.path.join(ROOT, cand, "gateway", "cli", "obsgate")
        if os.path.exists(p):
            return p
    raise unittest.SkipTest("no obsgate binary: set OBSGATE_BIN")


def tool(name):
    """Absolute path of a required tool; a missing one is a failure, not a skip."""
    p = shutil.which(name)
    if not p:
        raise AssertionError("%s is not installed (scripts/setup.sh installs it)" % name)
    return p


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


class Scratch:
    """A temporary directory standing in for an absolute prefix such as /etc/obsgate.

    relocate() rewrites every occurrence of the prefix in a file's text so tools that open the
    files an artifact names (promtool, obsgate --check-config) find them here; make_files()
    creates those files: a CA-signed certificate and key for *.crt/*.key names (real PEM,
    generated with openssl), random bytes for anything else (token and secret files).
    """

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="obsgate-deploy-test.")

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def local(self, abs_path):
        return os.path.join(self.dir, abs_path.lstrip("/"))

    def relocate(self, text, prefixes):
        for prefix in prefixes:
            text = text.replace(prefix, self.local(prefix))
        return text

    # Names every generated leaf certificate carries, so one certificate serves any of the
    # roles an artifact gives it (listener, upstream, client) on loopback.
    SANS = ["DNS:localhost", "IP:127.0.0.1", "DNS:obsgate.observability.svc",
            "DNS:prometheus.monitoring.svc", "DNS:loki-gateway.loki.svc"]

    def make_files(self, abs_paths):
        ca = self._ca()
        for p in sorted(set(abs_paths)):
            local = self.local(p)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            if os.path.exists(local):
                continue
            tokens = re.split(r"[-_.]", os.path.basename(p))
            if p.endswith(".crt") and "ca" in tokens:
                shutil.copy(ca + ".crt", local)
            elif p.endswith((".crt", ".key")):
                stem = local[: -len(".crt")]
                self._leaf(ca, stem + ".key", stem + ".crt")
            else:
                with open(local, "w") as f:
                    f.write(os.urandom(24).hex() + "\n")

    def _ca(self):
        ca = os.path.join(self.dir, "_test-ca")
        if not os.path.exists(ca + ".crt"):
            r = run([tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca + ".key", "-out",
                     ca + ".crt", "-days", "2", "-subj", "/CN=obsgate deploy test CA"])
            assert r.returncode == 0, r.stderr
        return ca

    def client_cert(self, abs_stem, uri_san):
        """A client certificate (abs_stem.crt, .key) from the scratch CA carrying uri_san, for
        the certificate rules of an obsgate configuration (identity.certificates[].uri_san).
        Returns the local (crt, key) paths."""
        local = self.local(abs_stem)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        self._leaf(self._ca(), local + ".key", local + ".crt", ["URI:" + uri_san])
        return local + ".crt", local + ".key"

    def _leaf(self, ca, key, crt, sans=None):
        if os.path.exists(key) and os.path.exists(crt):
            return
        csr = crt + ".csr"
        r = run([tool("openssl"), "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"])
        assert r.returncode == 0, r.stderr
        ext = crt + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n"
                    % ",".join(sans or self.SANS))
        r = run([tool("openssl"), "x509", "-req", "-in", csr, "-CA", ca + ".crt", "-CAkey",
                 ca + ".key", "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
        assert r.returncode == 0, r.stderr
        os.unlink(csr)
        os.unlink(ext)


def file_settings(node, keys=("_file", "_files")):
    """Every string value under a key ending in _file (and every item of *_files lists)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and k.endswith(keys[0]) and isinstance(v, str):
                out.append(v)
            elif isinstance(k, str) and k.endswith(keys[1]) and isinstance(v, list):
                out.extend(x for x in v if isinstance(x, str))
            else:
                out.extend(file_settings(v, keys))
    elif isinstance(node, list):
        for v in node:
            out.extend(file_settings(v, keys))
    return out


_PROBE = 'obsgate_deploy_probe="1"'
_SELECTOR = re.compile(r'([A-Za-z_:][A-Za-z0-9_:]*)?\{[^{}]*' + re.escape(_PROBE))


def promql_parse(expr):
    """Parses expr with obsgate's own PromQL parser (`obsgate rewrite --unrestricted`).
    Returns (ok, message)."""
    r = run([obsgate_bin(), "rewrite", "--promql", expr, "--unrestricted"])
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def promql_metric_names(expr):
    """The metric names of every vector/matrix selector in expr, found by letting obsgate's
    enforcer add a probe matcher to each selector and reading them back from its output.
    A selector without a metric name yields None."""
    r = run([obsgate_bin(), "rewrite", "--promql", expr, "--scope", "{%s}" % _PROBE])
    if r.returncode != 0:
        raise AssertionError("obsgate rewrite failed on %r: %s" % (expr, r.stderr.strip()))
    return [m.group(1) for m in _SELECTOR.finditer(r.stdout)]


def grafana_to_promql(expr):
    """A Grafana panel query as plain PromQL: Grafana's interval macros become 5m, template
    variables ($job, ${job}) become a literal. Only these substitutions are made."""
    expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
    expr = re.sub(r"\$\{?__[a-z_]+\}?", "5m", expr)
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", r"var_\1", expr)



# --- tokens and write bodies, for the tests that drive a running obsgate ----------------------


def mint_bin():
    """obsgate_mint_token (tests/tools): OBSGATE_MINT_TOKEN (CTest sets it), else next to the
    obsgate binary's build directory. Missing is a failure, not a skip: the tests that need it
    are the ones that drive obsgate, and skipping them would hide the dashboard check."""
    p = os.environ.get("OBSGATE_MINT_TOKEN")
    if p:
        return p
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(obsgate_bin()))))
    p = os.path.join(build, "tests", "tools", "obsgate_mint_token")
    if not os.path.exists(p):
        raise AssertionError("obsgate_mint_token not built: build the target "
                             "obsgate_mint_token, or set OBSGATE_MINT_TOKEN")
    return p


class TokenIssuer:
    """A test identity provider: an ES256 key and its JWK Set file (for `keys: {jwks_file}`),
    and access tokens signed with it. Claims are whatever the caller passes, plus iss, aud,
    iat and exp (15 minutes)."""

    def __init__(self, directory, issuer, audience="obsgate", kid="k1"):
        self.issuer, self.audience, self.kid = issuer, audience, kid
        self.key = os.path.join(directory, "idp-%s.pem" % kid)
        self.jwks = os.path.join(directory, "jwks-%s.json" % kid)
        self._mint("--generate", "--key", self.key, "--jwks", self.jwks, "--alg", "ES256",
                   "--kid", kid)

    def _mint(self, *args):
        r = run([mint_bin()] + list(args))
        if r.returncode != 0:
            raise AssertionError("obsgate_mint_token: " + r.stderr)
        return r.stdout.strip()

    def token(self, typ=None, **claims):
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 900}
        body.update(claims)
        args = ["--key", self.key, "--alg", "ES256", "--kid", self.kid, "--claims",
                json.dumps(body)]
        if typ:
            args += ["--typ", typ]
        return self._mint(*args)


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _field(num, payload):
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def remote_write_body(series):
    """A Prometheus remote-write 1.0 WriteRequest, snappy-compressed.
    series: [({label: value}, [(value, timestamp_ms)])]."""
    doubles = os.path.join(ROOT, "tests", "doubles")
    if doubles not in sys.path:
        sys.path.insert(0, doubles)
    from push_encoder import snappy_compress  # tests/doubles: an independent compressor
    body = b""
    for labels, samples in series:
        ts = b""
        for name, value in sorted(labels.items()):
            ts += _field(1, _field(1, name.encode()) + _field(2, value.encode()))
        for value, stamp in samples:
            ts += _field(2, _varint(1 << 3 | 1) + struct.pack("<d", value) +
                         _varint(2 << 3 | 0) + _varint(stamp))
        body += _field(1, ts)
    return snappy_compress(body)
