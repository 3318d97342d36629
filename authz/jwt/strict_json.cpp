#include "authz/jwt/strict_json.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>
#include <utility>
#include <vector>

namespace obsgate::authz::jwt {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A basic_parser handler that builds the DOM with Boost.JSON's own value_stack (what
// boost::json::parser does, so it is as fast), and records the member count the parser saw for
// every object, in completion (post-) order. value_stack keeps only the last of duplicate
// members, so an object that lost members is one that had duplicates: see has_duplicates().
class StrictHandler {
 public:
  static constexpr std::size_t max_array_size = 10000;
  static constexpr std::size_t max_object_size = 10000;
  static constexpr std::size_t max_string_size = 64 * 1024;
  static constexpr std::size_t max_key_size = 1024;

  explicit StrictHandler(json::storage_ptr sp) : st_(std::move(sp)) {}

  bool on_document_begin(error_code&) {
    st_.reset();
    return true;
  }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t n, error_code&) {
    seen_sizes_.push_back(n);
    st_.push_object(n);
    return true;
  }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t n, error_code&) {
    st_.push_array(n);
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    st_.push_chars(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    st_.push_key(s);
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    st_.push_chars(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    st_.push_string(s);
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    st_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    st_.push_uint64(u);
    return true;
  }
  bool on_double(double d, string_view, error_code&) {
    st_.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    st_.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    st_.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return false; }
  bool on_comment(string_view, error_code&) { return false; }

  json::value release() { return st_.release(); }

  // Walks the built tree in the same post-order as the parser completed objects. Without
  // duplicates the two sequences are identical; a duplicate makes its object smaller than the
  // parser's count, or drops a nested object and shifts the sequence.
  bool has_duplicates(const json::value& root) const {
    std::size_t i = 0;
    return !walk(root, i) || i != seen_sizes_.size();
  }

 private:
  bool walk(const json::value& v, std::size_t& i) const {
    if (v.is_array()) {
      for (const json::value& e : v.get_array()) {
        if (!walk(e, i)) {
          return false;
        }
      }
    } else if (v.is_object()) {
      for (const auto& kv : v.get_object()) {
        if (!walk(kv.value(), i)) {
          return false;
        }
      }
      if (i >= seen_sizes_.size() || seen_sizes_[i] != v.get_object().size()) {
        return false;
      }
      ++i;
    }
    return true;
  }

  json::value_stack st_;
  std::vector<std::size_t> seen_sizes_;
};

}  // namespace

Result<json::object> parse_strict_object(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::invalid_argument("JSON document exceeds " + std::to_string(limits.max_bytes) +
                                    " bytes");
  }
  // Cheap pre-check: anything but an object is rejected before parsing (after leading space).
  std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') {
    return Status::invalid_argument("JSON document is not an object");
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::basic_parser<StrictHandler> parser(opts, json::storage_ptr());
  error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    return Status::invalid_argument("JSON syntax error: " + ec.message());
  }
  if (n != text.size() || !parser.done()) {
    return Status::invalid_argument("JSON document has trailing data");
  }
  json::value root = parser.handler().release();
  if (!root.is_object()) {
    return Status::invalid_argument("JSON document is not an object");
  }
  if (parser.handler().has_duplicates(root)) {
    return Status::invalid_argument("JSON object has a duplicate member name");
  }
  return std::move(root.get_object());
}

}  // namespace obsgate::authz::jwt
