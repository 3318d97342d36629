#include "gateway/routing/target.h"

#include <array>
#include <cstdint>

#include "gateway/routing/pct.h"

namespace obsgate::routing {
namespace {

// What the normaliser does with one raw path byte. A table keeps the hot loop branch-light.
enum class ByteClass : uint8_t {
  kCopy,        // pchar: copied as is
  kEncode,      // printable but not pchar: written as %XX
  kPercent,     // start of an escape
  kSlash,       // segment separator
  kNul,         // rejected: path_nul
  kControl,     // rejected: path_control_char
  kSpace,       // rejected: path_space
  kBackslash,   // rejected: path_backslash
  kNonAscii,    // rejected: path_non_ascii
};

constexpr std::array<ByteClass, 256> make_path_classes() {
  std::array<ByteClass, 256> t{};
  for (int i = 0; i < 256; ++i) {
    const auto c = static_cast<unsigned char>(i);
    ByteClass k = ByteClass::kEncode;
    if (c == 0) {
      k = ByteClass::kNul;
    } else if (pct::is_control(c)) {
      k = ByteClass::kControl;
    } else if (c >= 0x80) {
      k = ByteClass::kNonAscii;
    } else if (c == ' ') {
      k = ByteClass::kSpace;
    } else if (c == '\\') {
      k = ByteClass::kBackslash;
    } else if (c == '%') {
      k = ByteClass::kPercent;
    } else if (c == '/') {
      k = ByteClass::kSlash;
    } else if (pct::is_pchar(c)) {
      k = ByteClass::kCopy;
    }
    t[static_cast<size_t>(i)] = k;
  }
  return t;
}

constexpr std::array<ByteClass, 256> kPathClass = make_path_classes();

Status fail(std::string_view reason) { return Status::invalid_argument(std::string(reason)); }

// Handles one escape starting at in[i] == '%'; appends its canonical form to out.
Status append_path_escape(std::string_view in, size_t i, std::string& out) {
  if (in.size() - i < 3) {
    return fail(reason::kPathInvalidEscape);
  }
  const int hi = pct::hex_value(static_cast<unsigned char>(in[i + 1]));
  const int lo = pct::hex_value(static_cast<unsigned char>(in[i + 2]));
  if (hi < 0 || lo < 0) {
    return fail(reason::kPathInvalidEscape);
  }
  const auto v = static_cast<unsigned char>(hi * 16 + lo);
  if (v == 0) {
    return fail(reason::kPathNul);
  }
  if (v == '/') {
    return fail(reason::kPathEncodedSlash);
  }
  if (v == '\\') {
    return fail(reason::kPathEncodedBackslash);
  }
  if (pct::is_control(v)) {
    return fail(reason::kPathControlChar);
  }
  if (pct::is_unreserved(v)) {
    out.push_back(static_cast<char>(v));
  } else {
    pct::append_escape(out, v);
  }
  return Status();
}

// A URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_scheme(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
    return false;
  }
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!(pct::is_unreserved(u) || c == '+') || c == '_' || c == '~') {
      return false;
    }
  }
  return true;
}

// Names the form of a target that does not start with "/", for a precise reason.
std::string_view classify_non_origin(std::string_view target) {
  if (target == "*") {
    return reason::kAsteriskForm;
  }
  const size_t colon = target.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    const std::string_view rest = target.substr(colon + 1);
    if (rest.starts_with("//") && is_scheme(target.substr(0, colon))) {
      return reason::kAbsoluteForm;
    }
    // host:port, [v6]:port
    bool digits = !rest.empty();
    for (const char c : rest) {
      digits = digits && c >= '0' && c <= '9';
    }
    if (digits || target[0] == '[') {
      return reason::kAuthorityForm;
    }
    if (is_scheme(target.substr(0, colon))) {
      return reason::kAbsoluteForm;  // e.g. "urn:x", "mailto:a@b"
    }
  }
  return reason::kNotOriginForm;
}

// Query bytes that need a look: everything else passes the screen untouched.
constexpr std::array<bool, 256> make_query_special() {
  std::array<bool, 256> t{};
  for (int i = 0; i < 256; ++i) {
    const auto c = static_cast<unsigned char>(i);
    t[static_cast<size_t>(i)] = pct::is_control(c) || c == ' ' || c >= 0x80 || c == '%';
  }
  return t;
}

constexpr std::array<bool, 256> kQuerySpecial = make_query_special();

Status check_query(std::string_view q) {
  for (size_t i = 0; i < q.size(); ++i) {
    const auto c = static_cast<unsigned char>(q[i]);
    if (!kQuerySpecial[c]) {
      continue;
    }
    if (pct::is_control(c)) {
      return fail(reason::kQueryControlChar);
    }
    if (c == ' ') {
      return fail(reason::kQuerySpace);
    }
    if (c >= 0x80) {
      return fail(reason::kQueryNonAscii);
    }
    // c == '%'
    if (q.size() - i < 3 || pct::hex_value(static_cast<unsigned char>(q[i + 1])) < 0 ||
        pct::hex_value(static_cast<unsigned char>(q[i + 2])) < 0) {
      return fail(reason::kQueryInvalidEscape);
    }
    i += 2;
  }
  return Status();
}

}  // namespace

Status normalise_path_into(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty()) {
    return fail(reason::kPathEmpty);
  }
  if (in[0] != '/') {
    return fail(reason::kPathNotAbsolute);
  }
  out.reserve(in.size());
  out.push_back('/');
  // Invariant: out ends with '/' whenever a new segment starts; seg_start is where it starts.
  size_t seg_start = 1;
  size_t i = 1;
  const size_t n = in.size();
  while (true) {
    // Copy one segment, canonicalising escapes, up to the next '/' or the end.
    while (i < n) {
      const auto c = static_cast<unsigned char>(in[i]);
      const ByteClass k = kPathClass[c];
      if (k == ByteClass::kCopy) {
        // Copy the whole run of plain bytes at once: most paths are nothing else.
        size_t run = i + 1;
        while (run < n && kPathClass[static_cast<unsigned char>(in[run])] == ByteClass::kCopy) {
          ++run;
        }
        out.append(in.data() + i, run - i);
        i = run;
        continue;
      }
      if (k == ByteClass::kSlash) {
        break;
      }
      switch (k) {
        case ByteClass::kPercent: {
          Status s = append_path_escape(in, i, out);
          if (!s.ok()) {
            return s;
          }
          i += 3;
          continue;
        }
        case ByteClass::kEncode:
          pct::append_escape(out, c);
          ++i;
          continue;
        case ByteClass::kNul: return fail(reason::kPathNul);
        case ByteClass::kControl: return fail(reason::kPathControlChar);
        case ByteClass::kSpace: return fail(reason::kPathSpace);
        case ByteClass::kBackslash: return fail(reason::kPathBackslash);
        case ByteClass::kNonAscii: return fail(reason::kPathNonAscii);
        case ByteClass::kCopy:
        case ByteClass::kSlash:
          break;
      }
      return Status::internal("path_normaliser_state");  // unreachable
    }
    // Dot segments are recognised after decoding, so "%2E%2e" counts as "..".
    const std::string_view seg = std::string_view(out).substr(seg_start);
    if (seg == ".") {
      out.resize(seg_start);
    } else if (seg == "..") {
      if (seg_start == 1) {
        return fail(reason::kPathAboveRoot);
      }
      // Drop ".." and the segment before it, keeping that segment's leading '/'.
      out.resize(out.rfind('/', seg_start - 2) + 1);
    } else if (!seg.empty() && i < n) {
      out.push_back('/');
    }
    // An empty segment ("//") adds nothing: out already ends with '/'.
    if (i >= n) {
      break;
    }
    ++i;  // the '/'
    seg_start = out.size();
  }
  return Status();
}

Result<std::string> normalise_path(std::string_view path) {
  std::string out;
  Status s = normalise_path_into(path, out);
  if (!s.ok()) {
    return s;
  }
  return out;
}

std::string to_target(const RequestTarget& target) {
  std::string out;
  out.reserve(target.path.size() + target.raw_query.size() + 1);
  out += target.path;
  if (target.has_query) {
    out += '?';
    out += target.raw_query;
  }
  return out;
}

Result<RequestTarget> parse_target(std::string_view target) {
  if (target.empty()) {
    return fail(reason::kTargetEmpty);
  }
  if (target[0] != '/') {
    return fail(classify_non_origin(target));
  }
  if (target.find('#') != std::string_view::npos) {
    return fail(reason::kFragment);
  }
  RequestTarget rt;
  const size_t q = target.find('?');
  Status s = normalise_path_into(target.substr(0, q), rt.path);
  if (!s.ok()) {
    return s;
  }
  if (q != std::string_view::npos) {
    const std::string_view query = target.substr(q + 1);
    s = check_query(query);
    if (!s.ok()) {
      return s;
    }
    rt.has_query = true;
    rt.raw_query.assign(query);
  }
  return rt;
}

}  // namespace obsgate::routing
