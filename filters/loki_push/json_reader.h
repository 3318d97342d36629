// Internal to filters/loki_push: a strict RFC 8259 JSON cursor, just what the push walk needs.
//
// Strings must be valid UTF-8 and may not hold unescaped control characters; \u escapes must
// form valid scalar values (a high surrogate needs its low half); numbers follow the RFC
// grammar; nesting is capped. No DOM is built: the walk reads keys and strings where it expects
// them and skips everything else.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace obsgate::filters::loki_push::detail {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 64;

  explicit JsonReader(std::string_view s) : s_(s) {}

  [[nodiscard]] size_t offset() const { return i_; }
  // Skips whitespace; true at the end of the input.
  bool at_end() {
    ws();
    return i_ == s_.size();
  }
  // Skips whitespace, then consumes `c` if it is next.
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // Skips whitespace, then reads a string. `raw` gets the bytes between the quotes; `escaped`
  // whether they hold any backslash escape (then value() decodes them).
  bool string(std::string_view& raw, bool& escaped);
  // A string's value: raw itself, or decoded into `scratch` when escaped.
  std::string_view value(std::string_view raw, bool escaped, std::string& scratch) const;
  // The byte length of that value, without decoding it.
  static size_t decoded_size(std::string_view raw, bool escaped);
  // Skips whitespace and one value of any type.
  bool skip_value(int depth = 0);

 private:
  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool number();
  bool literal(std::string_view word);

  std::string_view s_;
  size_t i_ = 0;
};

// Appends `v` (valid UTF-8) as a JSON string literal.
void append_json_string(std::string& out, std::string_view v);

}  // namespace obsgate::filters::loki_push::detail
