// Fuzzes parse_target / normalise_path and the router on their output. Invariants (a violation
// traps): a normalised path starts with "/", holds no "//" and no "." or ".." segment, only
// pchar, "/" and canonical escapes (uppercase, never of an unreserved or forbidden byte), and is
// a fixed point of normalise_path; parse_target agrees with normalise_path on the path part and
// re-parsing its output yields the same target.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

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
