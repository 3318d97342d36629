#include "gateway/cli/rewrite.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "authz/policy/policy.h"
#include "config/config.h"
#include "filters/logql/logql.h"
#include "filters/promql/promql.h"
#include "filters/scope/scope.h"

namespace obsgate::cli {

namespace {

namespace promql = filters::promql;
namespace logql = filters::logql;

int usage(const char* why) {
  std::fprintf(stderr,
               "obsgate rewrite: %s\n"
               "usage: obsgate rewrite (--promql Q | --logql Q) [--scope SELECTOR]... "
               "[--hidden LABEL]...\n"
               "                       [--unrestricted] [--audit-stream SELECTOR]... "
               "[--auditor]\n"
               "       obsgate rewrite (--promql Q | --logql Q) --config FILE --tenant T... "
               "[--role R]...\n",
               why);
  return 2;
}

// One scope rule from a selector such as {namespace=~"a|b", cluster="prod"}: the parser the
// config loader uses for `tenants:` rules.
Result<filters::Rule> parse_rule(std::string_view selector, bool logs) {
  auto rule = logs ? config::parse_logs_rule(selector) : config::parse_metrics_rule(selector);
  if (!rule.ok()) {
    return Status::invalid_argument("--scope/--audit-stream '" + std::string(selector) +
                                    "': " + rule.status().message());
  }
  return rule;
}

// The tenant's policy from a config file, resolved by authz::Policy exactly as the gateway
// resolves a principal that belongs to `tenants` and has `roles`.
Status scope_from_config(const std::string& file, const std::vector<std::string>& tenants,
                         const std::vector<std::string>& roles, bool logs,
                         filters::Scope& scope, std::vector<filters::Rule>& audit,
                         bool& auditor) {
  auto cfg = config::load_file(file);
  if (!cfg.ok()) {
    return cfg.status();
  }
  auto policy = authz::Policy::compile((*cfg)->tenants);
  if (!policy.ok()) {
    return policy.status();
  }
  authz::Principal p;
  p.subject = "obsgate-rewrite";
  p.tenants = tenants;
  p.roles = roles;
  for (const std::string& t : tenants) {
    if ((*cfg)->tenants.find(t) == nullptr) {
      return Status::not_found("tenant '" + t + "' is not configured in " + file);
    }
  }
  std::sort(p.tenants.begin(), p.tenants.end());
  std::sort(p.roles.begin(), p.roles.end());
  if (logs) {
    auto access = (*policy)->logs(p, std::nullopt);
    if (!access.ok()) {
      return access.status();
    }
    scope = std::move(access->policy.scope);
    audit = std::move(access->policy.audit_streams);
    auditor = auditor || access->policy.auditor;
    return {};
  }
  auto access = (*policy)->metrics(p, std::nullopt);
  if (!access.ok()) {
    return access.status();
  }
  scope = std::move(access->scope);
  return {};
}

}  // namespace

int run_rewrite(int argc, char** argv) {
  std::string promql_query;
  std::string logql_query;
  bool have_promql = false;
  bool have_logql = false;
  filters::Scope scope;
  std::vector<filters::Rule> audit;
  bool auditor = false;
  std::string config_file;
  std::vector<std::string> tenants;
  std::vector<std::string> roles;
  std::vector<std::pair<bool, std::string>> selectors;  // (is --scope, text)
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--promql" && value(promql_query)) {
      have_promql = true;
    } else if (a == "--logql" && value(logql_query)) {
      have_logql = true;
    } else if ((a == "--scope" || a == "--audit-stream") && value(v)) {
      // PromQL selector syntax for --scope with --promql; LogQL syntax otherwise.
      selectors.emplace_back(a == "--scope", v);
    } else if (a == "--config" && value(config_file)) {
    } else if (a == "--tenant" && value(v)) {
      tenants.push_back(v);
    } else if (a == "--role" && value(v)) {
      roles.push_back(v);
    } else if (a == "--hidden" && value(v)) {
      scope.hidden_labels.push_back(v);
    } else if (a == "--unrestricted") {
      scope.unrestricted = true;
    } else if (a == "--auditor") {
      auditor = true;
    } else {
      return usage(("unknown or incomplete argument '" + std::string(a) + "'").c_str());
    }
  }
  if (have_promql == have_logql) {
    return usage("give exactly one of --promql and --logql");
  }
  if (!config_file.empty() || !tenants.empty() || !roles.empty()) {
    if (config_file.empty() || tenants.empty()) {
      return usage("--config and --tenant go together");
    }
    if (!selectors.empty() || !scope.hidden_labels.empty() || scope.unrestricted) {
      return usage("--config/--tenant take the policy from the file: no --scope, --hidden, "
                   "--audit-stream or --unrestricted");
    }
    if (have_promql && auditor) {
      return usage("--audit-stream and --auditor apply to --logql only");
    }
    if (Status st = scope_from_config(config_file, tenants, roles, have_logql, scope, audit,
                                      auditor);
        !st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
  }
  for (const auto& [is_scope, text] : selectors) {
    auto rule = parse_rule(text, have_logql);
    if (!rule.ok()) {
      std::fprintf(stderr, "%s\n", rule.status().message().c_str());
      return 1;
    }
    (is_scope ? scope.rules : audit).push_back(std::move(rule).value());
  }
  std::sort(scope.hidden_labels.begin(), scope.hidden_labels.end());
  scope.hidden_labels.erase(std::unique(scope.hidden_labels.begin(), scope.hidden_labels.end()),
                            scope.hidden_labels.end());
  if (have_promql) {
    if (!audit.empty() || auditor) {
      return usage("--audit-stream and --auditor apply to --logql only");
    }
    auto out = promql::enforce_query(promql_query, scope);
    if (!out.ok()) {
      std::fprintf(stderr, "%s\n", out.status().message().c_str());
      return 1;
    }
    std::printf("%s\n", out->c_str());
    return 0;
  }
  logql::LogsPolicy policy{scope, audit, auditor};
  if (Status st = logql::validate(policy); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  auto out = logql::enforce_query(logql_query, policy);
  if (!out.ok()) {
    std::fprintf(stderr, "%s\n", out.status().message().c_str());
    return 1;
  }
  if (!out->per_rule_queries.empty()) {
    // A log query over scope rules that do not collapse runs once per rule; the gateway
    // merges the results.
    for (const auto& q : out->per_rule_queries) {
      std::printf("%s\n", q.c_str());
    }
  } else {
    std::printf("%s\n", out->query.c_str());
  }
  if (out->touches_audit) {
    std::fprintf(stderr, "note: this query may read audit streams (recorded in the decision "
                         "log)\n");
  }
  return 0;
}

}  // namespace obsgate::cli
