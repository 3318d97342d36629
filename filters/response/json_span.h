// Internal to filters/response: a span reader over JSON text that has already been validated by
// validate_json(). It locates values as views into the input, so that the filters can copy
// everything they do not change byte for byte and re-emit only what they rewrite. The readers
// still bounds-check and return Status on anything unexpected, so a bug can never read past
// the input.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/status.h"

namespace obsgate::filters::response::detail {

// Strict RFC 8259 check of a whole document (Boost.JSON basic_parser, no DOM built).
Status validate_json(std::string_view text);

// The upstream sent something we will not relay (the gateway answers 502).
Status bad_upstream(std::string_view what);

enum class Kind { kObject, kArray, kString, kNumber, kLiteral };
// Kind of a validated, non-empty value span.
Kind kind_of(std::string_view value);

// The document's single top-level value, surrounding whitespace removed.
std::string_view trim(std::string_view text);

// Where each object and array of one validated document ends, found in one pass. The readers
// below take it optionally: without it they scan past every value they skip, and nested readers
// (envelope, data, result, series) would scan the bytes of a deep value once per level.
class Structure {
 public:
  Structure() = default;
  // `text` must have passed validate_json(); it must outlive the Structure.
  static Structure build(std::string_view text);
  // One past the close of the container opening at `open`, as a pointer; nullptr when `open`
  // is not the opening of a container of this document.
  [[nodiscard]] const char* end_of(const char* open) const;

 private:
  const char* base_ = nullptr;
  std::size_t size_ = 0;
  std::vector<std::uint32_t> opens_;  // offsets of '{' and '[', ascending
  std::vector<std::uint32_t> ends_;   // offsets one past the matching close
};

struct Member {
  std::string key;           // decoded
  std::string_view raw_key;  // as sent, quotes included
  std::string_view value;    // as sent
};

// Members of an object span, in order. Duplicate keys fail (clients would read the last one,
// we would filter the first: fail closed).
Result<std::vector<Member>> members(std::string_view object, const Structure* st = nullptr);
// Elements of an array span, in order.
Result<std::vector<std::string_view>> elements(std::string_view array,
                                               const Structure* st = nullptr);
// Decoded content of a string span (quotes included).
Result<std::string> decode_string(std::string_view raw);
// nullptr when absent.
const Member* find(const std::vector<Member>& ms, std::string_view key);

// Sorted, unique hidden label names.
class Hidden {
 public:
  explicit Hidden(const std::vector<std::string>& names);
  [[nodiscard]] bool contains(std::string_view name) const;
  [[nodiscard]] bool empty() const { return names_.empty(); }
  [[nodiscard]] const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// Does `text` mention one of the hidden label names as a whole word (not inside a longer name)?
bool mentions_hidden(std::string_view text, const Hidden& hidden);

struct Label {
  std::string name;
  std::string value;
  std::string_view raw_name;   // quotes included
  std::string_view raw_value;  // quotes included
};
using Labels = std::vector<Label>;
using LabelMap = std::map<std::string, std::string, std::less<>>;

// A JSON object of string values (a label set). `what` names it in errors.
Result<Labels> read_labels(std::string_view object, std::string_view what);
LabelMap to_map(const Labels& labels);

// Label set with hidden names removed: the JSON text to emit, the canonical identity of what
// remains, and the hidden names that were present.
struct Stripped {
  std::string json;  // only when something was removed (and emit_json)
  std::string key;   // canonical: sorted name/value pairs; '\xff' separators (never in UTF-8)
  std::vector<std::string> removed;
};
Stripped strip(const Labels& labels, const Hidden& hidden, bool emit_json = true);
// Canonical identity of a label set (as Stripped::key).
std::string canonical_key(const Labels& labels);

// Detects series that become identical once hidden labels are removed.
class SeriesKeys {
 public:
  enum class Hint { kPromQL, kLogStreams };
  explicit SeriesKeys(Hint hint) : hint_(hint) {}
  // OK, or InvalidArgument naming the hidden label(s) that told the two series apart. Series
  // that were identical before stripping are the upstream's business and are let through.
  Status add(const Stripped& s);

 private:
  Hint hint_;
  std::map<std::string, std::vector<std::string>, std::less<>> seen_;
};

// Ordered, non-overlapping replacements of sub-spans of one span.
class Patch {
 public:
  // `part` must be a view into the span later given to apply(), after every earlier part.
  void replace(std::string_view part, std::string replacement);
  void apply(std::string_view whole, std::string& out) const;

 private:
  std::vector<std::pair<std::string_view, std::string>> edits_;
};

// Replaces the label object `span` by its stripped form, when a hidden label is in it.
void replace_labels(Patch& p, std::string_view span, const Labels& labels, const Hidden& hidden);

// Appends "[e1,e2,...]".
void append_array(const std::vector<std::string>& items, std::string& out);

// The data rewriter of an API envelope: appends the new data value to `out`.
template <typename F>
concept DataRewriter = requires(F f, std::string_view data, const Structure* st, std::string& out) {
  { f(data, st, out) } -> std::same_as<Status>;
};

// Validates `body`, checks the envelope and splices the rewritten "data" into a copy of it.
// Absent or null data: the body is returned unchanged. With `hidden`, an "error" message that
// names a hidden label is replaced by a generic one.
using RewriteFn = Status (*)(void*, std::string_view, const Structure*, std::string&);
Result<std::string> rewrite_envelope_impl(std::string_view body, const Hidden* hidden, RewriteFn fn,
                                          void* ctx);
template <DataRewriter F>
Result<std::string> rewrite_envelope(std::string_view body, const Hidden* hidden, F&& f) {
  return rewrite_envelope_impl(
      body, hidden,
      [](void* c, std::string_view data, const Structure* st, std::string& out) -> Status {
        return (*static_cast<std::remove_reference_t<F>*>(c))(data, st, out);
      },
      &f);
}

// Shared list rewriters (Prometheus and Loki): a list of label sets (deduplicated after
// stripping) and a list of label names (hidden names removed).
Status rewrite_label_set_list(std::string_view data, const Structure* st, const Hidden& hidden,
                              std::string& out);
Status rewrite_name_list(std::string_view data, const Structure* st, const Hidden& hidden,
                         std::string& out);
// A list of strings, checked and copied.
Status check_string_list(std::string_view data, const Structure* st, std::string& out);

}  // namespace obsgate::filters::response::detail

namespace obsgate::filters::response::detail {

// The "result" list of a vector or matrix (Prometheus and Loki): each series' "metric" loses its
// hidden labels; series that become identical fail with SeriesKeys' message.
Status rewrite_series_list(std::string_view result, const Structure* st, const Hidden& hidden,
                           std::string& out);

// Splices the rewritten "result" of a query "data" object; `rewrite` handles one resultType.
struct ResultRewrite {
  std::string_view result_type;
  Status (*rewrite)(std::string_view result, const Structure* st, const Hidden& hidden,
                    std::string& out);
};
Status rewrite_query_data(std::string_view data, const Structure* st, const Hidden& hidden,
                          const std::vector<ResultRewrite>& known, std::string& out);
// For scalar and string results: checked to be an array and copied.
Status copy_array(std::string_view result, const Structure* st, const Hidden& hidden,
                  std::string& out);

}  // namespace obsgate::filters::response::detail
