#include "gateway/steps/prometheus/endpoints.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

#include "common/utf8.h"
#include "filters/promql/promql.h"
#include "gateway/steps/query_api/endpoints.h"

namespace obsgate::gateway::prom_api {

namespace {

namespace promql = filters::promql;

// Label values is the one pattern with a path parameter: "/api/v1/label/{name}/values".
constexpr query_api::EndpointTable<Endpoint, 10> kTable{
    {{
        {"/api/v1/query", Endpoint::kQuery, "query"},
        {"/api/v1/query_range", Endpoint::kQueryRange, "query_range"},
        {"/api/v1/query_exemplars", Endpoint::kQueryExemplars, "query_exemplars"},
        {"/api/v1/series", Endpoint::kSeries, "series"},
        {"/api/v1/labels", Endpoint::kLabels, "labels"},
        {"/federate", Endpoint::kFederate, "federate"},
        {"/api/v1/rules", Endpoint::kRules, "rules"},
        {"/api/v1/alerts", Endpoint::kAlerts, "alerts"},
        {"/api/v1/metadata", Endpoint::kMetadata, "metadata"},
        {"/api/v1/status/buildinfo", Endpoint::kBuildinfo, "buildinfo"},
    }},
    "/api/v1/label/{",
    Endpoint::kLabelValues,
};

constexpr std::string_view kMatch = "match[]";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Narrows each match[] value to the scope; the outputs replace the inputs in order.
Status narrow_matches(routing::Params& out, const routing::Params& in,
                      const filters::Scope& scope, bool required, bool add_scope_if_none) {
  std::vector<std::string> matches;
  for (const auto& [k, v] : in) {
    if (k != kMatch) {
      continue;
    }
    auto narrowed = promql::enforce_selectors(v, scope);
    if (!narrowed.ok()) {
      return Status(narrowed.status().code(),
                    "invalid parameter \"match[]\": " + narrowed.status().message());
    }
    for (auto& s : *narrowed) {
      matches.push_back(std::move(s));
    }
  }
  if (matches.empty()) {
    if (required) {
      return Status::invalid_argument("no match[] parameter provided");
    }
    if (add_scope_if_none) {
      auto sel = scope_selectors(scope);
      if (!sel.ok()) {
        return sel.status();
      }
      matches = std::move(sel).value();
    }
  }
  // Keep the other parameters where they were; the match[] values go at the end.
  for (const auto& [k, v] : in) {
    if (k != kMatch) {
      out.add(k, v);
    }
  }
  for (auto& m : matches) {
    out.add(std::string(kMatch), std::move(m));
  }
  return {};
}

}  // namespace

std::optional<Endpoint> endpoint_for_path(std::string_view route_path) {
  return kTable.find(route_path);
}

std::string_view endpoint_name(Endpoint e) noexcept { return kTable.name(e); }

std::string label_param_name(std::string_view route_path) {
  return kTable.label_param_name(route_path);
}

const routing::ParamPolicy& single_valued_params() {
  static const routing::ParamPolicy kPolicy{{
      "query", "time", "start", "end", "step", "timeout", "limit", "lookback_delta", "stats",
      "metric", "limit_per_metric", "type", "exclude_alerts", "group_limit",
      "group_next_token"}};
  return kPolicy;
}

Result<std::string> unescape_label_name(std::string_view name) {
  constexpr std::string_view kPrefix = "U__";
  if (name.substr(0, kPrefix.size()) != kPrefix) {
    return std::string(name);
  }
  std::string out;
  const std::string_view s = name.substr(kPrefix.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '_') {
      out += s[i++];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '_') {
      out += '_';
      i += 2;
      continue;
    }
    uint32_t cp = 0;
    size_t j = i + 1;
    for (; j < s.size() && s[j] != '_'; ++j) {
      const int d = hex_digit(s[j]);
      if (d < 0 || cp > 0x10FFFF) {
        return Status::invalid_argument("invalid escaped label name '" + std::string(name) + "'");
      }
      cp = cp * 16 + static_cast<uint32_t>(d);
    }
    if (j == s.size() || j == i + 1 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp == 0) {
      return Status::invalid_argument("invalid escaped label name '" + std::string(name) + "'");
    }
    append_utf8(out, cp);  // cp checked above: a scalar value
    i = j + 1;
  }
  return out;
}

Result<std::vector<std::string>> scope_selectors(const filters::Scope& scope) {
  // The selector {__name__=~".+"} matches every series; narrowed per rule it is that rule.
  return promql::enforce_selectors("{__name__=~\".+\"}", scope);
}

Result<routing::Params> enforce_params(Endpoint e, routing::Params in,
                                       const filters::Scope& scope,
                                       std::string_view label_name) {
  if (scope.denies_everything()) {
    return Status::permission_denied("the scope grants access to no series");
  }
  routing::Params out;
  switch (e) {
    case Endpoint::kQuery:
    case Endpoint::kQueryRange:
    case Endpoint::kQueryExemplars: {
      const auto q = in.first("query");
      if (!q) {
        return Status::invalid_argument("invalid parameter \"query\": missing");
      }
      // The tree's memory is reused per thread (a scratch buffer, not state: parse_into clears
      // it first, and nothing can suspend or re-enter between the parse and the print), which
      // spares ~6 allocations per query, two of them above glibc's tcache size.
      thread_local promql::Ast scratch;
      auto enforced = promql::enforce_query(*q, scope, scratch);
      if (!enforced.ok()) {
        return Status(enforced.status().code(),
                      "invalid parameter \"query\": " + enforced.status().message());
      }
      // `q` points into `in`: it is no longer used once the enforced query replaces it.
      in.set("query", std::move(enforced).value());
      return in;  // moved (C++20 implicit move of a by-value parameter)
    }
    case Endpoint::kSeries:
    case Endpoint::kFederate:
      if (Status st = narrow_matches(out, in, scope, /*required=*/true, false); !st.ok()) {
        return st;
      }
      return out;
    case Endpoint::kLabelValues: {
      auto name = unescape_label_name(label_name);
      if (!name.ok()) {
        return name.status();
      }
      if (scope.is_hidden(*name)) {
        return Status::permission_denied("label \"" + *name + "\" is hidden");
      }
      [[fallthrough]];
    }
    case Endpoint::kLabels:
      if (Status st = narrow_matches(out, in, scope, false, /*add_scope_if_none=*/true);
          !st.ok()) {
        return st;
      }
      return out;
    case Endpoint::kRules:
      for (const auto& [k, v] : in) {
        if (k != kMatch) {
          continue;
        }
        auto ast = promql::parse_selector(v);
        if (!ast.ok()) {
          return Status::invalid_argument("invalid parameter \"match[]\": " +
                                          ast.status().message());
        }
        if (Status st = promql::check_hidden_labels(*ast, scope); !st.ok()) {
          return Status(st.code(), "invalid parameter \"match[]\": " + st.message());
        }
      }
      return in;  // moved (C++20 implicit move of a by-value parameter)
    case Endpoint::kMetadata:
      if (metadata_limit(in)) {
        in.erase("limit");
      }
      return in;  // moved (C++20 implicit move of a by-value parameter)
    case Endpoint::kAlerts:
    case Endpoint::kBuildinfo:
      return in;  // moved (C++20 implicit move of a by-value parameter)
  }
  return Status::internal("unknown endpoint");
}

std::optional<size_t> metadata_limit(const routing::Params& params) {
  const std::optional<std::string_view> v = params.first("limit");
  if (!v || v->empty()) {
    return std::nullopt;
  }
  size_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n == 0) {
    return std::nullopt;
  }
  return n;
}

}  // namespace obsgate::gateway::prom_api
