// The endpoint table of a query API step (prometheus, loki): route path patterns mapped to an
// endpoint enum and its metrics name, plus the one pattern with a path parameter, label values
// ("<prefix>{name}/values", the parameter may have any name). Header-only; constexpr data.
//
//   constexpr query_api::EndpointTable<Endpoint, 2> kTable{
//       {{{"/api/v1/query", Endpoint::kQuery, "query"},
//         {"/api/v1/labels", Endpoint::kLabels, "labels"}}},
//       "/api/v1/label/{",  // the label-values pattern's prefix
//       Endpoint::kLabelValues};
//   kTable.find("/api/v1/label/{name}/values")  // Endpoint::kLabelValues
//   kTable.name(Endpoint::kLabels)              // "labels" (metrics label)
//
// An entry with an empty path is never matched by path.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace obsgate::gateway::query_api {

inline constexpr std::string_view kLabelValuesSuffix = "}/values";

template <typename E>
struct PathEntry {
  std::string_view path;
  E endpoint;
  std::string_view name;  // for metrics labels
};

// "<prefix><param>}/values" with a non-empty parameter that holds no '/'.
inline bool is_label_values_pattern(std::string_view p, std::string_view prefix) {
  return p.size() > prefix.size() + kLabelValuesSuffix.size() &&
         p.substr(0, prefix.size()) == prefix &&
         p.substr(p.size() - kLabelValuesSuffix.size()) == kLabelValuesSuffix &&
         p.find('/', prefix.size()) == p.size() - kLabelValuesSuffix.size() + 1;
}

template <typename E, size_t N>
struct EndpointTable {
  std::array<PathEntry<E>, N> paths;
  std::string_view label_values_prefix;  // e.g. "/api/v1/label/{"
  E label_values;

  // The endpoint a route path pattern serves; nullopt for anything else.
  [[nodiscard]] std::optional<E> find(std::string_view route_path) const {
    for (const auto& e : paths) {
      if (!e.path.empty() && e.path == route_path) {
        return e.endpoint;
      }
    }
    if (is_label_values_pattern(route_path, label_values_prefix)) {
      return label_values;
    }
    return std::nullopt;
  }

  // The first entry's name for the endpoint; label values are always "label_values".
  [[nodiscard]] std::string_view name(E e) const noexcept {
    if (e == label_values) {
      return "label_values";
    }
    for (const auto& p : paths) {
      if (p.endpoint == e) {
        return p.name;
      }
    }
    return "unknown";
  }

  // The path parameter's name in a label-values pattern ("name" for ".../{name}/values").
  [[nodiscard]] std::string label_param_name(std::string_view route_path) const {
    if (!is_label_values_pattern(route_path, label_values_prefix)) {
      return {};
    }
    return std::string(route_path.substr(
        label_values_prefix.size(),
        route_path.size() - label_values_prefix.size() - kLabelValuesSuffix.size()));
  }
};

}  // namespace obsgate::gateway::query_api
