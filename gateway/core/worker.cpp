#include "gateway/core/worker.h"

#include <array>

namespace obsgate::gateway {

prometheus::Counter& Worker::request_counter(std::string_view route,
                                             std::string_view method, unsigned status) {
  static constexpr std::array<std::string_view, 7> kMethods = {
      "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"};
  std::string_view m = "other";
  for (auto k : kMethods) {
    if (k == method) {
      m = k;
    }
  }
  key_.assign(route);
  key_ += '\n';
  key_ += m;
  key_ += '\n';
  key_ += std::to_string(status);
  auto it = request_counters_.find(key_);
  if (it != request_counters_.end()) {
    return *it->second;
  }
  auto& c = shared_.metrics->requests.Add({{"route", std::string(route)},
                                           {"method", std::string(m)},
                                           {"code", std::to_string(status)}});
  request_counters_.emplace(key_, &c);
  return c;
}

}  // namespace obsgate::gateway
