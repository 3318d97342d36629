// The span reader: Boost.JSON validates (strict grammar, UTF-8, depth), then a small hand-written
// scanner finds value boundaries in the validated text. Boost.JSON's DOM is not used for output
// because serialising it reformats numbers.
#include "filters/response/json_span.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>

#include "filters/response/response.h"

namespace obsgate::filters::response::detail {
namespace {

namespace json = boost::json;

// Accepts everything the grammar accepts; Boost.JSON does the checking.
struct NullHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t, json::error_code&) { return true; }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && is_ws(t[i])) {
    ++i;
  }
  return i;
}

// Bytes the scanners must look at; everything else is skipped in a tight loop. (Plain arrays
// built at compile time: no static initialisation.)
struct ByteClass {
  bool string_special[256] = {};     // '"' and '\\'
  bool structure_special[256] = {};  // '"', '{', '[', '}', ']'
};
constexpr ByteClass make_byte_class() {
  ByteClass c;
  c.string_special[static_cast<unsigned char>('"')] = true;
  c.string_special[static_cast<unsigned char>('\\')] = true;
  for (char ch : {'"', '{', '[', '}', ']'}) {
    c.structure_special[static_cast<unsigned char>(ch)] = true;
  }
  return c;
}
constexpr ByteClass kBytes = make_byte_class();

// i at the opening quote; returns one past the closing quote, or npos.
std::size_t skip_string(std::string_view t, std::size_t i) {
  const std::size_t n = t.size();
  ++i;
  while (i < n) {
    if (!kBytes.string_special[static_cast<unsigned char>(t[i])]) {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    } else {
      i += 2;  // a backslash and the escaped character
    }
  }
  return std::string_view::npos;
}

// i at the first character of a value; returns one past its end, or npos.
std::size_t skip_value(std::string_view t, std::size_t i, const Structure* st) {
  const std::size_t n = t.size();
  if (i >= n) {
    return std::string_view::npos;
  }
  const char c0 = t[i];
  if (c0 == '"') {
    return skip_string(t, i);
  }
  if (c0 != '{' && c0 != '[') {
    while (i < n && !is_ws(t[i]) && t[i] != ',' && t[i] != ']' && t[i] != '}' && t[i] != ':') {
      ++i;
    }
    return i;
  }
  if (st != nullptr) {
    const char* end = st->end_of(t.data() + i);
    if (end != nullptr && end > t.data() + i && end <= t.data() + n) {
      return static_cast<std::size_t>(end - t.data());
    }
  }
  std::size_t depth = 0;
  while (i < n) {
    while (i < n && !kBytes.structure_special[static_cast<unsigned char>(t[i])]) {
      ++i;
    }
    if (i >= n) {
      break;
    }
    const char c = t[i];
    if (c == '"') {
      i = skip_string(t, i);
      if (i == std::string_view::npos) {
        return i;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (--depth == 0) {
      return i + 1;
    }
    ++i;
  }
  return std::string_view::npos;
}

Status malformed(std::string_view where) {
  return bad_upstream("malformed JSON near " + std::string(where.substr(0, 32)));
}

bool has_duplicate_keys(const std::vector<Member>& ms) {
  if (ms.size() <= 8) {
    for (std::size_t i = 0; i < ms.size(); ++i) {
      for (std::size_t j = i + 1; j < ms.size(); ++j) {
        if (ms[i].key == ms[j].key) {
          return true;
        }
      }
    }
    return false;
  }
  std::vector<std::string_view> keys;
  keys.reserve(ms.size());
  for (const Member& m : ms) {
    keys.emplace_back(m.key);
  }
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

}  // namespace

Status validate_json(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  json::basic_parser<NullHandler> p(opts);
  json::error_code ec;
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    return bad_upstream("response is not valid JSON (" + ec.message() + " at byte " +
                        std::to_string(n) + ")");
  }
  return {};
}

Status bad_upstream(std::string_view what) {
  return Status::unavailable("upstream response: " + std::string(what));
}

Structure Structure::build(std::string_view text) {
  Structure s;
  if (text.size() >= UINT32_MAX) {
    return s;  // offsets would not fit: readers fall back to scanning
  }
  s.base_ = text.data();
  s.size_ = text.size();
  // Indexes into opens_/ends_, or kUnrecorded for containers deeper than kMaxRecordedDepth:
  // no reader looks those up in bulk (a matrix's sample pairs sit at depth 6, Loki entries at
  // 6), and recording them would cost 8 bytes per "[]" of input.
  constexpr std::uint32_t kUnrecorded = UINT32_MAX;
  constexpr std::size_t kMaxRecordedDepth = 5;
  std::vector<std::uint32_t> open_stack;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    while (i < n && !kBytes.structure_special[static_cast<unsigned char>(text[i])]) {
      ++i;
    }
    if (i >= n) {
      break;
    }
    const char c = text[i];
    if (c == '"') {
      i = skip_string(text, i);
      if (i == std::string_view::npos) {
        return Structure();
      }
      continue;
    }
    if (c == '{' || c == '[') {
      if (open_stack.size() < kMaxRecordedDepth) {
        open_stack.push_back(static_cast<std::uint32_t>(s.opens_.size()));
        s.opens_.push_back(static_cast<std::uint32_t>(i));
        s.ends_.push_back(0);
      } else {
        open_stack.push_back(kUnrecorded);
      }
    } else {
      if (open_stack.empty()) {
        return Structure();
      }
      if (open_stack.back() != kUnrecorded) {
        s.ends_[open_stack.back()] = static_cast<std::uint32_t>(i + 1);
      }
      open_stack.pop_back();
    }
    ++i;
  }
  if (!open_stack.empty()) {
    return Structure();
  }
  return s;
}

const char* Structure::end_of(const char* open) const {
  // Compare addresses as integers: `open` may point into another buffer.
  const auto p = reinterpret_cast<std::uintptr_t>(open);
  const auto b = reinterpret_cast<std::uintptr_t>(base_);
  if (base_ == nullptr || p < b || p >= b + size_) {
    return nullptr;
  }
  const auto off = static_cast<std::uint32_t>(p - b);
  auto it = std::lower_bound(opens_.begin(), opens_.end(), off);
  if (it == opens_.end() || *it != off) {
    return nullptr;
  }
  return base_ + ends_[static_cast<std::size_t>(it - opens_.begin())];
}

Kind kind_of(std::string_view value) {
  switch (value.empty() ? 'n' : value.front()) {
    case '{': return Kind::kObject;
    case '[': return Kind::kArray;
    case '"': return Kind::kString;
    case 't':
    case 'f':
    case 'n': return Kind::kLiteral;
    default: return Kind::kNumber;
  }
}

std::string_view trim(std::string_view text) {
  std::size_t b = skip_ws(text, 0);
  std::size_t e = text.size();
  while (e > b && is_ws(text[e - 1])) {
    --e;
  }
  return text.substr(b, e - b);
}

Result<std::vector<Member>> members(std::string_view t, const Structure* st) {
  std::vector<Member> out;
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') {
    return malformed(t);
  }
  std::size_t i = skip_ws(t, 1);
  if (t[i] == '}') {
    return out;
  }
  while (true) {
    if (i >= t.size() || t[i] != '"') {
      return malformed(t.substr(std::min(i, t.size())));
    }
    const std::size_t key_end = skip_string(t, i);
    if (key_end == std::string_view::npos) {
      return malformed(t.substr(i));
    }
    Member m;
    m.raw_key = t.substr(i, key_end - i);
    auto key = decode_string(m.raw_key);
    if (!key.ok()) {
      return key.status();
    }
    m.key = std::move(*key);
    i = skip_ws(t, key_end);
    if (i >= t.size() || t[i] != ':') {
      return malformed(t.substr(key_end));
    }
    i = skip_ws(t, i + 1);
    const std::size_t value_end = skip_value(t, i, st);
    if (value_end == std::string_view::npos || value_end >= t.size() || value_end == i) {
      return malformed(t.substr(std::min(i, t.size())));
    }
    m.value = t.substr(i, value_end - i);
    out.push_back(std::move(m));
    i = skip_ws(t, value_end);
    if (i < t.size() && t[i] == ',') {
      i = skip_ws(t, i + 1);
      continue;
    }
    if (i + 1 != t.size() || t[i] != '}') {
      return malformed(t.substr(std::min(i, t.size())));
    }
    break;
  }
  if (has_duplicate_keys(out)) {
    return bad_upstream("object with duplicate keys");
  }
  return out;
}

Result<std::vector<std::string_view>> elements(std::string_view t, const Structure* st) {
  std::vector<std::string_view> out;
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') {
    return malformed(t);
  }
  std::size_t i = skip_ws(t, 1);
  if (t[i] == ']') {
    return out;
  }
  while (true) {
    const std::size_t end = skip_value(t, i, st);
    if (end == std::string_view::npos || end >= t.size() || end == i) {
      return malformed(t.substr(std::min(i, t.size())));
    }
    out.push_back(t.substr(i, end - i));
    i = skip_ws(t, end);
    if (i < t.size() && t[i] == ',') {
      i = skip_ws(t, i + 1);
      continue;
    }
    if (i + 1 != t.size() || t[i] != ']') {
      return malformed(t.substr(std::min(i, t.size())));
    }
    return out;
  }
}

Result<std::string> decode_string(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') {
    return malformed(raw);
  }
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') == std::string_view::npos) {
    return std::string(inner);
  }
  // Escapes are rare in labels: let Boost.JSON decode them (surrogate pairs included).
  json::error_code ec;
  json::value v = json::parse(json::string_view(raw.data(), raw.size()), ec);
  if (ec || !v.is_string()) {
    return malformed(raw);
  }
  return std::string(v.get_string().data(), v.get_string().size());
}

const Member* find(const std::vector<Member>& ms, std::string_view key) {
  for (const Member& m : ms) {
    if (m.key == key) {
      return &m;
    }
  }
  return nullptr;
}

}  // namespace obsgate::filters::response::detail
