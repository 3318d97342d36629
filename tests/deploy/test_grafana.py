"""deploy/grafana: data source and dashboard provisioning files parsed and checked against the
provisioning schema's required fields; the dashboard JSON is what dashboard.py generates, and
is structurally sound (unique ids, a 24-column grid without overlaps, every target with a
query and a data source). Its queries are checked against a running obsgate by
test_dashboard_metrics."""

import json
import os
import subprocess
import sys
import unittest

from deploy_common import load_yaml, path, read

G = path("grafana")
DATASOURCES = os.path.join(G, "provisioning", "datasources", "obsgate.yaml")
PROVIDERS = os.path.join(G, "provisioning", "dashboards", "obsgate.yaml")
DASHBOARD = os.path.join(G, "dashboards", "obsgate.json")


class ProvisioningTest(unittest.TestCase):
    def test_datasources(self):
        doc = load_yaml(DATASOURCES)
        self.assertEqual(doc["apiVersion"], 1)
        by_type = {d["type"]: d for d in doc["datasources"]}
        self.assertEqual(set(by_type), {"prometheus", "loki"})
        uids = [d["uid"] for d in doc["datasources"]]
        self.assertEqual(len(uids), len(set(uids)))
        for d in doc["datasources"]:
            with self.subTest(datasource=d["name"]):
                for key in ("name", "type", "access", "url", "uid"):
                    self.assertTrue(d.get(key), key)
                self.assertEqual(d["access"], "proxy")
                self.assertTrue(d["url"].startswith("https://"), "TLS to obsgate")
                # The user's own token reaches obsgate: per-user identity, not Grafana's.
                self.assertIs(d["jsonData"]["oauthPassThru"], True)
                self.assertNotIn("basicAuth", d)
                self.assertNotIn("httpHeaderName1", d.get("jsonData", {}))
                ca = d["secureJsonData"]["tlsCACert"]
                self.assertTrue(ca.startswith("$__file{") and ca.endswith("}"), ca)
        # Both point at the same obsgate.
        self.assertEqual(by_type["prometheus"]["url"], by_type["loki"]["url"])
        # obsgate's Prometheus routes accept POST (form bodies are allowlisted too).
        self.assertEqual(by_type["prometheus"]["jsonData"]["httpMethod"], "POST")

    def test_dashboard_provider(self):
        doc = load_yaml(PROVIDERS)
        self.assertEqual(doc["apiVersion"], 1)
        (p,) = doc["providers"]
        for key in ("name", "type", "options"):
            self.assertTrue(p.get(key), key)
        self.assertEqual(p["type"], "file")
        self.assertTrue(p["options"]["path"].startswith("/"))


class DashboardTest(unittest.TestCase):
    def setUp(self):
        self.d = json.loads(read(DASHBOARD))

    def test_generated_file_is_current(self):
        r = subprocess.run([sys.executable, os.path.join(G, "dashboard.py"), "--check"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_top_level(self):
        for key in ("uid", "title", "panels", "templating", "schemaVersion"):
            self.assertIn(key, self.d)
        names = [v["name"] for v in self.d["templating"]["list"]]
        self.assertEqual(names[0], "datasource")
        self.assertEqual(self.d["templating"]["list"][0]["query"], "prometheus")

    def test_panels(self):
        ids = [p["id"] for p in self.d["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        cells = set()
        for p in self.d["panels"]:
            with self.subTest(panel=p["title"]):
                g = p["gridPos"]
                self.assertLessEqual(g["x"] + g["w"], 24)
                mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                        for y in range(g["y"], g["y"] + g["h"])}
                self.assertFalse(cells & mine, "overlaps another panel")
                cells |= mine
                if p["type"] == "row":
                    continue
                self.assertIn(p["type"], ("timeseries", "stat"))
                self.assertEqual(p["datasource"]["uid"], "${datasource}")
                self.assertTrue(p["targets"])
                self.assertTrue(p.get("description"))
                self.assertTrue(p["fieldConfig"]["defaults"].get("unit"))
                refs = [t["refId"] for t in p["targets"]]
                self.assertEqual(len(refs), len(set(refs)))
                for t in p["targets"]:
                    self.assertTrue(t["expr"].strip())
                    self.assertIn('job=~"$job"', t["expr"])


if __name__ == "__main__":
    unittest.main()
