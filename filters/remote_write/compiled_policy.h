// Internal: a WritePolicy validated and compiled once (regexes, sorted lists, the encoded tenant
// label), plus the helpers the enforcement walk shares with it. Not a public API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/common/write_rules.h"
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

struct Enforcer::Impl {
  WritePolicy policy;
  std::vector<filters::CompiledRule> rules;          // OR of ANDs
  std::vector<std::string> forbidden;               // sorted, unique
  std::array<uint64_t, 4> forbidden_first{};         // bitset of first bytes of `forbidden`
  std::string stamp;                                 // encoded TimeSeries field 1: the tenant Label
  std::string scope_text;                            // rules rendered for violation details

  // A cheap prefilter before the binary search: can `name` be a forbidden label at all?
  [[nodiscard]] bool maybe_forbidden(std::string_view name) const {
    const auto c = static_cast<uint8_t>(name[0]);
    return (forbidden_first[c >> 6] >> (c & 63) & 1) != 0;
  }

  // Does the (sorted) label set, with the tenant label stamped when absent, satisfy a rule?
  [[nodiscard]] bool in_scope(const std::vector<LabelRef>& labels) const;
};

Result<std::shared_ptr<const Enforcer::Impl>> compile_policy(WritePolicy policy);

// {__name__="x", a="b"}: Prometheus' rendering, values escaped, capped near max_bytes.
std::string render_series(const std::vector<LabelRef>& labels, size_t max_bytes = 1024);

}  // namespace obsgate::filters::remote_write
