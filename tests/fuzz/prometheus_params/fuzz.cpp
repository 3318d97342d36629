// Fuzzes the prometheus step's pure request rewrite: parameters from the network (URL query and
// form body) merged and enforced per endpoint, label names in U__ escaping, and the label-values
// body parser. Invariants (a violation traps): every enforced `query` and `match[]` re-parses
// and carries the scope's matcher on every selector; hidden labels never survive; nothing throws.
//
// Input: byte 0 picks the endpoint, then "<url query>\n<form body>" (or the label name for
// label values). Run: build with -DOBSGATE_FUZZ=ON, then
//   ./prometheus_params_fuzz -max_total_time=60 tests/fuzz/prometheus_params/corpus
#include <cstdint>
#include <string>
#include <string_view>

#include "filters/promql/promql.h"
#include "gateway/routing/params.h"
#include "gateway/steps/prometheus/endpoints.h"
#include "gateway/steps/prometheus/visible_names.h"

namespace {

namespace pa = obsgate::gateway::prom_api;
namespace promql = obsgate::filters::promql;
using obsgate::filters::MatchOp;

void require(bool cond) {
  if (!cond) {
    __builtin_trap();
  }
}

const obsgate::filters::Scope& scope() {
  static const obsgate::filters::Scope s = [] {
    obsgate::filters::Scope x;
    x.rules = {{{"namespace", MatchOp::kEq, "a"}}, {{"team", MatchOp::kRe, "x|y"}}};
    x.hidden_labels = {"client_ip"};
    return x;
  }();
  return s;
}

// Every vector selector of the tree carries one of the scope's rule matchers.
void check_scoped(const promql::Ast& ast) {
  for (promql::NodeId id = 0; id < ast.node_count(); ++id) {
    const auto& n = ast.node(id);
    if (n.kind != promql::NodeKind::kVectorSelector) {
      continue;
    }
    bool found = false;
    const auto* m = ast.matchers(n.matchers);
    for (uint32_t i = 0; i < n.matchers.size; ++i) {
      found = found || (m[i].name == "namespace" && m[i].op == MatchOp::kEq && m[i].value == "a") ||
              (m[i].name == "team" && m[i].op == MatchOp::kRe && m[i].value == "x|y");
      require(m[i].name != "client_ip");
    }
    require(found);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const auto e =
      static_cast<pa::Endpoint>(data[0] % (static_cast<int>(pa::Endpoint::kBuildinfo) + 1));
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)pa::parse_label_values(rest);
  (void)pa::unescape_label_name(rest);
  const size_t nl = rest.find('\n');
  auto url = obsgate::routing::parse_params(rest.substr(0, nl));
  auto form = obsgate::routing::parse_params(nl == std::string_view::npos ? std::string_view()
                                                                          : rest.substr(nl + 1));
  if (!url.ok() || !form.ok()) {
    return 0;
  }
  auto merged = obsgate::routing::merge_url_and_form(*url, *form, pa::single_valued_params());
  if (!merged.ok()) {
    return 0;
  }
  auto label = merged->first("name");
  auto out = pa::enforce_params(e, *merged, scope(), label.value_or(""));
  if (!out.ok()) {
    return 0;
  }
  if (e == pa::Endpoint::kQuery || e == pa::Endpoint::kQueryRange ||
      e == pa::Endpoint::kQueryExemplars) {
    require(out->count("query") == 1);
    auto ast = promql::parse(*out->first("query"));
    require(ast.ok());
    check_scoped(*ast);
  }
  if (e == pa::Endpoint::kSeries || e == pa::Endpoint::kLabels || e == pa::Endpoint::kLabelValues ||
      e == pa::Endpoint::kFederate) {
    require(out->count("match[]") >= 1);
    for (auto v : out->get_all("match[]")) {
      auto ast = promql::parse_selector(v);
      require(ast.ok());
      check_scoped(*ast);
    }
  }
  return 0;
}
