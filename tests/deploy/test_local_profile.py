"""deploy/local uses the shipped artifacts where it can, so the two cannot drift:
  - its Prometheus configuration is rendered from deploy/prometheus/ (render_prometheus.py):
    every shipped job is there with only the documented local overrides, and the shipped
    alerting rules are loaded; the result passes `promtool check config`;
  - its obsgate.yaml serves the production routes (kubernetes/obsgate.yaml) it has with the
    same path, methods, upstream, enforcer, authentication and parameters, and passes
    `obsgate --check-config`.
Where they differ on purpose (the identity provider, addresses, plain HTTP next to TLS, roles of
the local IdP) is not compared. The local profile itself runs as e2e:local_profile_smoke."""

import importlib.util
import os
import unittest

from deploy_common import (Scratch, file_settings, load_yaml, obsgate_bin, path, read, run,
                           tool)
import yaml

LOCAL = path("local")
# Route keys that must agree between the local profile and production.
ROUTE_KEYS = ("path", "methods", "upstream", "enforcer", "auth", "query_params")


def render_module():
    spec = importlib.util.spec_from_file_location(
        "render_prometheus", os.path.join(LOCAL, "render_prometheus.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def route_view(route):
    view = {k: route.get(k) for k in ROUTE_KEYS}
    view["auth"] = view["auth"] or "required"
    view["enforcer"] = view["enforcer"] or "none"
    return view


class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.mod = render_module()
        self.state = "/tmp/obsgate-local.STATE"
        self.cfg = self.mod.render(self.state)
        self.jobs = {j["job_name"]: j for j in self.cfg["scrape_configs"]}

    def test_shipped_jobs_with_only_local_overrides(self):
        shipped = (load_yaml(path("prometheus", "scrape-obsgate.yml"))["scrape_configs"] +
                   load_yaml(path("prometheus", "scrape-openbao.yml"))["scrape_configs"])
        overrides = self.mod.local_overrides(self.state)
        self.assertEqual(set(overrides), {j["job_name"] for j in shipped})
        for want in shipped:
            name = want["job_name"]
            with self.subTest(job=name):
                got = self.jobs[name]
                self.assertEqual(set(got), set(want) | set(overrides[name]))
                for key, value in want.items():
                    if key == "tls_config":
                        local = overrides[name]["tls_config"]
                        for k, v in value.items():
                            self.assertEqual(got[key][k], local.get(k, v), k)
                    elif key not in overrides[name]:
                        self.assertEqual(got[key], value, key)

    def test_collector_files_are_the_state_directory(self):
        for name in ("openbao-active", "openbao-all-nodes"):
            tls = self.jobs[name]["tls_config"]
            for key in ("ca_file", "cert_file", "key_file"):
                self.assertTrue(tls[key].startswith(self.state + "/tls/"), (name, key))

    def test_shipped_alerts_are_loaded(self):
        (rules,) = self.cfg["rule_files"]
        self.assertEqual(os.path.realpath(rules),
                         os.path.realpath(path("prometheus", "obsgate-alerts.yml")))

    def test_promtool_check_config(self):
        with Scratch() as s:
            cfg = self.mod.render(s.dir)
            s.make_files(["/tls/ca.crt", "/tls/collector.crt"])
            conf = os.path.join(s.dir, "prometheus.yml")
            with open(conf, "w") as f:
                yaml.safe_dump(cfg, f)
            r = run([tool("promtool"), "check", "config", conf])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_run_sh_renders_it(self):
        self.assertIn('render_prometheus.py" "$state" >"$state/prometheus.yml"',
                      read(os.path.join(LOCAL, "run.sh")))


class ObsgateConfigTest(unittest.TestCase):
    def setUp(self):
        self.local = load_yaml(os.path.join(LOCAL, "obsgate.yaml"))
        self.prod = load_yaml(path("kubernetes", "obsgate.yaml"))

    def test_routes_agree_with_production(self):
        prod = {r["name"]: r for r in self.prod["routes"]}
        for r in self.local["routes"]:
            with self.subTest(route=r["name"]):
                self.assertIn(r["name"], prod, "a local route production does not have")
                self.assertEqual(route_view(r), route_view(prod[r["name"]]))

    def test_every_route_needs_a_principal(self):
        for cfg in (self.local, self.prod):
            for r in cfg["routes"]:
                with self.subTest(route=r["name"]):
                    self.assertEqual(route_view(r)["auth"], "required")

    def test_check_config(self):
        text = read(os.path.join(LOCAL, "obsgate.yaml"))
        with Scratch() as s:
            text = text.replace("@STATE@", s.dir)
            s.make_files([f[len(s.dir):] for f in file_settings(yaml.safe_load(text))])
            local = os.path.join(s.dir, "obsgate.yaml")
            with open(local, "w") as f:
                f.write(text)
            r = run([obsgate_bin(), "--check-config", local])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_the_comparison_can_fail(self):
        broken = dict(self.local["routes"][0], enforcer="none")
        prod = {r["name"]: r for r in self.prod["routes"]}
        self.assertNotEqual(route_view(broken), route_view(prod[broken["name"]]))


if __name__ == "__main__":
    unittest.main()
