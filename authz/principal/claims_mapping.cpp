#include "authz/principal/claims_mapping.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json/value.hpp>

namespace obsgate::authz {
namespace {

namespace json = boost::json;

std::vector<std::string> split_path(const std::string& dotted) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = dotted.find('.', start);
    out.push_back(dotted.substr(start, dot - start));
    if (dot == std::string::npos) {
      return out;
    }
    start = dot + 1;
  }
}

// Calls `fn` for every string value at `src.path` (a string, or the strings of an array).
template <typename Fn>
void for_each_value(const json::object& claims, const ClaimSource& src, Fn&& fn) {
  const json::object* obj = &claims;
  const json::value* v = nullptr;
  for (std::size_t i = 0; i < src.path.size(); ++i) {
    v = obj->if_contains(src.path[i]);
    if (v == nullptr) {
      return;
    }
    if (i + 1 < src.path.size()) {
      if (!v->is_object()) {
        return;
      }
      obj = &v->get_object();
    }
  }
  auto emit = [&](const json::string& s) {
    const std::string_view sv(s.data(), s.size());
    if (!src.split_spaces) {
      fn(sv);
      return;
    }
    std::size_t start = 0;
    while (start < sv.size()) {
      const std::size_t end = std::min(sv.find(' ', start), sv.size());
      if (end > start) {
        fn(sv.substr(start, end - start));
      }
      start = end + 1;
    }
  };
  if (v == nullptr) {
    return;
  }
  if (v->is_string()) {
    emit(v->get_string());
  } else if (v->is_array()) {
    for (const json::value& e : v->get_array()) {
      if (e.is_string()) {
        emit(e.get_string());
      }
    }
  }
}

void collect(const json::object& claims, const std::vector<ClaimSource>& sources,
             std::vector<std::string>& out) {
  for (const ClaimSource& src : sources) {
    for_each_value(claims, src, [&](std::string_view value) {
      if (auto it = src.values.find(value); it != src.values.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
      }
    });
  }
  sort_unique(out);
}

Status parse_string_list(const YAML::Node& n, const std::string& field,
                         std::vector<std::string>& out) {
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const YAML::Node& e : n) {
      if (!e.IsScalar() || e.as<std::string>().empty()) {
        return Status::invalid_argument(field + ": expected non-empty strings");
      }
      out.push_back(e.as<std::string>());
    }
  } else {
    return Status::invalid_argument(field + ": expected a string or a list of strings");
  }
  if (out.empty()) {
    return Status::invalid_argument(field + ": empty list");
  }
  return Status();
}

Status parse_sources(const YAML::Node& n, const std::string& field, std::vector<ClaimSource>& out) {
  if (!n) {
    return Status();
  }
  if (!n.IsSequence()) {
    return Status::invalid_argument(field + ": expected a list of claim sources");
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    const YAML::Node& e = n[i];
    if (!e.IsMap()) {
      return Status::invalid_argument(f + ": expected a map with claim and values");
    }
    for (const auto& kv : e) {
      const std::string key = kv.first.as<std::string>();
      if (key != "claim" && key != "split" && key != "values") {
        return Status::invalid_argument(f + ": unknown field \"" + key + "\"");
      }
    }
    ClaimSource src;
    const YAML::Node claim = e["claim"];
    if (claim && claim.IsScalar()) {
      src.path = split_path(claim.as<std::string>());
    } else if (claim && claim.IsSequence()) {
      if (Status s = parse_string_list(claim, f + ".claim", src.path); !s.ok()) {
        return s;
      }
    } else {
      return Status::invalid_argument(f + ".claim: required (a dotted path or a list)");
    }
    for (const std::string& seg : src.path) {
      if (seg.empty()) {
        return Status::invalid_argument(f + ".claim: empty path segment in \"" +
                                        claim.as<std::string>("") + "\"");
      }
    }
    if (const YAML::Node split = e["split"]) {
      const std::string how = split.as<std::string>("");
      if (how != "space") {
        return Status::invalid_argument(f + ".split: only \"space\" is supported, got \"" + how +
                                        "\"");
      }
      src.split_spaces = true;
    }
    const YAML::Node values = e["values"];
    if (!values || !values.IsMap() || values.size() == 0) {
      return Status::invalid_argument(f +
                                      ".values: required non-empty map of claim value -> "
                                      "list");
    }
    for (const auto& kv : values) {
      const std::string value = kv.first.as<std::string>();
      std::vector<std::string> targets;
      if (Status s = parse_string_list(kv.second, f + ".values[\"" + value + "\"]", targets);
          !s.ok()) {
        return s;
      }
      sort_unique(targets);
      src.values.emplace(value, std::move(targets));
    }
    out.push_back(std::move(src));
  }
  return Status();
}

}  // namespace

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

Result<PrincipalMapping> PrincipalMapping::parse(const YAML::Node& node) {
  // Config load may throw inside yaml-cpp (bad conversions); turn that into a Status here so
  // that no exception crosses into callers.
  try {
    if (!node.IsMap()) {
      return Status::invalid_argument("principal mapping: expected a map");
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (key != "tenants" && key != "roles") {
        return Status::invalid_argument("principal mapping: unknown field \"" + key + "\"");
      }
    }
    PrincipalMapping m;
    if (Status s = parse_sources(node["tenants"], "tenants", m.tenants); !s.ok()) {
      return s;
    }
    if (Status s = parse_sources(node["roles"], "roles", m.roles); !s.ok()) {
      return s;
    }
    return m;
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("principal mapping: ") + e.what());
  }
}

Principal map_token(const PrincipalMapping& mapping, const jwt::VerifiedToken& token) {
  if (!token.claims) {
    Principal p;  // a default-constructed token maps to nobody
    p.issuer = token.issuer;
    p.subject = token.subject;
    return p;
  }
  return map_claims(mapping, *token.claims, token.issuer, token.subject);
}

Principal map_claims(const PrincipalMapping& mapping, const json::object& claims,
                     std::string_view issuer, std::string_view subject) {
  Principal p;
  p.issuer = std::string(issuer);
  p.subject = std::string(subject);
  collect(claims, mapping.tenants, p.tenants);
  collect(claims, mapping.roles, p.roles);
  return p;
}

}  // namespace obsgate::authz
