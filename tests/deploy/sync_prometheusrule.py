#!/usr/bin/env python3
"""Writes deploy/kubernetes/prometheusrule.yaml from deploy/prometheus/obsgate-alerts.yml.

The alerting rules have one source, the plain Prometheus rules file (checked and unit-tested
with promtool). The Prometheus Operator needs the same groups inside a PrometheusRule object;
this script wraps them, and deploy:test_kubernetes fails when the two disagree.

    python3 tests/deploy/sync_prometheusrule.py          # rewrite the PrometheusRule
    python3 tests/deploy/sync_prometheusrule.py --check  # exit 1 if it is out of date
"""

import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "deploy", "prometheus", "obsgate-alerts.yml")
TARGET = os.path.join(ROOT, "deploy", "kubernetes", "prometheusrule.yaml")

HEADER = """\
# GENERATED from deploy/prometheus/obsgate-alerts.yml by tests/deploy/sync_prometheusrule.py:
# edit the rules file, then run the script. The groups are the same; deploy:test_kubernetes
# fails when they differ. Add the label your Prometheus's ruleSelector expects
# (e.g. release: kube-prometheus-stack).
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    # Multi-line expressions stay readable as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render():
    with open(RULES, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    obj = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "obsgate",
            "namespace": "observability",
            "labels": {"app.kubernetes.io/name": "obsgate"},
        },
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, width=100)


def main():
    text = render()
    if "--check" in sys.argv[1:]:
        with open(TARGET, encoding="utf-8") as f:
            if f.read() != text:
                print("%s is out of date: run %s" % (TARGET, __file__), file=sys.stderr)
                return 1
        return 0
    with open(TARGET, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
