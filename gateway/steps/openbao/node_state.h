// OpenBao state that outlives one request: the metrics token read from `token_file`, the
// cached active node, each node's last health, and the module's self-metrics.
//
// Self-metrics (CONVENTIONS #11; `node` values come from the config, `result`/`state` from the
// enums below, so cardinality is fixed per config):
//   obsgate_openbao_scrapes_total{node,result}        one per metrics request sent to a node
//   obsgate_openbao_node_health_state{node,state}     1 for the node's last known state, else 0
//   obsgate_openbao_token_reloads_total{result}       token file (re)reads: ok, error
//   obsgate_openbao_active_lookups_total{result}      health sweeps for the active node: found,
//                                                     none
//
// Owned by the server across config reloads (Services::openbao), or, when the server does not
// provide one, by the steps of one config generation. Thread-safe: every member may be called
// from any worker thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace obsgate::gateway::openbao {

// A node's state from GET /v1/sys/health (OpenBao's default status codes), or why it could
// not be asked.
enum class Health : uint8_t {
  kActive,         // 200
  kStandby,        // 429
  kDrSecondary,    // 472
  kPerfStandby,    // 473
  kUninitialized,  // 501
  kSealed,         // 503
  kUnreachable,    // connect/TLS/I/O failure or timeout
  kUnknown,        // any other answer
};
inline constexpr size_t kHealthCount = 8;

// "active", "standby", "dr_secondary", "perf_standby", "uninitialized", "sealed",
// "unreachable", "unknown".
std::string_view health_name(Health h) noexcept;
Health health_from_status(unsigned status) noexcept;

enum class ScrapeResult : uint8_t {
  kOk,           // 200 and, for the fan-out, a valid exposition
  kTimeout,      // scrape_timeout passed
  kUnreachable,  // connect/TLS/I/O failure
  kBadStatus,    // an answer other than 200
  kInvalid,      // 200 but not a valid text-format exposition (fan-out only)
  kTooLarge,     // over the buffered body cap
};
inline constexpr size_t kScrapeResultCount = 6;
std::string_view scrape_result_name(ScrapeResult r) noexcept;

class NodeState {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;

  virtual ~NodeState() = default;

  // `registry` may be null (no metrics). `now` defaults to steady_clock::now.
  static std::unique_ptr<NodeState> create(prometheus::Registry* registry, Now now = {});

  // The token in `path` (surrounding whitespace trimmed). The file is stat()ed on every call
  // and re-read when its inode, size or modification time changed; a file that cannot be read
  // or is empty is an error (Unavailable) and is tried again on the next call.
  virtual Result<std::string> token(const std::string& path) = 0;

  // The active node recorded less than `ttl` ago, if any.
  virtual std::optional<std::string> cached_active(std::chrono::milliseconds ttl) = 0;
  virtual void set_active(const std::string& node) = 0;
  // After a failure talking to the cached active node: the next request re-checks health.
  virtual void forget_active() = 0;
  virtual void count_active_lookup(bool found) = 0;

  virtual void set_health(const std::string& node, Health h) = 0;
  virtual void count_scrape(const std::string& node, ScrapeResult r) = 0;
};

}  // namespace obsgate::gateway::openbao
