// String literals: Go's unquoting rules (as strutil.Unquote applies them) and quoting back, from
// the one copy both query languages share (common/go_string.h).
#include "common/go_string.h"
#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {

std::optional<std::string> unquote(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') {
    return std::nullopt;
  }
  const std::string_view body = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(body.size());
  if (go_string::unescape(body, '"', out) != nullptr) {
    return std::nullopt;
  }
  return out;
}

void append_quoted(std::string& out, std::string_view s) { go_string::append_quoted(out, s); }

}  // namespace obsgate::filters::logql::detail
