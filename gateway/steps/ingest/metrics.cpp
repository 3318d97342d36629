#include "gateway/steps/ingest/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

namespace obsgate::gateway::ingest {

std::string_view api_name(Api a) noexcept {
  switch (a) {
    case Api::kRemoteWrite: return "remote_write";
    case Api::kLokiPush: return "loki_push";
  }
  return "unknown";
}

std::string_view result_name(WriteResult r) noexcept {
  switch (r) {
    case WriteResult::kAccepted: return "accepted";
    case WriteResult::kDropped: return "dropped";
    case WriteResult::kRejected: return "rejected";
    case WriteResult::kBackendError: return "backend_error";
  }
  return "unknown";
}

IngestMetrics::IngestMetrics(::prometheus::Registry& registry) {
  series_ = &::prometheus::BuildCounter()
                 .Name("obsgate_ingest_series_total")
                 .Help("Series (remote-write) or streams (Loki push) written, by tenant, result "
                       "and reason")
                 .Register(registry);
  samples_ = &::prometheus::BuildCounter()
                  .Name("obsgate_ingest_samples_total")
                  .Help("Samples and histograms (remote-write) or entries (Loki push) written, "
                        "by tenant, result and reason")
                  .Register(registry);
  auto& bytes = ::prometheus::BuildHistogram()
                    .Name("obsgate_ingest_request_bytes")
                    .Help("Ingest request bodies as received, in bytes")
                    .Register(registry);
  // 1 KiB .. 64 MiB by factors of 4: remote-write batches are usually 10 KiB - 1 MiB.
  const ::prometheus::Histogram::BucketBoundaries buckets{
      1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
  for (Api a : {Api::kRemoteWrite, Api::kLokiPush}) {
    bytes_[static_cast<size_t>(a)] = &bytes.Add({{"api", std::string(api_name(a))}}, buckets);
  }
}

void IngestMetrics::count(Api api, std::string_view tenant, WriteResult result,
                          std::string_view reason, uint64_t series, uint64_t samples) const {
  const std::map<std::string, std::string> labels{{"api", std::string(api_name(api))},
                                                  {"tenant", std::string(tenant)},
                                                  {"result", std::string(result_name(result))},
                                                  {"reason", std::string(reason)}};
  series_->Add(labels).Increment(static_cast<double>(series));
  samples_->Add(labels).Increment(static_cast<double>(samples));
}

void IngestMetrics::observe_request_bytes(Api api, size_t bytes) const {
  bytes_[static_cast<size_t>(api)]->Observe(static_cast<double>(bytes));
}

}  // namespace obsgate::gateway::ingest
