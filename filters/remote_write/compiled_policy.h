// Internal: a WritePolicy validated and compiled once (regexes, sorted lists, the encoded tenant
// label), plus the helpers the enforcement walk shares with it. Not a public API.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/remote_write/remote_write.h"

namespace obsgate::filters::remote_write {

// One label of a series as it sits in the request: views into the decompressed body, and the
// byte range of its whole field (tag .. end) inside the TimeSeries message.
struct LabelRef {
  std::string_view name;
  std::string_view value;
  uint32_t begin = 0;
  uint32_t end = 0;
};

struct CompiledMatcher {
  std::string name;
  filters::MatchOp op = filters::MatchOp::kEq;
  std::string value;
  std::unique_ptr<RE2> re;  // kRe / kNre only, anchored as in Prometheus
};

struct Enforcer::Impl {
  WritePolicy policy;
  std::vector<std::vector<CompiledMatcher>> rules;  // OR of ANDs
  std::vector<std::string> forbidden;               // sorted, unique
  std::string stamp;                                 // encoded TimeSeries field 1: the tenant Label
  std::string scope_text;                            // rules rendered for violation details

  // Does the (sorted) label set, with the tenant label stamped when absent, satisfy a rule?
  [[nodiscard]] bool in_scope(const std::vector<LabelRef>& labels) const;
};

Result<std::shared_ptr<const Enforcer::Impl>> compile_policy(WritePolicy policy);

// {__name__="x", a="b"}: Prometheus' rendering, values escaped, capped near max_bytes.
std::string render_series(const std::vector<LabelRef>& labels, size_t max_bytes = 1024);

}  // namespace obsgate::filters::remote_write
