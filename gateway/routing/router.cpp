#include "gateway/routing/router.h"

#include <algorithm>
#include <set>

#include "gateway/routing/pct.h"
#include "gateway/routing/target.h"

namespace obsgate::routing {
namespace {

// Bit order is alphabetical, so rendering the mask low-to-high gives a sorted Allow header.
constexpr std::array<std::string_view, 7> kMethodNames = {"DELETE", "GET",  "HEAD", "OPTIONS",
                                                          "PATCH",  "POST", "PUT"};
using MethodMask = uint8_t;

// 0 for an unknown method: it then matches no route. Dispatch on length first: this runs on
// every request.
MethodMask method_bit(std::string_view m) noexcept {
  auto bit = [](size_t i) { return static_cast<MethodMask>(1U << i); };
  switch (m.size()) {
    case 3:
      return m == "GET" ? bit(1) : m == "PUT" ? bit(6) : 0;
    case 4:
      return m == "POST" ? bit(5) : m == "HEAD" ? bit(2) : 0;
    case 5:
      return m == "PATCH" ? bit(4) : 0;
    case 6:
      return m == "DELETE" ? bit(0) : 0;
    case 7:
      return m == "OPTIONS" ? bit(3) : 0;
    default:
      return 0;
  }
}

std::string render_methods(MethodMask mask) {
  std::string out;
  for (size_t i = 0; i < kMethodNames.size(); ++i) {
    if ((mask & (1U << i)) != 0) {
      if (!out.empty()) {
        out += ", ";
      }
      out += kMethodNames[i];
    }
  }
  return out;
}

using Segments = std::array<std::string_view, kMaxSegments>;

// Splits "/a/b/" into {"a", "b", ""}; "/" is {""}. False if not absolute or too deep.
bool split_path(std::string_view path, Segments& segs, size_t& count) {
  count = 0;
  if (path.empty() || path[0] != '/') {
    return false;
  }
  size_t pos = 1;
  while (true) {
    if (count == kMaxSegments) {
      return false;
    }
    const size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) {
      segs[count++] = path.substr(pos);
      return true;
    }
    segs[count++] = path.substr(pos, slash - pos);
    pos = slash + 1;
  }
}

bool is_param_segment(std::string_view seg) { return seg.size() >= 2 && seg.front() == '{'; }

bool valid_param_name(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) {
    return false;
  }
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
  });
}

void decode_segment(std::string_view seg, std::string& out) {
  out.clear();
  out.reserve(seg.size());
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '%' && seg.size() - i >= 3) {
      const int hi = pct::hex_value(static_cast<unsigned char>(seg[i + 1]));
      const int lo = pct::hex_value(static_cast<unsigned char>(seg[i + 2]));
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(seg[i]);
  }
}

// FNV-1a: literal children are looked up by hash so the hot path compares integers, then
// confirms with one equality check.
constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t hash_segment(std::string_view seg) noexcept {
  uint64_t h = kFnvOffset;
  for (const char c : seg) {
    h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  }
  return h;
}

std::string describe(const RouteSpec& r, size_t i) {
  return "route \"" + r.name + "\" (#" + std::to_string(i) + ")";
}

}  // namespace

struct Router::Impl {
  struct Literal {
    uint64_t hash;
    std::string text;
    uint32_t child;
  };
  struct Node {
    std::vector<Literal> literals;  // sorted by hash
    int32_t param_child = -1;
    std::vector<uint32_t> routes;  // routes whose pattern ends here
  };
  struct Compiled {
    MethodMask methods = 0;
    std::vector<std::string> segments;  // literal, or "{name}" for a parameter
    std::vector<std::pair<uint32_t, std::string>> params;  // (segment index, name)
  };

  std::vector<RouteSpec> specs;
  std::vector<Compiled> compiled;
  std::vector<Node> nodes;  // nodes[0] is the root

  // Depth-first over literal and parameter children, splitting the path lazily (no up-front
  // segment array to fill). Returns true once a route allowing the method is found (it is
  // unique: build() rejects overlapping method sets). starts/ends record the segments on the
  // current branch, for extracting parameters afterwards.
  struct Walk {
    Walk(std::string_view p, MethodMask b) : path(p), bit(b) {}
    std::string_view path;
    MethodMask bit;
    MethodMask allow = 0;
    uint32_t found = 0;
    std::array<uint32_t, kMaxSegments> starts;  // uninitialised on purpose: written before read
    std::array<uint32_t, kMaxSegments> ends;
  };

  // `pos` is the offset of the current segment's first byte; path.size() + 1 means "no more
  // segments" (a path ending in "/" has a last, empty segment).
  bool walk(uint32_t node_index, size_t pos, size_t depth, Walk& w) const {
    const Node& node = nodes[node_index];
    const std::string_view path = w.path;
    if (pos > path.size()) {
      for (const uint32_t r : node.routes) {
        if ((compiled[r].methods & w.bit) != 0) {
          w.found = r;
          return true;
        }
        w.allow |= compiled[r].methods;
      }
      return false;
    }
    if (depth == kMaxSegments) {
      return false;  // deeper than any pattern
    }
    // Find the segment's end and hash it in one pass.
    uint64_t h = kFnvOffset;
    size_t end = pos;
    while (end < path.size() && path[end] != '/') {
      h = (h ^ static_cast<unsigned char>(path[end])) * kFnvPrime;
      ++end;
    }
    const std::string_view seg = path.substr(pos, end - pos);
    w.starts[depth] = static_cast<uint32_t>(pos);
    w.ends[depth] = static_cast<uint32_t>(end);
    const size_t next = end + 1;  // past the '/', or path.size() + 1 at the end
    auto it = std::lower_bound(node.literals.begin(), node.literals.end(), h,
                               [](const Literal& l, uint64_t v) { return l.hash < v; });
    for (; it != node.literals.end() && it->hash == h; ++it) {
      if (it->text == seg) {
        if (walk(it->child, next, depth + 1, w)) {
          return true;
        }
        break;
      }
    }
    if (node.param_child >= 0 && !seg.empty() && seg != "." && seg != "..") {
      return walk(static_cast<uint32_t>(node.param_child), next, depth + 1, w);
    }
    return false;
  }

  Status compile(size_t i);
  void insert(uint32_t route);
  Status check_overlaps() const;
};

Status Router::Impl::compile(size_t i) {
  const RouteSpec& spec = specs[i];
  Compiled c;
  for (const std::string& m : spec.methods) {
    const MethodMask bit = method_bit(m);
    if (bit == 0) {
      return Status::invalid_argument(describe(spec, i) + ": unknown method \"" + m +
                                      "\" (want one of GET HEAD POST PUT DELETE PATCH OPTIONS)");
    }
    if ((c.methods & bit) != 0) {
      return Status::invalid_argument(describe(spec, i) + ": method \"" + m + "\" listed twice");
    }
    c.methods |= bit;
  }
  if (c.methods == 0) {
    return Status::invalid_argument(describe(spec, i) + ": no methods");
  }
  const std::string where = describe(spec, i) + ": pattern \"" + spec.pattern + "\"";
  Segments segs;
  size_t count = 0;
  if (!split_path(spec.pattern, segs, count)) {
    return Status::invalid_argument(where + " must start with \"/\" and have at most " +
                                    std::to_string(kMaxSegments) + " segments");
  }
  // Literal segments must already be normalised: normalise the pattern with each parameter
  // replaced by a plain placeholder and require that nothing changes.
  std::string probe;
  for (size_t k = 0; k < count; ++k) {
    const std::string_view seg = segs[k];
    probe += '/';
    const bool braces = seg.find_first_of("{}") != std::string_view::npos;
    if (!braces) {
      probe += seg;
      c.segments.emplace_back(seg);
      continue;
    }
    if (!is_param_segment(seg) || seg.back() != '}' ||
        !valid_param_name(seg.substr(1, seg.size() - 2))) {
      return Status::invalid_argument(where + ": segment \"" + std::string(seg) +
                                      "\" must be a whole {name} with name [a-zA-Z_][a-zA-Z0-9_]*");
    }
    std::string name(seg.substr(1, seg.size() - 2));
    for (const auto& p : c.params) {
      if (p.second == name) {
        return Status::invalid_argument(where + ": parameter {" + name + "} used twice");
      }
    }
    if (c.params.size() == kMaxPathParams) {
      return Status::invalid_argument(where + ": more than " + std::to_string(kMaxPathParams) +
                                      " parameters");
    }
    c.params.emplace_back(static_cast<uint32_t>(k), std::move(name));
    c.segments.emplace_back(seg);
    probe += 'p';
  }
  auto norm = normalise_path(probe);
  if (!norm.ok()) {
    return Status::invalid_argument(where + " is not a valid path: " + norm.status().message());
  }
  if (*norm != probe) {
    return Status::invalid_argument(where + " is not normalised (normalises to \"" + *norm +
                                    "\" with parameters as \"p\")");
  }
  compiled.push_back(std::move(c));
  return Status();
}

void Router::Impl::insert(uint32_t route) {
  uint32_t node = 0;
  for (const std::string& seg : compiled[route].segments) {
    if (is_param_segment(seg)) {
      if (nodes[node].param_child < 0) {
        nodes[node].param_child = static_cast<int32_t>(nodes.size());
        nodes.emplace_back();
      }
      node = static_cast<uint32_t>(nodes[node].param_child);
      continue;
    }
    const uint64_t h = hash_segment(seg);
    auto& lits = nodes[node].literals;
    auto it =
        std::find_if(lits.begin(), lits.end(), [&](const Literal& l) { return l.text == seg; });
    if (it == lits.end()) {
      const auto child = static_cast<uint32_t>(nodes.size());
      it = std::upper_bound(lits.begin(), lits.end(), h,
                            [](uint64_t v, const Literal& l) { return v < l.hash; });
      lits.insert(it, Literal{h, seg, child});
      nodes.emplace_back();  // invalidates `lits`; `child` is what we keep
      node = child;
    } else {
      node = it->child;
    }
  }
  nodes[node].routes.push_back(route);
}

Status Router::Impl::check_overlaps() const {
  for (size_t a = 0; a < compiled.size(); ++a) {
    for (size_t b = a + 1; b < compiled.size(); ++b) {
      const Compiled& x = compiled[a];
      const Compiled& y = compiled[b];
      const MethodMask common = x.methods & y.methods;
      if (common == 0 || x.segments.size() != y.segments.size()) {
        continue;
      }
      bool overlap = true;
      for (size_t k = 0; k < x.segments.size() && overlap; ++k) {
        overlap = is_param_segment(x.segments[k]) || is_param_segment(y.segments[k]) ||
                  x.segments[k] == y.segments[k];
      }
      if (overlap) {
        return Status::invalid_argument(describe(specs[a], a) + " and " + describe(specs[b], b) +
                                        " overlap: \"" + specs[a].pattern + "\" and \"" +
                                        specs[b].pattern + "\" match the same paths for " +
                                        render_methods(common));
      }
    }
  }
  return Status();
}

std::optional<std::string_view> PathParams::get(std::string_view name) const {
  for (size_t i = 0; i < size_; ++i) {
    if (items_[i].name == name) {
      return std::string_view(items_[i].value);
    }
  }
  return std::nullopt;
}

PathParam& PathParams::emplace_back(std::string_view name) {
  PathParam& p = items_[size_++];
  p.name = name;
  p.value.clear();
  return p;
}

Result<Router> Router::build(std::vector<RouteSpec> routes) {
  auto impl = std::make_shared<Impl>();
  impl->specs = std::move(routes);
  impl->nodes.emplace_back();
  std::set<std::string_view> names;
  for (size_t i = 0; i < impl->specs.size(); ++i) {
    const RouteSpec& spec = impl->specs[i];
    if (spec.name.empty()) {
      return Status::invalid_argument("route #" + std::to_string(i) + " has an empty name");
    }
    if (!names.insert(spec.name).second) {
      return Status::invalid_argument(describe(spec, i) + ": duplicate route name");
    }
    Status s = impl->compile(i);
    if (!s.ok()) {
      return s;
    }
    impl->insert(static_cast<uint32_t>(i));
  }
  Status s = impl->check_overlaps();
  if (!s.ok()) {
    return s;
  }
  return Router(std::move(impl));
}

const std::vector<RouteSpec>& Router::routes() const { return impl_->specs; }

void Router::match_into(std::string_view method, std::string_view path, Match& out) const {
  out.kind = MatchKind::kNotFound;
  out.route_index = Match::kNoRoute;
  out.params.clear();
  out.allow.clear();
  if (path.empty() || path[0] != '/') {
    return;
  }
  Impl::Walk w(path, method_bit(method));
  if (impl_->walk(0, 1, 0, w)) {
    out.kind = MatchKind::kFound;
    out.route_index = w.found;
    for (const auto& [index, name] : impl_->compiled[w.found].params) {
      const std::string_view seg = path.substr(w.starts[index], w.ends[index] - w.starts[index]);
      decode_segment(seg, out.params.emplace_back(name).value);
    }
  } else if (w.allow != 0) {
    out.kind = MatchKind::kMethodNotAllowed;
    out.allow = render_methods(w.allow);
  }
}

Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  match_into(method, path, m);
  return m;
}

}  // namespace obsgate::routing
