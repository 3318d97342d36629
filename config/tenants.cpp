#include "config/tenants.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "config/yaml_reader.h"
#include "filters/logql/logql.h"
#include "filters/promql/promql.h"

namespace obsgate::config {

namespace {

namespace rw = filters::remote_write;

enum class Syntax { kPromql, kLogql };

bool is_identifier(std::string_view s) {
  if (s.empty() || (std::isdigit(static_cast<unsigned char>(s[0])) != 0)) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '_';
  });
}

// A double-quoted string both PromQL and LogQL read back as `s` (Go escapes).
void put_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

// The selector text of a structured rule, so that it is validated by the same parser as the
// string form (label names, regexes, the non-empty-matcher rule).
std::string render(const filters::Rule& rule) {
  std::string s = "{";
  for (size_t i = 0; i < rule.size(); ++i) {
    if (i > 0) {
      s += ", ";
    }
    if (is_identifier(rule[i].name)) {
      s += rule[i].name;
    } else {
      put_quoted(s, rule[i].name);  // PromQL 3 quoted name; LogQL refuses it, as it should
    }
    s += filters::match_op_string(rule[i].op);
    put_quoted(s, rule[i].value);
  }
  s += '}';
  return s;
}

Result<filters::Rule> parse_rule(std::string_view selector, Syntax syntax) {
  return syntax == Syntax::kPromql ? parse_metrics_rule(selector) : parse_logs_rule(selector);
}

bool parse_op(std::string_view s, filters::MatchOp& op) {
  constexpr std::pair<std::string_view, filters::MatchOp> kOps[] = {
      {"=", filters::MatchOp::kEq},
      {"!=", filters::MatchOp::kNeq},
      {"=~", filters::MatchOp::kRe},
      {"!~", filters::MatchOp::kNre}};
  for (const auto& [name, value] : kOps) {
    if (s == name) {
      op = value;
      return true;
    }
  }
  return false;
}

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Everything below records errors in the reader and carries on, so one load reports them all.
class TenantsLoader {
 public:
  explicit TenantsLoader(YamlReader& r) : r_(r) {}

  void load(const YAML::Node& n, TenantsConfig& out) {
    if (!r_.expect_map(n, "tenants", {"tenants", "unrestricted_roles", "audit"})) {
      return;
    }
    roles(n, "unrestricted_roles", "tenants", out.unrestricted_roles);
    audit(n["audit"], out.audit);
    const YAML::Node list = n["tenants"];
    if (!list.IsDefined() || list.IsNull()) {
      return;
    }
    if (!r_.expect_seq(list, "tenants.tenants")) {
      return;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string p = YamlReader::index("tenants.tenants", i);
      Tenant t;
      tenant(list[i], p, t);
      if (!t.name.empty() && !names.insert(t.name).second) {
        r_.error(list[i]["name"], p + ".name", "duplicate tenant name '" + t.name + "'");
      }
      out.tenants.push_back(std::move(t));
    }
  }

 private:
  void roles(const YAML::Node& n, std::string_view key, std::string_view path,
             std::vector<std::string>& out) {
    r_.get_list(n, key, path, out);
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].empty()) {
        r_.error(n[std::string(key)][i], YamlReader::index(YamlReader::join(path, key), i),
                 "empty role name");
      }
    }
    sort_unique(out);
  }

  void tenant(const YAML::Node& n, const std::string& p, Tenant& t) {
    if (!r_.expect_map(n, p, {"name", "metrics", "logs", "write"})) {
      return;
    }
    r_.get(n, "name", p, t.name, true);
    if (n["name"].IsDefined() && t.name.empty()) {
      r_.error(n["name"], p + ".name", "must not be empty");
    }
    if (const YAML::Node m = n["metrics"]; m.IsDefined()) {
      t.metrics.emplace();
      read_scope(m, p + ".metrics", Syntax::kPromql, *t.metrics);
    }
    if (const YAML::Node l = n["logs"]; l.IsDefined()) {
      t.logs.emplace();
      read_scope(l, p + ".logs", Syntax::kLogql, *t.logs);
    }
    if (const YAML::Node w = n["write"]; w.IsDefined()) {
      t.write.emplace();
      write(w, p + ".write", t.name, *t.write);
    }
  }

  void read_scope(const YAML::Node& n, const std::string& p, Syntax syntax, ReadScope& out) {
    if (!r_.expect_map(n, p, {"rules", "hidden_labels"})) {
      return;
    }
    rules(n, "rules", p, syntax, out.rules);
    if (out.rules.empty() && r_.ok()) {
      r_.error(n, p + ".rules", "at least one rule is required (leave the section out to grant "
                                "no access)");
    }
    labels(n, "hidden_labels", p, out.hidden_labels);
  }

  void labels(const YAML::Node& n, std::string_view key, const std::string& p,
              std::vector<std::string>& out) {
    r_.get_list(n, key, p, out);
    const YAML::Node list = n[std::string(key)];
    std::set<std::string> seen;
    for (size_t i = 0; i < out.size(); ++i) {
      const std::string ip = YamlReader::index(YamlReader::join(p, key), i);
      if (out[i].empty()) {
        r_.error(list[i], ip, "empty label name");
      } else if (!seen.insert(out[i]).second) {
        r_.error(list[i], ip, "duplicate label '" + out[i] + "'");
      }
    }
    sort_unique(out);
  }

  void rules(const YAML::Node& n, std::string_view key, const std::string& path, Syntax syntax,
             std::vector<filters::Rule>& out) {
    const YAML::Node list = n[std::string(key)];
    if (!list.IsDefined() || list.IsNull()) {
      return;
    }
    const std::string p = YamlReader::join(path, key);
    if (!r_.expect_seq(list, p)) {
      return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ip = YamlReader::index(p, i);
      if (auto rule = one_rule(list[i], ip, syntax)) {
        out.push_back(std::move(*rule));
      }
    }
  }

  // A rule is a selector string, or {matchers: [{label, op, value | values}]}.
  std::optional<filters::Rule> one_rule(const YAML::Node& n, const std::string& p,
                                        Syntax syntax) {
    std::string text;
    if (n.IsScalar()) {
      text = n.Scalar();
    } else {
      if (!r_.expect_map(n, p, {"matchers"})) {
        return std::nullopt;
      }
      auto rule = structured(n["matchers"], p + ".matchers");
      if (!rule) {
        return std::nullopt;
      }
      text = render(*rule);
    }
    auto rule = parse_rule(text, syntax);
    if (!rule.ok()) {
      r_.error(n, p, "invalid " + std::string(syntax == Syntax::kPromql ? "PromQL" : "LogQL") +
                         " selector '" + text + "': " + rule.status().message());
      return std::nullopt;
    }
    return std::move(rule).value();
  }

  std::optional<filters::Rule> structured(const YAML::Node& list, const std::string& p) {
    if (!list.IsDefined() || !r_.expect_seq(list, p)) {
      if (!list.IsDefined()) {
        r_.error(list, p, "required");
      }
      return std::nullopt;
    }
    filters::Rule rule;
    bool ok = true;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ip = YamlReader::index(p, i);
      const YAML::Node m = list[i];
      if (!r_.expect_map(m, ip, {"label", "op", "value", "values"})) {
        ok = false;
        continue;
      }
      std::string label;
      std::string op_text = "=";
      r_.get(m, "label", ip, label, true);
      r_.get(m, "op", ip, op_text);
      filters::MatchOp op = filters::MatchOp::kEq;
      if (!parse_op(op_text, op)) {
        r_.error(m["op"], ip + ".op", "expected =, !=, =~ or !~, got '" + op_text + "'");
        ok = false;
        continue;
      }
      std::vector<std::string> values;
      if (m["value"].IsDefined() == m["values"].IsDefined()) {
        r_.error(m, ip, "give exactly one of value and values");
        ok = false;
        continue;
      }
      if (m["value"].IsDefined()) {
        std::string v;
        r_.get(m, "value", ip, v);
        values.push_back(std::move(v));
      } else {
        r_.get_list(m, "values", ip, values);
      }
      auto matcher = filters::make_matcher(label, op, values);
      if (!matcher.ok()) {
        r_.error(m, ip, matcher.status().message());
        ok = false;
        continue;
      }
      rule.push_back(std::move(matcher).value());
    }
    if (!ok) {
      return std::nullopt;
    }
    return rule;
  }

  void write(const YAML::Node& n, const std::string& p, const std::string& tenant_name,
             WriteScope& out) {
    if (!r_.expect_map(n, p, {"tenant_label", "tenant_value", "rules", "forbidden_labels",
                              "limits", "on_violation", "schema",
                              "drop_metadata_outside_schema"})) {
      return;
    }
    rw::WritePolicy& w = out.policy;
    r_.get(n, "tenant_label", p, w.tenant_label);
    if (!w.tenant_label.empty()) {
      w.tenant_value = tenant_name;  // the default stamp: the tenant's own name
    }
    r_.get(n, "tenant_value", p, w.tenant_value);
    rules(n, "rules", p, Syntax::kPromql, w.write_scope);
    labels(n, "forbidden_labels", p, w.forbidden_labels);
    std::string mode = "reject";
    r_.get(n, "on_violation", p, mode);
    if (mode == "reject") {
      w.on_violation = rw::WritePolicy::OnViolation::kReject;
    } else if (mode == "drop") {
      w.on_violation = rw::WritePolicy::OnViolation::kDrop;
    } else {
      r_.error(n["on_violation"], p + ".on_violation", "expected reject or drop, got '" + mode +
                                                           "'");
    }
    limits(n["limits"], p + ".limits", w.limits);
    r_.get(n, "drop_metadata_outside_schema", p, w.drop_metadata_outside_schema);
    r_.get(n, "schema", p, out.schema_path);
    if (!out.schema_path.empty()) {
      auto contract = rw::SchemaContract::load(out.schema_path);
      if (!contract.ok()) {
        r_.error(n["schema"], p + ".schema", contract.status().message());
      } else {
        w.schema = std::move(contract).value();
      }
    } else if (w.drop_metadata_outside_schema) {
      r_.error(n["drop_metadata_outside_schema"], p + ".drop_metadata_outside_schema",
               "needs a schema");
    }
    // The enforcer's own validation (tenant value, matchers, forbidden labels) at load.
    if (r_.ok()) {
      if (auto e = rw::Enforcer::create(w); !e.ok()) {
        r_.error(n, p, e.status().message());
      }
    }
  }

  void limits(const YAML::Node& n, const std::string& p, rw::Limits& l) {
    if (!n.IsDefined()) {
      return;
    }
    if (!r_.expect_map(n, p, {"max_compressed_bytes", "max_uncompressed_bytes", "max_series",
                              "max_samples", "max_labels_per_series", "max_label_name_bytes",
                              "max_label_value_bytes"})) {
      return;
    }
    auto bytes = [&](const char* key, size_t& field) {
      uint64_t v = field;
      r_.get_bytes(n, key, p, v);
      if (v == 0) {
        r_.error(n[key], YamlReader::join(p, key), "must be greater than zero");
      }
      field = v;
    };
    auto count = [&](const char* key, size_t& field) {
      uint64_t v = field;
      r_.get_uint(n, key, p, v, 1, uint64_t{1} << 32);
      field = v;
    };
    bytes("max_compressed_bytes", l.max_compressed_bytes);
    bytes("max_uncompressed_bytes", l.max_uncompressed_bytes);
    count("max_series", l.max_series);
    count("max_samples", l.max_samples);
    count("max_labels_per_series", l.max_labels_per_series);
    bytes("max_label_name_bytes", l.max_label_name_bytes);
    bytes("max_label_value_bytes", l.max_label_value_bytes);
  }

  void audit(const YAML::Node& n, AuditConfig& out) {
    if (!n.IsDefined()) {
      return;
    }
    if (!r_.expect_map(n, "tenants.audit", {"streams", "auditor_roles", "shipper"})) {
      return;
    }
    rules(n, "streams", "tenants.audit", Syntax::kLogql, out.streams);
    for (size_t i = 0; i < out.streams.size(); ++i) {
      filters::logql::LogsPolicy probe{{}, {out.streams[i]}, false};
      if (Status st = filters::logql::validate(probe); !st.ok()) {
        r_.error(n["streams"][i], YamlReader::index("tenants.audit.streams", i), st.message());
      }
    }
    roles(n, "auditor_roles", "tenants.audit", out.auditor_roles);
    if (const YAML::Node s = n["shipper"]; s.IsDefined()) {
      const std::string p = "tenants.audit.shipper";
      if (r_.expect_map(s, p, {"issuer", "subject", "cert_identity"})) {
        AuditShipper sh;
        r_.get(s, "issuer", p, sh.issuer);
        r_.get(s, "subject", p, sh.subject);
        r_.get(s, "cert_identity", p, sh.cert_identity);
        if (sh.subject.empty() && sh.cert_identity.empty()) {
          r_.error(s, p, "give subject or cert_identity (or both)");
        } else {
          out.shipper = std::move(sh);
        }
      }
    }
  }

  YamlReader& r_;
};

filters::Rule to_rule(const filters::promql::Ast& ast) {
  const auto& node = ast.node(ast.root());
  filters::Rule rule;
  const auto* m = ast.matchers(node.matchers);
  for (uint32_t i = 0; i < node.matchers.size; ++i) {
    rule.push_back({std::string(m[i].name), m[i].op, std::string(m[i].value)});
  }
  return rule;
}

}  // namespace

const Tenant* TenantsConfig::find(std::string_view name) const {
  for (const Tenant& t : tenants) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

Result<filters::Rule> parse_metrics_rule(std::string_view selector) {
  auto ast = filters::promql::parse_selector(selector);
  if (!ast.ok()) {
    return ast.status();
  }
  const auto& node = ast->node(ast->root());
  if (node.kind != filters::promql::NodeKind::kVectorSelector || node.offset_ms != 0 ||
      node.at != filters::promql::AtKind::kNone) {
    return Status::invalid_argument("a scope rule is a plain selector (no offset or @)");
  }
  return to_rule(*ast);
}

Result<filters::Rule> parse_logs_rule(std::string_view selector) {
  auto expr = filters::logql::parse(selector);
  if (!expr.ok()) {
    return expr.status();
  }
  const auto* q = std::get_if<filters::logql::LogQuery>(&(*expr)->node);
  if (q == nullptr || !q->pipeline.empty()) {
    return Status::invalid_argument("a scope rule is a bare stream selector {...} (no pipeline)");
  }
  filters::Rule rule;
  for (const auto& m : q->selector.matchers) {
    rule.push_back({m.name, m.op, m.value.value});
  }
  return rule;
}

void load_tenants(YamlReader& r, const YAML::Node& n, TenantsConfig& out) {
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  TenantsLoader(r).load(n, out);
}

}  // namespace obsgate::config
