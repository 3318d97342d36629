#include "authz/jwt/strict_json.h"

#include <utility>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>

namespace obsgate::authz::jwt {
namespace {

namespace json = boost::json;
using json::error_code;
using json::string_view;

// A basic_parser handler that builds the DOM itself, so that a duplicate key is seen (and the
// parse stopped) at the moment it is read, in one pass.
class StrictHandler {
 public:
  static constexpr std::size_t max_array_size = 10000;
  static constexpr std::size_t max_object_size = 10000;
  static constexpr std::size_t max_string_size = 64 * 1024;
  static constexpr std::size_t max_key_size = 1024;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    stack_.push_back(Frame{json::value(json::object_kind), {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code& ec) { return pop(ec); }
  bool on_array_begin(error_code&) {
    stack_.push_back(Frame{json::value(json::array_kind), {}});
    return true;
  }
  bool on_array_end(std::size_t, error_code& ec) { return pop(ec); }

  bool on_key_part(string_view s, std::size_t, error_code&) {
    buf_.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) {
    buf_.append(s.data(), s.size());
    Frame& top = stack_.back();
    if (top.value.get_object().contains(buf_)) {
      duplicate_key_ = true;
      ec = json::error::syntax;
      return false;
    }
    top.key = std::move(buf_);
    buf_.clear();
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    buf_.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code& ec) {
    buf_.append(s.data(), s.size());
    json::value v(json::string_view(buf_.data(), buf_.size()));
    buf_.clear();
    return emit(std::move(v), ec);
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code& ec) { return emit(json::value(i), ec); }
  bool on_uint64(std::uint64_t u, string_view, error_code& ec) {
    return emit(json::value(u), ec);
  }
  bool on_double(double d, string_view, error_code& ec) { return emit(json::value(d), ec); }
  bool on_bool(bool b, error_code& ec) { return emit(json::value(b), ec); }
  bool on_null(error_code& ec) { return emit(json::value(nullptr), ec); }
  bool on_comment_part(string_view, error_code&) { return false; }
  bool on_comment(string_view, error_code&) { return false; }

  [[nodiscard]] bool duplicate_key() const { return duplicate_key_; }
  json::value& root() { return root_; }

 private:
  struct Frame {
    json::value value;  // object or array under construction
    std::string key;    // pending member name when value is an object
  };

  bool emit(json::value v, error_code&) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (top.value.is_object()) {
      top.value.get_object().emplace(top.key, std::move(v));
    } else {
      top.value.get_array().push_back(std::move(v));
    }
    return true;
  }
  bool pop(error_code& ec) {
    json::value v = std::move(stack_.back().value);
    stack_.pop_back();
    return emit(std::move(v), ec);
  }

  std::vector<Frame> stack_;
  std::string buf_;
  json::value root_;
  bool duplicate_key_ = false;
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
  json::basic_parser<StrictHandler> parser(opts);
  error_code ec;
  const std::size_t n = parser.write_some(false, text.data(), text.size(), ec);
  if (parser.handler().duplicate_key()) {
    return Status::invalid_argument("JSON object has a duplicate member name");
  }
  if (ec) {
    return Status::invalid_argument("JSON syntax error: " + ec.message());
  }
  if (n != text.size() || !parser.done()) {
    return Status::invalid_argument("JSON document has trailing data");
  }
  json::value& root = parser.handler().root();
  if (!root.is_object()) {
    return Status::invalid_argument("JSON document is not an object");
  }
  return std::move(root.get_object());
}

}  // namespace obsgate::authz::jwt
