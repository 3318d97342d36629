#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "gateway/steps/prometheus/visible_names.h"

// Pure (no client): kept apart from the fetcher so the fuzz target links without Beast.
namespace obsgate::gateway::prom_api {

Result<std::set<std::string>> parse_label_values(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Status::unavailable("label values: not a JSON object");
  }
  const auto& o = v.get_object();
  const auto* status = o.if_contains("status");
  const auto* data = o.if_contains("data");
  if (status == nullptr || !status->is_string() || status->get_string() != "success" ||
      data == nullptr || !data->is_array()) {
    return Status::unavailable("label values: not a success response with a data list");
  }
  std::set<std::string> out;
  for (const auto& n : data->get_array()) {
    if (!n.is_string()) {
      return Status::unavailable("label values: a value is not a string");
    }
    out.emplace(n.get_string().data(), n.get_string().size());
  }
  return out;
}

}  // namespace obsgate::gateway::prom_api
