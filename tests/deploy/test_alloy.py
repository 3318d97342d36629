"""deploy/alloy: the Alloy configuration parses (structural parser in alloy_syntax.py: no Alloy
binary is installable here, see its docstring for what it does not check), its components and
references are consistent, and the wiring keeps the two identities apart: audit streams go only
to the audit writer (client certificate), everything else only to the operational writer
(OAuth 2.0 client credentials)."""

import unittest

import alloy_syntax as alloy
from deploy_common import path, read

CONFIG = path("alloy", "openbao-logs.alloy")

# Component -> (required attributes, required blocks, exports). Only the components used here.
COMPONENTS = {
    "loki.source.journal": ({"forward_to"}, set(), set()),
    "loki.source.file": ({"targets", "forward_to"}, set(), set()),
    "local.file_match": ({"path_targets"}, set(), {"targets"}),
    "loki.process": ({"forward_to"}, set(), {"receiver"}),
    "loki.write": (set(), {"endpoint"}, {"receiver"}),
}
PROCESS_STAGES = {"stage.json", "stage.labels", "stage.drop", "stage.static_labels",
                  "stage.label_drop", "stage.match", "stage.timestamp", "stage.output"}
ENDPOINT_BLOCKS = {"oauth2", "tls_config", "basic_auth", "authorization"}


class Config:
    """The parsed file with its components indexed and references resolved."""

    def __init__(self, text):
        self.body = alloy.parse(text)
        self.components = {}
        for b in self.body:
            if not isinstance(b, alloy.Block):
                raise AssertionError("%d: top-level attribute %s" % (b.line, b.name))
            if b.name not in COMPONENTS:
                raise AssertionError("%d: unknown component %s" % (b.line, b.name))
            if not b.label:
                raise AssertionError("%d: component %s without a label" % (b.line, b.name))
            key = "%s.%s" % (b.name, b.label)
            if key in self.components:
                raise AssertionError("%d: duplicate component %s" % (b.line, key))
            self.components[key] = b

    def resolve(self, ref):
        """A reference to a component export: (component key, export)."""
        key, _, export = ref.path.rpartition(".")
        if key not in self.components:
            raise AssertionError("reference to undefined component: %s" % ref.path)
        if export not in COMPONENTS[self.components[key].name][2]:
            raise AssertionError("%s has no export %s" % (key, export))
        return key, export

    def check_components(self):
        for key, b in self.components.items():
            attrs, blocks, _ = COMPONENTS[b.name]
            for a in attrs:
                if b.attr(a) is None:
                    raise AssertionError("%s: missing %s" % (key, a))
            for name in blocks:
                if not b.blocks(name):
                    raise AssertionError("%s: missing block %s" % (key, name))
            for item in b.body:
                for r in alloy.refs(item.value) if isinstance(item, alloy.Attr) else []:
                    self.resolve(r)
            if b.name == "loki.process":
                for s in b.body:
                    if isinstance(s, alloy.Block) and s.name not in PROCESS_STAGES:
                        raise AssertionError("%s: unknown stage %s" % (key, s.name))
            if b.name == "loki.write":
                for ep in b.blocks("endpoint"):
                    if not isinstance(ep.attr("url"), str):
                        raise AssertionError("%s: endpoint without url" % key)
                    for s in ep.body:
                        if isinstance(s, alloy.Block) and s.name not in ENDPOINT_BLOCKS:
                            raise AssertionError("%s: unknown endpoint block %s" % (key, s.name))

    def writers_reached(self, key):
        """The loki.write components a component's entries end up in."""
        b = self.components[key]
        if b.name == "loki.write":
            return {key}
        out = set()
        for r in b.attr("forward_to") or []:
            out |= self.writers_reached(self.resolve(r)[0])
        return out

    def stream_of(self, key):
        """The `stream` label a source sets on its entries."""
        b = self.components[key]
        if b.name == "loki.source.journal":
            return (b.attr("labels") or {}).get("stream")
        targets = self.resolve(b.attr("targets"))[0]
        streams = {t.get("stream") for t in self.components[targets].attr("path_targets")}
        assert len(streams) == 1, streams
        return streams.pop()


def check_wiring(cfg):
    sources = [k for k, b in cfg.components.items() if b.name.startswith("loki.source.")]
    audit_sources = [k for k in sources if cfg.stream_of(k) == "audit"]
    if not audit_sources or len(audit_sources) == len(sources):
        raise AssertionError("expected audit and non-audit sources")
    for k in sources:
        reached = cfg.writers_reached(k)
        want = {"loki.write.audit"} if k in audit_sources else {"loki.write.operational"}
        if reached != want:
            raise AssertionError("%s reaches %s, expected %s" % (k, sorted(reached), sorted(want)))
    audit = cfg.components["loki.write.audit"].blocks("endpoint")[0]
    ops = cfg.components["loki.write.operational"].blocks("endpoint")[0]
    tls = audit.blocks("tls_config")[0]
    if not (tls.attr("cert_file") and tls.attr("key_file")) or audit.blocks("oauth2"):
        raise AssertionError("the audit writer authenticates with its client certificate only")
    o = ops.blocks("oauth2")
    if not o or not o[0].attr("client_secret_file") or o[0].attr("client_secret"):
        raise AssertionError("the operational writer uses OAuth 2.0 with a secret file")
    if ops.blocks("tls_config")[0].attr("cert_file"):
        raise AssertionError("the operational writer must not hold a client certificate")
    for ep in (audit, ops):
        if not ep.attr("url").startswith("https://") or \
                not ep.attr("url").endswith("/loki/api/v1/push"):
            raise AssertionError("push endpoint must be obsgate over https: %s" % ep.attr("url"))


class AlloySyntaxTest(unittest.TestCase):
    def test_parses_and_components_are_consistent(self):
        cfg = Config(read(CONFIG))
        cfg.check_components()
        self.assertEqual(len(cfg.components), 6)

    def test_wiring_keeps_identities_apart(self):
        check_wiring(Config(read(CONFIG)))

    def test_parser_rejects_broken_syntax(self):
        good = read(CONFIG)
        broken = {
            "missing brace": good.replace("loki.write \"audit\" {", "loki.write \"audit\"", 1),
            "unterminated string": good.replace('"12h"', '"12h', 1),
            "missing comma in array": good.replace("{\n    __path__", "{\n    __path__ = 1 2,",
                                                   1),
            "unterminated comment": good + "\n/* dangling",
            "bad escape": good.replace('"\\"@level\\""', '"\\q"', 1),
            "attribute without value": good.replace('max_age       = "12h"', "max_age =", 1),
        }
        for name, text in broken.items():
            with self.subTest(case=name):
                self.assertNotEqual(text, good)
                with self.assertRaises(SyntaxError):
                    alloy.parse(text)

    def test_checks_reject_bad_configs(self):
        good = read(CONFIG)
        bad = {
            "operational into audit writer": good.replace(
                "forward_to = [loki.write.operational.receiver]",
                "forward_to = [loki.write.audit.receiver]"),
            "audit into both writers": good.replace(
                "forward_to = [loki.write.audit.receiver]",
                "forward_to = [loki.write.audit.receiver, loki.write.operational.receiver]"),
            "undefined component": good.replace("loki.process.operational.receiver",
                                                "loki.process.ops.receiver"),
            "unknown export": good.replace("local.file_match.openbao_audit.targets",
                                           "local.file_match.openbao_audit.receiver"),
            "audit writer with oauth2": good.replace(
                "      key_file    = \"/etc/alloy/tls/openbao-audit-shipper.key\"",
                "      key_file    = \"/etc/alloy/tls/openbao-audit-shipper.key\"\n    }\n"
                "    oauth2 {\n      client_id = \"x\""),
            "plain http": good.replace("https://obsgate.example.internal:8443/loki/api/v1/push",
                                       "http://obsgate.example.internal:8080/loki/api/v1/push"),
        }
        for name, text in bad.items():
            with self.subTest(case=name):
                self.assertNotEqual(text, good)
                with self.assertRaises(AssertionError):
                    cfg = Config(text)
                    cfg.check_components()
                    check_wiring(cfg)

    def test_values(self):
        cfg = Config(read(CONFIG))
        j = cfg.components["loki.process.operational"].blocks("stage.json")[0]
        self.assertEqual(j.attr("expressions"), {"level": '"@level"'})
        self.assertEqual(cfg.stream_of("loki.source.file.openbao_audit"), "audit")


if __name__ == "__main__":
    unittest.main()
