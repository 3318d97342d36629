#include "gateway/steps/loki/detected.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <functional>
#include <utility>

namespace obsgate::gateway::loki_api {

Result<std::string> filter_detected(std::string_view body, std::string_view key,
                                    const std::vector<std::string>& hidden) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Status::unavailable("not a JSON object");
  }
  auto* arr = v.get_object().if_contains(key);
  if (arr == nullptr || arr->is_null()) {
    return std::string(body);  // nothing detected
  }
  if (!arr->is_array()) {
    return Status::unavailable("\"" + std::string(key) + "\" is not an array");
  }
  boost::json::array kept;
  for (auto& entry : arr->get_array()) {
    const auto* label = entry.is_object() ? entry.get_object().if_contains("label") : nullptr;
    if (label == nullptr || !label->is_string()) {
      return Status::unavailable("an entry of \"" + std::string(key) + "\" has no label");
    }
    const std::string_view name(label->get_string().data(), label->get_string().size());
    if (!std::binary_search(hidden.begin(), hidden.end(), name, std::less<>())) {
      kept.push_back(std::move(entry));
    }
  }
  *arr = std::move(kept);
  return boost::json::serialize(v);
}

}  // namespace obsgate::gateway::loki_api
