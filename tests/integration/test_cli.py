"""obsgate's operator commands as a user runs them: exit codes, stdout and stderr."""
import os
import subprocess
import unittest

from harness import obsgate_bin


def run(*args):
    p = subprocess.run([obsgate_bin(), *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


class RewriteTest(unittest.TestCase):
    CASES = [
        # (name, args, exit code, stdout (exact) or None, stderr substring or None)
        ("promql one rule", ["--promql", "rate(http_requests_total[5m])",
                             "--scope", '{namespace=~"team-a|team-a-staging", cluster="prod"}'],
         0, 'rate(http_requests_total{namespace=~"team-a|team-a-staging", cluster="prod"}[5m])\n',
         None),
        ("promql binary both sides", ["--promql", "a / on(job) b", "--scope", '{team="a"}'],
         0, 'a{team="a"} / on(job) b{team="a"}\n', None),
        ("promql rules collapse", ["--promql", "up", "--scope", '{ns="a"}', "--scope", '{ns="b"}'],
         0, 'up{ns=~"a|b"}\n', None),
        ("promql rules lifted with or", ["--promql", "rate(x[5m])", "--scope", '{team="a"}',
                                         "--scope", '{namespace="b"}'],
         0, 'rate(x{team="a"}[5m]) or rate(x{namespace="b"}[5m])\n', None),
        ("promql hidden label refused", ["--promql", "sum by (user_id) (x)", "--scope", '{t="a"}',
                                         "--hidden", "user_id"], 1, "", "user_id"),
        ("promql no scope denies", ["--promql", "up"], 1, "", "no series"),
        ("promql parse error has position", ["--promql", "sum(", "--scope", '{t="a"}'],
         1, "", "1:5"),
        ("bad scope selector", ["--promql", "up", "--scope", "nope{"], 1, "", "--scope"),
        ("logql audit negation", ["--logql", '{app="vault"} |= "error"', "--scope",
                                  '{tenant="a"}', "--audit-stream", '{stream="audit"}'],
         0, '{app="vault", tenant="a", stream!="audit"} |= "error"\n', None),
        ("logql auditor sees audit", ["--logql", '{app="x"}', "--scope", '{tenant="a"}',
                                      "--audit-stream", '{stream="audit"}', "--auditor"],
         0, '{app="x", tenant="a"}\n', "audit"),
        ("both languages", ["--promql", "up", "--logql", "{a=\"b\"}"], 2, "", "exactly one"),
        ("audit with promql", ["--promql", "up", "--scope", '{t="a"}', "--auditor"], 2, "",
         "--logql only"),
        ("config without tenant", ["--promql", "up", "--config", "x.yaml"], 2, "",
         "--config and --tenant go together"),
    ]

    def test_rewrite(self):
        for name, args, code, out, err in self.CASES:
            with self.subTest(name):
                rc, stdout, stderr = run("rewrite", *args)
                self.assertEqual(rc, code, stderr)
                if out is not None:
                    self.assertEqual(stdout, out)
                if err is not None:
                    self.assertIn(err, stderr)


class CheckConfigTest(unittest.TestCase):
    def test_shipped_examples_pass(self):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        # deploy/local/obsgate.yaml is a template: run.sh checks it after filling it in.
        for name in ("config/examples/minimal.yaml",):
            rc, out, err = run("--check-config", os.path.join(root, name))
            self.assertEqual(rc, 0, err)
            self.assertIn(": ok (", out)

    def test_usage_errors_exit_2(self):
        rc, _, err = run("--bogus")
        self.assertEqual(rc, 2)
        self.assertIn("usage", err)


if __name__ == "__main__":
    unittest.main()
