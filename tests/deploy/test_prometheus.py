"""deploy/prometheus: scrape and remote-write configurations, alerting rules and their unit
tests, checked with promtool (Debian's prometheus package); runbook links of every alert."""

import os
import re
import unittest

from deploy_common import (Scratch, file_settings, load_yaml, path, read, run, tool)

CONFIGS = ["scrape-openbao.yml", "scrape-openbao-per-node.yml", "scrape-obsgate.yml",
           "remote-write.yml"]
RULES = path("prometheus", "obsgate-alerts.yml")
RULE_TESTS = path("prometheus", "obsgate-alerts.test.yml")
RUNBOOKS = path("runbooks")


def alerts():
    return [r for g in load_yaml(RULES)["groups"] for r in g["rules"] if "alert" in r]


class PromtoolConfigTest(unittest.TestCase):
    """promtool check config on each configuration. The files they name (certificates, secrets,
    the rules file) are made in a scratch directory standing in for /etc/prometheus: promtool
    opens them, so they must exist; the rules file there is the real obsgate-alerts.yml."""

    def check(self, text):
        with Scratch() as s:
            cfg = load_yaml_text(text)
            named = file_settings(cfg)
            rule_files = cfg.get("rule_files") or []
            s.make_files([p for p in named if p not in rule_files])
            for p in rule_files:
                os.makedirs(os.path.dirname(s.local(p)), exist_ok=True)
                with open(s.local(p), "w") as f:
                    f.write(read(RULES))
            local = os.path.join(s.dir, "prometheus.yml")
            with open(local, "w") as f:
                f.write(s.relocate(text, ["/etc/prometheus/"]))
            return run([tool("promtool"), "check", "config", local])

    def test_each_config_passes(self):
        for name in CONFIGS:
            with self.subTest(config=name):
                r = self.check(read(path("prometheus", name)))
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("SUCCESS", r.stdout + r.stderr)

    def test_promtool_rejects_a_broken_copy(self):
        # The check has teeth: a misspelt key in the same file fails it.
        text = read(path("prometheus", "remote-write.yml")).replace("token_url:", "token_uri:")
        r = self.check(text)
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_collector_uses_mtls_and_writer_uses_oauth2(self):
        scrape = (load_yaml(path("prometheus", "scrape-openbao.yml"))["scrape_configs"] +
                  load_yaml(path("prometheus", "scrape-openbao-per-node.yml"))["scrape_configs"])
        self.assertEqual({j["job_name"] for j in scrape},
                         {"openbao-active", "openbao-all-nodes", "openbao-nodes"})
        for job in scrape:
            with self.subTest(job=job["job_name"]):
                self.assertEqual(job["scheme"], "https")
                tls = job["tls_config"]
                self.assertTrue(tls.get("cert_file") and tls.get("key_file"), "no client cert")
                self.assertTrue(tls.get("ca_file"))
                self.assertNotIn("authorization", job)
                self.assertNotIn("bearer_token", job)
                self.assertFalse(job.get("honor_labels", False))
        rw = load_yaml(path("prometheus", "remote-write.yml"))["remote_write"]
        for w in rw:
            o = w["oauth2"]
            self.assertTrue(o["client_id"] and o["token_url"].startswith("https://"))
            self.assertIn("client_secret_file", o, "the secret belongs in a file")
            self.assertNotIn("client_secret", o)
            self.assertTrue(w["url"].startswith("https://"))


class OpenBaoRoutesTest(unittest.TestCase):
    """The OpenBao jobs agree with obsgate's openbao section and route paths."""

    def test_per_node_targets_are_obsgate_nodes(self):
        nodes = [n["name"] for n in
                 load_yaml(path("kubernetes", "obsgate.yaml"))["openbao"]["nodes"]]
        (job,) = load_yaml(path("prometheus", "scrape-openbao-per-node.yml"))["scrape_configs"]
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        self.assertEqual(sorted(targets), sorted(nodes))
        (rename,) = [r for r in job["relabel_configs"]
                     if r.get("target_label") == "__metrics_path__"]
        for n in nodes:
            self.assertRegex(n, "^%s$" % rename["regex"])

    def test_paths(self):
        jobs = {j["job_name"]: j for j in
                load_yaml(path("prometheus", "scrape-openbao.yml"))["scrape_configs"]}
        self.assertEqual(jobs["openbao-all-nodes"]["metrics_path"], "/openbao/nodes/metrics")
        self.assertTrue(jobs["openbao-active"]["metrics_path"].endswith("/v1/sys/metrics"))
        self.assertEqual(jobs["openbao-active"]["params"]["format"], ["prometheus"])
        for j in jobs.values():
            self.assertFalse([sc for sc in j.get("relabel_configs", [])
                              if sc.get("target_label") == "node"],
                             "a node target label would rename obsgate's node label")


def load_yaml_text(text):
    import yaml
    return yaml.safe_load(text)


class PromtoolRulesTest(unittest.TestCase):
    def test_check_rules(self):
        r = run([tool("promtool"), "check", "rules", RULES])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: %d rules found" % len(alerts()), r.stdout)

    def test_rule_unit_tests(self):
        r = run([tool("promtool"), "test", "rules", os.path.basename(RULE_TESTS)],
                cwd=os.path.dirname(RULE_TESTS))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_every_alert_has_a_firing_unit_test(self):
        fired = set()
        for t in load_yaml(RULE_TESTS)["tests"]:
            for a in t.get("alert_rule_test", []):
                if a.get("exp_alerts"):
                    fired.add(a["alertname"])
        for a in alerts():
            with self.subTest(alert=a["alert"]):
                self.assertIn(a["alert"], fired)

    def test_unit_tests_can_fail(self):
        # The same unit tests against rules whose threshold moved must fail.
        with Scratch() as s:
            text = read(RULES).replace("> 0.05", "> 0.5")
            self.assertNotEqual(text, read(RULES))
            with open(os.path.join(s.dir, "obsgate-alerts.yml"), "w") as f:
                f.write(text)
            with open(os.path.join(s.dir, "t.yml"), "w") as f:
                f.write(read(RULE_TESTS))
            r = run([tool("promtool"), "test", "rules", "t.yml"], cwd=s.dir)
            self.assertNotEqual(r.returncode, 0, r.stdout)


class RunbookTest(unittest.TestCase):
    def test_each_alert_links_its_runbook(self):
        for a in alerts():
            with self.subTest(alert=a["alert"]):
                ann = a["annotations"]
                self.assertTrue(ann.get("summary") and ann.get("description"))
                self.assertIn(a["labels"]["severity"], ("critical", "warning", "info"))
                url = ann["runbook_url"]
                self.assertTrue(url.endswith("/deploy/runbooks/%s.md" % a["alert"]), url)
                rb = os.path.join(RUNBOOKS, a["alert"] + ".md")
                self.assertTrue(os.path.exists(rb), rb)
                text = read(rb)
                self.assertTrue(text.startswith("# %s" % a["alert"]), rb)
                for section in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation"):
                    self.assertIn(section, text, rb)
                for term in re.findall(r"obsgate_[a-z_]+", a["expr"]):
                    self.assertIn(re.sub(r"_(bucket|sum|count)$", "", term), text, rb)

    def test_no_orphan_runbooks(self):
        names = {a["alert"] for a in alerts()}
        for f in os.listdir(RUNBOOKS):
            if f.endswith(".md") and f != "README.md":
                with self.subTest(runbook=f):
                    self.assertIn(f[:-3], names)


if __name__ == "__main__":
    unittest.main()
