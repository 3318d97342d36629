// Fuzzes parse_target / normalise_path and the router on their output. Invariants (a violation
// traps): a normalised path starts with "/", holds no "//" and no "." or ".." segment, only
// pchar, "/" and canonical escapes (uppercase, never of an unreserved or forbidden byte), and is
// a fixed point of normalise_path; it equals (or fails with the same reason as) a naive
// reference normaliser written separately below; parse_target agrees with normalise_path on the path part and
// re-parsing its output yields the same target.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/routing/router.h"
#include "gateway/routing/target.h"

namespace {

using obsgate::routing::normalise_path;
using obsgate::routing::parse_target;

void require(bool cond) {
  if (!cond) {
    __builtin_trap();
  }
}

bool upper_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }
int hex(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

bool pchar_or_slash(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("-._~!$&'()*+,;=:@/").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

void check_normalised(const std::string& p) {
  require(!p.empty() && p[0] == '/');
  require(p.find("//") == std::string::npos);
  // No dot segments anywhere, including at the end.
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) {
      end = p.size();
    }
    const std::string_view seg = std::string_view(p).substr(start, end - start);
    require(seg != "." && seg != "..");
    start = end + 1;
  }
  for (size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == '%') {
      require(i + 2 < p.size() && upper_hex(p[i + 1]) && upper_hex(p[i + 2]));
      const int v = hex(p[i + 1]) * 16 + hex(p[i + 2]);
      const bool unreserved = (v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') ||
                              (v >= '0' && v <= '9') || v == '-' || v == '.' || v == '_' ||
                              v == '~';
      require(!unreserved && v != '/' && v != '\\' && v >= 0x20 && v != 0x7F);
      i += 2;
    } else {
      require(pchar_or_slash(c));
    }
  }
  auto again = normalise_path(p);
  require(again.ok() && *again == p);
}

// A deliberately naive reference normaliser (vectors of segments, RFC 3986 §5.2.4 as a stack),
// written independently of target.cpp. Returns the path or the reason token.
std::string reference(std::string_view in, bool& ok) {
  namespace reason = obsgate::routing::reason;
  ok = false;
  if (in.empty()) {
    return std::string(reason::kPathEmpty);
  }
  if (in[0] != '/') {
    return std::string(reason::kPathNotAbsolute);
  }
  std::vector<std::string> raw;
  size_t start = 1;
  while (true) {
    const size_t slash = in.find('/', start);
    raw.emplace_back(in.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                      : slash - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  auto unreserved = [](int v) {
    return std::isalnum(v) != 0 || v == '-' || v == '.' || v == '_' || v == '~';
  };
  std::vector<std::string> stack;
  bool trailing = false;
  for (size_t k = 0; k < raw.size(); ++k) {
    const std::string& r = raw[k];
    std::string seg;
    for (size_t i = 0; i < r.size(); ++i) {
      const auto c = static_cast<unsigned char>(r[i]);
      if (c == '%') {
        auto hv = [](char h) {
          return std::isdigit(static_cast<unsigned char>(h)) != 0 ? h - '0'
                 : (h >= 'a' && h <= 'f')                        ? h - 'a' + 10
                 : (h >= 'A' && h <= 'F')                        ? h - 'A' + 10
                                                                 : -1;
        };
        if (r.size() - i < 3) {
          return std::string(reason::kPathInvalidEscape);
        }
        const int hi = hv(r[i + 1]);
        const int lo = hv(r[i + 2]);
        if (hi < 0 || lo < 0) {
          return std::string(reason::kPathInvalidEscape);
        }
        const int v = hi * 16 + lo;
        if (v == 0) {
          return std::string(reason::kPathNul);
        }
        if (v == '/') {
          return std::string(reason::kPathEncodedSlash);
        }
        if (v == '\\') {
          return std::string(reason::kPathEncodedBackslash);
        }
        if (v < 0x20 || v == 0x7F) {
          return std::string(reason::kPathControlChar);
        }
        if (unreserved(v)) {
          seg += static_cast<char>(v);
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "%%%02X", v);
          seg += buf;
        }
        i += 2;
      } else if (c == 0) {
        return std::string(reason::kPathNul);
      } else if (c < 0x20 || c == 0x7F) {
        return std::string(reason::kPathControlChar);
      } else if (c >= 0x80) {
        return std::string(reason::kPathNonAscii);
      } else if (c == ' ') {
        return std::string(reason::kPathSpace);
      } else if (c == '\\') {
        return std::string(reason::kPathBackslash);
      } else if (unreserved(c) || std::string_view("!$&'()*+,;=:@").find(static_cast<char>(c)) !=
                                      std::string_view::npos) {
        seg += static_cast<char>(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        seg += buf;
      }
    }
    const bool last = k + 1 == raw.size();
    if (seg == "..") {
      if (stack.empty()) {
        return std::string(reason::kPathAboveRoot);
      }
      stack.pop_back();
      trailing = last;
    } else if (seg == "." || seg.empty()) {
      trailing = last;
    } else {
      stack.push_back(seg);
      trailing = false;
    }
  }
  std::string out;
  for (const auto& s : stack) {
    out += '/';
    out += s;
  }
  if (out.empty() || trailing) {
    out += '/';
  }
  ok = true;
  return out;
}

const obsgate::routing::Router* router() {
  // Built once; leaked on purpose (fuzz harness only).
  static const auto* r = [] {
    auto built = obsgate::routing::Router::build({
        {"query", {"GET", "POST"}, "/api/v1/query"},
        {"label_values", {"GET"}, "/api/v1/label/{name}/values"},
        {"special", {"POST"}, "/api/v1/label/__name__/values"},
        {"secret", {"GET", "PUT"}, "/v1/{mount}/data/{path}"},
        {"dir", {"GET"}, "/a/"},
        {"root", {"GET"}, "/"},
    });
    require(built.ok());
    return new obsgate::routing::Router(*built);
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  auto n = normalise_path(in);
  if (n.ok()) {
    check_normalised(*n);
  }
  bool ref_ok = false;
  const std::string ref = reference(in, ref_ok);
  require(ref_ok == n.ok());
  require(ref == (n.ok() ? *n : n.status().message()));

  auto t = parse_target(in);
  if (!t.ok()) {
    return 0;
  }
  check_normalised(t->path);
  auto path_only = normalise_path(in.substr(0, in.find('?')));
  require(path_only.ok() && *path_only == t->path);
  auto reparsed = parse_target(obsgate::routing::to_target(*t));
  require(reparsed.ok() && *reparsed == *t);

  for (const char* method : {"GET", "POST", "DELETE"}) {
    const auto m = router()->match(method, t->path);
    if (m.kind == obsgate::routing::MatchKind::kFound) {
      for (const auto& p : m.params) {
        require(!p.value.empty() && p.value.find('/') == std::string::npos);
      }
    } else if (m.kind == obsgate::routing::MatchKind::kMethodNotAllowed) {
      require(!m.allow.empty());
    }
  }
  return 0;
}
