#!/usr/bin/env python3
"""Writes the local profile's Prometheus configuration to stdout, built from the shipped
artifacts so the two cannot drift:

    deploy/local/render_prometheus.py STATE_DIR > STATE_DIR/prometheus.yml

  deploy/local/prometheus.yml             global settings and the three tenant jobs (local only)
  deploy/prometheus/scrape-obsgate.yml    job obsgate                   } taken as shipped, with
  deploy/prometheus/scrape-openbao.yml    jobs openbao-active,          } the local overrides
                                          openbao-all-nodes             } in LOCAL below
  deploy/prometheus/obsgate-alerts.yml    rule_files: the shipped alerts, evaluated locally

Only the keys in LOCAL are replaced (addresses, the collector's certificate files in the state
directory, shorter intervals so the smoke check needs no long waits); every other key of a
shipped job (path, parameters, scheme, TLS version, honor_labels, timeouts) is used as is.
Prometheus 2.42 (Debian) has no scrape_config_files, hence this script. run.sh runs it and then
`promtool check config` on the result. Needs PyYAML (python3-yaml, scripts/setup.sh).
"""

import copy
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "prometheus")

GATEWAY_TLS = "127.0.0.1:19443"  # obsgate's TLS listener (obsgate.yaml)
ADMIN = "127.0.0.1:19081"        # obsgate's admin listener


def local_overrides(state):
    """job name -> the keys replaced for the local profile."""
    tls = {"ca_file": os.path.join(state, "tls", "ca.crt"),
           "cert_file": os.path.join(state, "tls", "collector.crt"),
           "key_file": os.path.join(state, "tls", "collector.key"),
           "server_name": "127.0.0.1"}
    bao_targets = [{"targets": [GATEWAY_TLS],
                    "labels": {"namespace": "platform", "cluster": "openbao-local"}}]
    return {
        "obsgate": {"scrape_interval": "5s",
                    "static_configs": [{"targets": [ADMIN],
                                        "labels": {"namespace": "platform"}}]},
        "openbao-active": {"scrape_interval": "10s", "scrape_timeout": "5s",
                           "tls_config": tls, "static_configs": bao_targets},
        "openbao-all-nodes": {"scrape_interval": "10s", "scrape_timeout": "5s",
                              "tls_config": tls, "static_configs": bao_targets},
    }


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def render(state):
    cfg = load(os.path.join(HERE, "prometheus.yml"))
    local = local_overrides(state)
    shipped = (load(os.path.join(SHIPPED, "scrape-obsgate.yml"))["scrape_configs"] +
               load(os.path.join(SHIPPED, "scrape-openbao.yml"))["scrape_configs"])
    jobs = {j["job_name"]: j for j in shipped}
    missing = set(local) - set(jobs)
    if missing:
        raise SystemExit("render_prometheus: shipped jobs missing: %s" % sorted(missing))
    for name, override in local.items():
        job = copy.deepcopy(jobs[name])  # no shared (anchored) nodes in the output
        for key, value in override.items():
            if key == "tls_config":
                job[key] = dict(job.get(key, {}), **value)
            else:
                job[key] = copy.deepcopy(value)
        cfg["scrape_configs"].append(job)
    cfg["rule_files"] = [os.path.abspath(os.path.join(SHIPPED, "obsgate-alerts.yml"))]
    return cfg


def main():
    if len(sys.argv) != 2:
        print("usage: %s STATE_DIR" % sys.argv[0], file=sys.stderr)
        return 2
    yaml.safe_dump(render(os.path.abspath(sys.argv[1])), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
