// PromQL fuzz target: everything the parser accepts must print to text that parses back into
// the same tree (abort on mismatch), and enforcement must never crash and always produce valid
// PromQL. A scratch tree reused across all inputs must give the one-shot results (nothing of
// an earlier input may leak into a later one). Seeds: corpus/ (realistic dashboard queries
// and past crashers).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "filters/promql/promql.h"

namespace {

using obsgate::filters::MatchOp;
using obsgate::filters::Scope;
namespace promql = obsgate::filters::promql;

[[noreturn]] void die(const char* what, std::string_view a, std::string_view b) {
  std::fprintf(stderr, "%s\n  input:  %.*s\n  output: %.*s\n", what, static_cast<int>(a.size()),
               a.data(), static_cast<int>(b.size()), b.data());
  std::abort();
}

void check_round_trip(std::string_view input, const promql::Ast& ast,
                      const promql::ParseOptions& opts) {
  const std::string printed = promql::print(ast);
  auto again = promql::parse(printed, opts);
  if (!again.ok()) {
    die(("printed form does not parse: " + again.status().message()).c_str(), input, printed);
  }
  if (!promql::structurally_equal(ast, ast.root(), *again, again->root())) {
    die("round trip changed the tree", input, printed);
  }
  if (promql::print(*again) != printed) {
    die("printing is not idempotent", input, printed);
  }
}

// No leak: every vector selector of an enforced query carries every matcher of one rule (of
// the collapsed rule when the scope collapses).
bool narrowed(const promql::Ast& ast, promql::NodeId id, const std::vector<obsgate::filters::Rule>& rules) {
  const promql::Node& n = ast.node(id);
  if (n.kind == promql::NodeKind::kVectorSelector) {
    bool covered = false;
    for (const auto& rule : rules) {
      bool all = true;
      for (const auto& m : rule) {
        bool has = false;
        for (uint32_t i = 0; i < n.matchers.size; ++i) {
          const promql::LabelMatcher& x = ast.matchers(n.matchers)[i];
          has = has || (x.name == m.name && x.op == m.op && x.value == m.value);
        }
        all = all && has;
      }
      covered = covered || all;
    }
    if (!covered) {
      return false;
    }
  }
  for (promql::NodeId c : {n.a, n.b}) {
    if (c != promql::kNoNode && !narrowed(ast, c, rules)) {
      return false;
    }
  }
  for (uint32_t i = 0; n.kind == promql::NodeKind::kCall && i < n.args.size; ++i) {
    if (!narrowed(ast, ast.ids(n.args)[i], rules)) {
      return false;
    }
  }
  return true;
}

Scope make_scope(int which) {
  Scope s;
  s.hidden_labels = {"secret"};
  switch (which) {
    case 0: s.rules = {{{"tenant", MatchOp::kEq, "a"}}}; break;
    case 1: s.rules = {{{"tenant", MatchOp::kEq, "a"}}, {{"team", MatchOp::kRe, "x|y"}}}; break;
    case 2:
      s.rules = {{{"tenant", MatchOp::kEq, "a"}, {"env", MatchOp::kEq, "prod"}},
                 {{"tenant", MatchOp::kEq, "b"}}};
      break;
    default: s.unrestricted = true; break;
  }
  return s;
}

// enforce_query with the scratch tree (reused across inputs) against the one-shot result.
void check_scratch(std::string_view input, const Scope& scope, const promql::ParseOptions& opts,
                   const obsgate::Result<std::string>& want) {
  static promql::Ast scratch;  // test code: deliberately lives across inputs
  auto got = promql::enforce_query(input, scope, scratch, opts);
  if (got.ok() != want.ok() || (want.ok() && *got != *want) ||
      (!want.ok() && got.status().message() != want.status().message())) {
    die("the scratch tree changed the result", input,
        got.ok() ? *got : got.status().message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  promql::ParseOptions opts;
  opts.experimental_functions = size > 0 && (data[0] & 1) != 0;
  {
    const Scope scope = make_scope(size % 4);
    check_scratch(input, scope, opts, promql::enforce_query(input, scope, opts));
  }
  if (auto ast = promql::parse(input, opts); ast.ok()) {
    check_round_trip(input, *ast, opts);
    for (int i = 0; i < 4; ++i) {
      const Scope scope = make_scope(i);
      auto out = promql::enforce_query(input, scope, opts);
      if (out.ok()) {
        // Lifting adds up to two levels (an `or` and its parentheses) per lift point on a
        // path, so an input at our nesting limit may enforce to one just past it (Prometheus
        // itself has no limit). Re-read the output with headroom.
        promql::ParseOptions deeper = opts;
        deeper.max_depth = 2 * opts.max_depth + 16;
        auto reparsed = promql::parse(*out, deeper);
        if (!reparsed.ok()) {
          die(("enforced query does not parse: " + reparsed.status().message()).c_str(), input,
              *out);
        }
        check_round_trip(*out, *reparsed, deeper);
        auto one = obsgate::filters::collapse(scope.rules);
        if (!scope.unrestricted &&
            !narrowed(*reparsed, reparsed->root(), one ? std::vector<obsgate::filters::Rule>{*one} : scope.rules)) {
          die("a selector escaped the scope", input, *out);
        }
      }
    }
  }
  if (auto sel = promql::parse_selector(input, opts); sel.ok()) {
    auto all = promql::enforce_selectors(input, make_scope(1), opts);
    if (all.ok()) {
      for (const std::string& s : *all) {
        if (!promql::parse_selector(s, opts).ok()) {
          die("enforced selector does not parse", input, s);
        }
      }
    }
  }
  return 0;
}
