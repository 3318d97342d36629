"""deploy/systemd: the unit passes `systemd-analyze verify` (with no warnings: unknown or
misspelt directives are only warnings to systemd), carries the hardening this project requires,
and agrees with its environment file, its sysusers entry and obsgate.yaml."""

import os
import re
import shutil
import unittest

from deploy_common import Scratch, file_settings, load_yaml, obsgate_bin, path, read, run

UNIT = path("systemd", "obsgate.service")
ENV = path("systemd", "obsgate.env")
SYSUSERS = path("systemd", "obsgate.sysusers")

# Directive -> the value it must have (every occurrence is collected; this one must be among).
REQUIRED = {
    "User": "obsgate",
    "Group": "obsgate",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "ReadOnlyPaths": "/etc/obsgate",
    "EnvironmentFile": "/etc/default/obsgate",
    "KillSignal": "SIGTERM",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
}


def parse_unit(text):
    """{section: {key: [values in order]}}; systemd allows repeated keys."""
    out, section = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and section is not None, "not a directive: %r" % raw
        section.setdefault(key.strip(), []).append(value.strip())
    return out


class UnitTest(unittest.TestCase):
    def setUp(self):
        self.unit = parse_unit(read(UNIT))
        self.svc = self.unit["Service"]

    def test_hardening(self):
        for key, value in REQUIRED.items():
            with self.subTest(directive=key):
                self.assertIn(value, self.svc.get(key, []))
        self.assertNotIn("root", self.svc["User"])

    def test_secrets_read_only(self):
        cfg = load_yaml(path("kubernetes", "obsgate.yaml"))
        ro = self.svc["ReadOnlyPaths"]
        self.assertIn("/etc/obsgate/secrets", ro)
        # Every file obsgate.yaml names lies under a read-only path.
        for f in file_settings(cfg):
            self.assertTrue(any(f.startswith(p + "/") for p in ro), f)

    def test_reload_checks_then_sends_sighup(self):
        reload = self.svc["ExecReload"]
        self.assertEqual(reload[-1], "/bin/kill -HUP $MAINPID")
        self.assertIn("--check-config", reload[0])

    def test_environment_file_defines_what_the_unit_uses(self):
        env = {}
        for line in read(ENV).splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                env[k] = v
        used = set(re.findall(r"\$\{(\w+)\}", " ".join(self.svc["ExecStart"] +
                                                        self.svc["ExecStartPre"])))
        self.assertTrue(used)
        for name in used:
            self.assertIn(name, env)
        self.assertEqual(env["OBSGATE_CONFIG"], "/etc/obsgate/obsgate.yaml")

    def test_stop_timeout_covers_drain(self):
        cfg = load_yaml(path("kubernetes", "obsgate.yaml"))
        drain = int(cfg["server"]["timeouts"]["drain"].rstrip("s"))
        self.assertGreater(int(self.svc["TimeoutStopSec"][0]), drain)

    def test_sysusers_creates_the_user(self):
        entries = [l.split() for l in read(SYSUSERS).splitlines()
                   if l.strip() and not l.startswith("#")]
        self.assertIn(["u", self.svc["User"][0]], [e[:2] for e in entries])


class SystemdAnalyzeTest(unittest.TestCase):
    """systemd-analyze verify on a copy whose /usr/local/bin/obsgate is the built binary
    (verify checks that the commands exist). Any diagnostic fails the test."""

    def verify(self, text):
        exe = shutil.which("systemd-analyze")
        if not exe:
            self.skipTest("systemd-analyze not installed; the unit checks above still ran")
        with Scratch() as s:
            unit = os.path.join(s.dir, "obsgate.service")
            with open(unit, "w") as f:
                f.write(text.replace("/usr/local/bin/obsgate", os.path.abspath(obsgate_bin())))
            return run([exe, "verify", unit], cwd=s.dir)

    def test_verify_clean(self):
        r = self.verify(read(UNIT))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout + r.stderr, "", "systemd-analyze printed diagnostics")

    def test_verify_reports_a_misspelt_directive(self):
        r = self.verify(read(UNIT).replace("NoNewPrivileges=", "NoNewPrivilege="))
        self.assertIn("Unknown key", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
