#include "gateway/cli/rewrite.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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
               "[--auditor]\n",
               why);
  return 2;
}

// One scope rule from a selector such as {namespace=~"a|b", cluster="prod"}.
Result<filters::Rule> parse_rule(std::string_view selector) {
  auto ast = promql::parse_selector(selector);
  if (!ast.ok()) {
    return Status::invalid_argument("--scope/--audit-stream '" + std::string(selector) +
                                    "': " + ast.status().message());
  }
  const auto& node = ast->node(ast->root());
  filters::Rule rule;
  const auto* m = ast->matchers(node.matchers);
  for (uint32_t i = 0; i < node.matchers.size; ++i) {
    rule.push_back({std::string(m[i].name), m[i].op, std::string(m[i].value)});
  }
  return rule;
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
      auto rule = parse_rule(v);
      if (!rule.ok()) {
        std::fprintf(stderr, "%s\n", rule.status().message().c_str());
        return 1;
      }
      (a == "--scope" ? scope.rules : audit).push_back(std::move(rule).value());
    } else if (a == "--hidden" && value(v)) {
      scope.hidden_labels.push_back(v);
    } else if (a == "--unrestricted") {
      scope.unrestricted = true;
    } else if (a == "--auditor") {
      auditor = true;
    } else if (a == "--config" || a == "--tenant") {
      return usage("--config/--tenant: tenant policies are not configurable yet; give the "
                   "scope with --scope and --hidden");
    } else {
      return usage(("unknown or incomplete argument '" + std::string(a) + "'").c_str());
    }
  }
  if (have_promql == have_logql) {
    return usage("give exactly one of --promql and --logql");
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
