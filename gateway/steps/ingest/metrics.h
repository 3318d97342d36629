// Self-metrics of the ingest steps (remote_write, loki_push), declared once (CONVENTIONS #11):
//   obsgate_ingest_series_total{api, tenant, result, reason}   series (metrics) or streams (logs)
//   obsgate_ingest_samples_total{api, tenant, result, reason}  samples + histograms, or entries
//   obsgate_ingest_request_bytes{api}                          request bodies as received
// api: "remote_write" | "loki_push". tenant: a configured tenant name (bounded by the config).
// result: accepted (the backend answered 2xx), dropped (drop mode: refused by the policy, the rest
// forwarded), rejected (the whole request refused by obsgate), backend_error (forwarded, and
// the backend did not answer 2xx, or did not answer). reason: "ok" for accepted, a filter reason
// (filters::remote_write::reason_name / filters::loki_push::reason_name) for dropped/rejected,
// and for backend_error one of backend_4xx, backend_429, backend_5xx, backend_unreachable.
//
// Thread-safety: prometheus-cpp families and counters are thread-safe; an IngestMetrics is
// shared read-only by every step of a config generation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace obsgate::gateway::ingest {

enum class Api : uint8_t { kRemoteWrite, kLokiPush };
std::string_view api_name(Api a) noexcept;

enum class WriteResult : uint8_t { kAccepted, kDropped, kRejected, kBackendError };
std::string_view result_name(WriteResult r) noexcept;

class IngestMetrics {
 public:
  explicit IngestMetrics(::prometheus::Registry& registry);

  // Adds `series` and `samples` to both families under one label set. Zero adds nothing (the
  // label set is created anyway, so the series exists with 0).
  void count(Api api, std::string_view tenant, WriteResult result, std::string_view reason,
             uint64_t series, uint64_t samples) const;
  void observe_request_bytes(Api api, size_t bytes) const;

 private:
  ::prometheus::Family<::prometheus::Counter>* series_ = nullptr;
  ::prometheus::Family<::prometheus::Counter>* samples_ = nullptr;
  ::prometheus::Histogram* bytes_[2] = {nullptr, nullptr};
};

}  // namespace obsgate::gateway::ingest
