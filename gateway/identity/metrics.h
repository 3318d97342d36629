// Every metric of gateway/identity, declared once (CONVENTIONS #11). Families are registered on
// the registry passed in; per-provider series are added by ProviderMetrics and removed when the
// provider stops.
//
// Thread-safety: prometheus-cpp metrics are thread-safe; add()/remove() are serialised by the
// caller (the provider's mutex).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

namespace obsgate::gateway::identity {

// The outcome label of obsgate_jwks_refresh_total.
enum class RefreshResult { kOk, kFetchError, kInvalid, kTimeout };
constexpr int kRefreshResults = 4;
std::string_view refresh_result_name(RefreshResult r);

struct JwksMetrics {
  explicit JwksMetrics(prometheus::Registry& reg);
  prometheus::Family<prometheus::Counter>& refresh_total;
  prometheus::Family<prometheus::Gauge>& keys;
  prometheus::Family<prometheus::Gauge>& last_success;
};

// One provider's series.
class ProviderMetrics {
 public:
  ProviderMetrics(JwksMetrics& m, const std::string& provider);
  ProviderMetrics(const ProviderMetrics&) = delete;
  ProviderMetrics& operator=(const ProviderMetrics&) = delete;
  ~ProviderMetrics() = default;

  void refreshed(RefreshResult r) { refresh_[static_cast<int>(r)]->Increment(); }
  void loaded(std::size_t keys, double wall_seconds);
  // Drops this provider's series from the registry; the object must not be used
  // afterwards.
  void remove();

 private:
  JwksMetrics& m_;
  prometheus::Counter* refresh_[kRefreshResults];
  prometheus::Gauge* keys_;
  prometheus::Gauge* last_success_;
};

}  // namespace obsgate::gateway::identity
