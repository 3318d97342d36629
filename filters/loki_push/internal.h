// Internal to filters/loki_push: the compiled policy, the per-stream judgement both decoders
// share, and the decoders themselves. Not a public API.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/common/write_rules.h"
#include "filters/logql/ast.h"
#include "filters/loki_push/loki_push.h"

namespace obsgate::filters::loki_push {

using filters::CompiledRule;  // filters/common: matchers anchored as in Loki

struct Enforcer::Impl {
  PushPolicy policy;
  std::vector<CompiledRule> scope_rules;  // OR of ANDs; unused when unrestricted
  std::vector<CompiledRule> audit_rules;  // OR of ANDs
  std::vector<std::string> forbidden;     // forbidden_labels + hidden labels - tenant, sorted
  std::string scope_text;                 // rules rendered for violation details
  std::vector<std::string> audit_text;    // one per audit rule

  [[nodiscard]] bool is_forbidden(std::string_view name) const;
};

Result<std::shared_ptr<const Enforcer::Impl>> compile_policy(PushPolicy policy);

namespace detail {

// A stream's labels: a LogQL selector whose matchers are all `=`. As received (input order) or
// as forwarded (sorted, unique, no empty values, tenant stamped).
using Labels = logql::Selector;

struct Verdict {
  bool ok = true;
  Reason reason = Reason::kInvalidLabels;
  std::string detail;
};
inline Verdict fail(Reason r, std::string detail) { return Verdict{false, r, std::move(detail)}; }

// Parses a protobuf StreamAdapter.labels string (`{a="b", c="d"}`) with the LogQL parser.
// False (with `error`) when it is not a bare selector of `=` matchers.
bool parse_label_string(std::string_view text, Labels& out, std::string& error);

// [a-zA-Z_][a-zA-Z0-9_]*: what a LogQL selector (and so the protobuf form) can carry.
bool valid_label_name(std::string_view name);

// Checks a received label set against the policy; on success fills `forwarded`.
Verdict judge_labels(const Enforcer::Impl& p, const Labels& received, Labels& forwarded);

// Entry-level checks, called for every entry of a stream; the first problem wins.
class EntryChecker {
 public:
  explicit EntryChecker(const Enforcer::Impl& p) : p_(p) {}
  void reset() {
    issue_.ok = true;
    index_ = 0;
  }
  // Per entry, in this order: line() starts it, then each pair's name, then the pair count.
  void line(size_t bytes);
  void metadata_name(std::string_view name);
  void metadata_count(size_t pairs);
  [[nodiscard]] const Verdict& issue() const { return issue_; }

 private:
  const Enforcer::Impl& p_;
  Verdict issue_;
  size_t index_ = 0;  // entries seen, 1-based in messages
};

// {a="b", c="d"} for messages, capped near 1 KiB.
std::string render_for_message(const Labels& labels);

// Records one decoded stream in the outcome. Returns false when the request is rejected (reject
// mode and a violation): the caller returns `out` at once. `raw_labels`, when not empty, is
// shown instead of `received` (labels that did not parse).
bool record(const Enforcer::Impl& p, Outcome& out, const Verdict& v, const Counts& c,
            const Labels& received, std::string_view raw_labels = {});

// The walks, on the decompressed body. Outcome::body is the raw protobuf / the JSON text.
Result<Outcome> enforce_protobuf(const Enforcer::Impl& p, std::string_view push_request);
Result<Outcome> enforce_json(const Enforcer::Impl& p, std::string_view json);

// gzip (RFC 1952, concatenated members allowed as Go's reader does), at most max_out bytes.
// InvalidArgument when corrupt, ResourceExhausted past max_out.
Result<std::string> gunzip(std::string_view in, size_t max_out);

}  // namespace detail
}  // namespace obsgate::filters::loki_push
