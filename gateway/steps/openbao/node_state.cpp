#include "gateway/steps/openbao/node_state.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <map>
#include <mutex>

namespace obsgate::gateway::openbao {

namespace {

constexpr size_t kMaxTokenBytes = 64 * 1024;
constexpr int64_t kRacyWindowNs = 2'000'000'000;

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

class NodeStateImpl final : public NodeState {
 public:
  NodeStateImpl(prometheus::Registry* registry, Now now) : now_(std::move(now)) {
    if (registry == nullptr) {
      return;
    }
    scrapes_ = &prometheus::BuildCounter()
                    .Name("obsgate_openbao_scrapes_total")
                    .Help("Metrics requests obsgate sent to OpenBao nodes, by node and result")
                    .Register(*registry);
    health_ = &prometheus::BuildGauge()
                   .Name("obsgate_openbao_node_health_state")
                   .Help("1 for each OpenBao node's last known health state, 0 for the others")
                   .Register(*registry);
    auto& reloads = prometheus::BuildCounter()
                        .Name("obsgate_openbao_token_reloads_total")
                        .Help("Reads of the OpenBao token file after it changed, by result")
                        .Register(*registry);
    reload_ok_ = &reloads.Add({{"result", "ok"}});
    reload_error_ = &reloads.Add({{"result", "error"}});
    auto& lookups = prometheus::BuildCounter()
                        .Name("obsgate_openbao_active_lookups_total")
                        .Help("Health sweeps looking for the active OpenBao node, by result")
                        .Register(*registry);
    lookup_found_ = &lookups.Add({{"result", "found"}});
    lookup_none_ = &lookups.Add({{"result", "none"}});
  }

  Result<std::string> token(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return reload_failed(path, "cannot stat");
    }
    const FileId id{st.st_dev, st.st_ino, st.st_size,
                    static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    std::lock_guard lock(mu_);
    // A file modified within kRacyWindow before the last read may have changed again since
    // with the same size and timestamp (coarse mtime ticks): re-read it until it is older.
    const bool racy = read_at_ns_ - id.mtime_ns < kRacyWindowNs;
    if (path == token_path_ && id == token_id_ && !token_.empty() && !racy) {
      return token_;
    }
    std::string text;
    if (!read_small(path, text)) {
      return reload_failed_locked(path, "cannot read");
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    const auto last = text.find_last_not_of(" \t\r\n");
    if (first == std::string::npos) {
      return reload_failed_locked(path, "is empty");
    }
    std::string fresh = text.substr(first, last - first + 1);
    const bool changed = fresh != token_ || path != token_path_;
    token_ = std::move(fresh);
    token_path_ = path;
    token_id_ = id;
    read_at_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (changed && reload_ok_ != nullptr) {
      reload_ok_->Increment();
    }
    return token_;
  }

  std::optional<std::string> cached_active(std::chrono::milliseconds ttl) override {
    std::lock_guard lock(mu_);
    if (active_.empty() || now_() - active_at_ >= ttl) {
      return std::nullopt;
    }
    return active_;
  }

  void set_active(const std::string& node) override {
    std::lock_guard lock(mu_);
    active_ = node;
    active_at_ = now_();
  }

  void forget_active() override {
    std::lock_guard lock(mu_);
    active_.clear();
  }

  void count_active_lookup(bool found) override {
    if (lookup_found_ != nullptr) {
      (found ? lookup_found_ : lookup_none_)->Increment();
    }
  }

  void set_health(const std::string& node, Health h) override {
    if (health_ == nullptr) {
      return;
    }
    std::lock_guard lock(mu_);
    auto it = health_gauges_.find(node);
    if (it == health_gauges_.end()) {
      std::array<prometheus::Gauge*, kHealthCount> g{};
      for (size_t i = 0; i < kHealthCount; ++i) {
        g[i] = &health_->Add(
            {{"node", node}, {"state", std::string(health_name(static_cast<Health>(i)))}});
      }
      it = health_gauges_.emplace(node, g).first;
    }
    for (size_t i = 0; i < kHealthCount; ++i) {
      it->second[i]->Set(i == static_cast<size_t>(h) ? 1 : 0);
    }
  }

  void count_scrape(const std::string& node, ScrapeResult r) override {
    if (scrapes_ == nullptr) {
      return;
    }
    // Family::Add is itself thread-safe and returns the existing child for known labels.
    scrapes_->Add({{"node", node}, {"result", std::string(scrape_result_name(r))}}).Increment();
  }

 private:
  static bool read_small(const std::string& path, std::string& out) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return false;
    }
    char buf[4096];
    size_t n = 0;
    bool ok = true;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
      out.append(buf, n);
      if (out.size() > kMaxTokenBytes) {
        ok = false;
        break;
      }
    }
    ok = ok && std::ferror(f) == 0;
    std::fclose(f);
    return ok;
  }

  Status reload_failed(const std::string& path, const char* what) {
    std::lock_guard lock(mu_);
    return reload_failed_locked(path, what);
  }

  Status reload_failed_locked(const std::string& path, const char* what) {
    // Forget the cached token: a file that went away or broke must not keep a stale token in
    // use (fail closed); the next call tries again.
    token_.clear();
    token_id_ = FileId{};
    if (reload_error_ != nullptr) {
      reload_error_->Increment();
    }
    return Status::unavailable("openbao token file '" + path + "' " + what);
  }

  Now now_;
  std::mutex mu_;
  std::string token_path_;
  FileId token_id_;
  std::string token_;
  int64_t read_at_ns_ = 0;  // wall clock of the last read, in ns since the epoch
  std::string active_;
  std::chrono::steady_clock::time_point active_at_{};
  std::map<std::string, std::array<prometheus::Gauge*, kHealthCount>> health_gauges_;
  prometheus::Family<prometheus::Counter>* scrapes_ = nullptr;
  prometheus::Family<prometheus::Gauge>* health_ = nullptr;
  prometheus::Counter* reload_ok_ = nullptr;
  prometheus::Counter* reload_error_ = nullptr;
  prometheus::Counter* lookup_found_ = nullptr;
  prometheus::Counter* lookup_none_ = nullptr;
};

}  // namespace

std::unique_ptr<NodeState> NodeState::create(prometheus::Registry* registry, Now now) {
  if (!now) {
    now = [] { return std::chrono::steady_clock::now(); };
  }
  return std::make_unique<NodeStateImpl>(registry, std::move(now));
}

std::string_view health_name(Health h) noexcept {
  switch (h) {
    case Health::kActive: return "active";
    case Health::kStandby: return "standby";
    case Health::kDrSecondary: return "dr_secondary";
    case Health::kPerfStandby: return "perf_standby";
    case Health::kUninitialized: return "uninitialized";
    case Health::kSealed: return "sealed";
    case Health::kUnreachable: return "unreachable";
    case Health::kUnknown: return "unknown";
  }
  return "unknown";
}

Health health_from_status(unsigned status) noexcept {
  switch (status) {
    case 200: return Health::kActive;
    case 429: return Health::kStandby;
    case 472: return Health::kDrSecondary;
    case 473: return Health::kPerfStandby;
    case 501: return Health::kUninitialized;
    case 503: return Health::kSealed;
    default: return Health::kUnknown;
  }
}

std::string_view scrape_result_name(ScrapeResult r) noexcept {
  switch (r) {
    case ScrapeResult::kOk: return "ok";
    case ScrapeResult::kTimeout: return "timeout";
    case ScrapeResult::kUnreachable: return "unreachable";
    case ScrapeResult::kBadStatus: return "bad_status";
    case ScrapeResult::kInvalid: return "invalid";
    case ScrapeResult::kTooLarge: return "too_large";
  }
  return "unknown";
}

}  // namespace obsgate::gateway::openbao
