// Strict JSON parsing for JOSE headers, JWT claim sets and JWK sets (module-internal header;
// the gateway does not need it).
//
// Stricter than boost::json::parse in the ways that matter for security tokens:
//   - the top-level value must be an object;
//   - a duplicate member name at any depth rejects the document (RFC 7515 §4 / RFC 8725 §3.5
//     ask for rejection; Boost.JSON would silently keep one of them, and two parsers that keep
//     different ones is how signature-confusion bugs happen);
//   - bounded size and nesting depth; no comments, no trailing commas, valid UTF-8 only.
//
// Thread-safety: pure function.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace obsgate::authz::jwt {

struct JsonLimits {
  std::size_t max_bytes = 64 * 1024;
  std::size_t max_depth = 16;  // the top-level object counts as depth 1
};

// Parses `text` as exactly one JSON object. Errors are InvalidArgument with a message naming
// the problem (never echoing the input).
Result<boost::json::object> parse_strict_object(std::string_view text, const JsonLimits& limits);

}  // namespace obsgate::authz::jwt
