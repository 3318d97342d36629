#include "gateway/identity/metrics.h"

namespace obsgate::gateway::identity {

std::string_view refresh_result_name(RefreshResult r) {
  switch (r) {
    case RefreshResult::kOk:
      return "ok";
    case RefreshResult::kFetchError:
      return "fetch_error";
    case RefreshResult::kInvalid:
      return "invalid";
    case RefreshResult::kTimeout:
      return "timeout";
  }
  return "fetch_error";
}

JwksMetrics::JwksMetrics(prometheus::Registry& reg)
    : refresh_total(prometheus::BuildCounter()
                        .Name("obsgate_jwks_refresh_total")
                        .Help("JWKS fetches per OpenID provider, by outcome")
                        .Register(reg)),
      keys(prometheus::BuildGauge()
               .Name("obsgate_jwks_keys")
               .Help("Usable keys in the provider's current JWK Set")
               .Register(reg)),
      last_success(prometheus::BuildGauge()
                       .Name("obsgate_jwks_last_success_timestamp_seconds")
                       .Help("Unix time of the provider's last successful JWKS load")
                       .Register(reg)) {}

ProviderMetrics::ProviderMetrics(JwksMetrics& m, const std::string& provider)
    : m_(m),
      keys_(&m.keys.Add({{"provider", provider}})),
      last_success_(&m.last_success.Add({{"provider", provider}})) {
  for (int i = 0; i < kRefreshResults; ++i) {
    refresh_[i] = &m.refresh_total.Add(
        {{"provider", provider},
         {"result", std::string(refresh_result_name(static_cast<RefreshResult>(i)))}});
  }
}

void ProviderMetrics::loaded(std::size_t keys, double wall_seconds) {
  keys_->Set(static_cast<double>(keys));
  last_success_->Set(wall_seconds);
}

void ProviderMetrics::remove() {
  for (auto* c : refresh_) {
    m_.refresh_total.Remove(c);
  }
  m_.keys.Remove(keys_);
  m_.last_success.Remove(last_success_);
}

}  // namespace obsgate::gateway::identity
