// KeyRegistry and the per-provider fetcher. The decisions (when to fetch,
// whether an unknown kid may trigger a fetch) are RefreshSchedule's; this file
// only adds the mutex, the timer, the waiters and the metrics around it.
#include "gateway/identity/key_registry.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>

#include "gateway/core/log.h"
#include "gateway/identity/key_source.h"
#include "gateway/identity/metrics.h"
#include "gateway/identity/refresh_schedule.h"

namespace obsgate::gateway::identity {

namespace {

namespace asio = boost::asio;
using authz::jwt::KeySetPtr;

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
};

RefreshResult result_of(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return RefreshResult::kOk;
    case Code::kDeadlineExceeded:
      return RefreshResult::kTimeout;
    case Code::kInvalidArgument:
    case Code::kResourceExhausted:
      return RefreshResult::kInvalid;
    default:
      return RefreshResult::kFetchError;
  }
}

ScheduleConfig schedule_config(const ProviderKeysConfig& c) {
  ScheduleConfig s;
  s.refetch_interval = c.refetch_interval;
  s.min_refresh = c.min_refresh;
  s.max_refresh = c.max_refresh;
  s.default_refresh = c.default_refresh;
  return s;
}

using LogFn = std::function<void(std::string_view)>;

class Provider final : public KeyProvider, public std::enable_shared_from_this<Provider> {
 public:
  Provider(ProviderKeysConfig cfg, std::unique_ptr<KeySource> source, asio::any_io_executor ex,
           const Clock& clock, JwksMetrics& metrics, LogFn log, KeySetPtr seed)
      : cfg_(std::move(cfg)),
        source_(std::move(source)),
        strand_(asio::make_strand(ex)),
        timer_(strand_),
        clock_(clock),
        log_(std::move(log)),
        schedule_(schedule_config(cfg_), clock.now()),
        current_(std::move(seed)),
        metrics_(metrics, cfg_.name) {}

  const std::string& name() const override { return cfg_.name; }
  const ProviderKeysConfig& config() const { return cfg_; }

  KeySetPtr current() const override {
    std::lock_guard lock(mu_);
    return current_;
  }

  bool loaded_once() const {
    std::lock_guard lock(mu_);
    return schedule_.loaded();
  }

  // The first fetch (due at construction).
  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->on_timer(); });
  }

  void stop() {
    std::vector<Waiter> waiters;
    KeySetPtr keys;
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        return;
      }
      stopped_ = true;
      metrics_.remove();
      waiters.swap(waiters_);
      keys = current_;
    }
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    for (auto& w : waiters) {
      w(keys);
    }
  }

  // Not a coroutine itself: GCC 12 mishandles non-trivial by-value parameters of coroutines
  // (a double free seen with a prvalue argument), so the state goes to the heap and the
  // coroutine below takes one raw pointer.
  asio::awaitable<KeySetPtr> refetch_for_unknown_kid(KeySetPtr seen) override {
    return refetch_coro(new RefetchCall{shared_from_this(), std::move(seen)});
  }

 private:
  using Waiter = std::function<void(KeySetPtr)>;
  struct RefetchCall {
    std::shared_ptr<Provider> self;  // keeps the provider alive while the caller waits
    KeySetPtr seen;
  };

  static asio::awaitable<KeySetPtr> refetch_coro(RefetchCall* raw) {
    const std::unique_ptr<RefetchCall> call(raw);
    // The initiation captures raw pointers only (GCC 12 corrupts non-trivial captures of an
    // async_initiate lambda under use_awaitable, asio issue 1007); `call` outlives the wait.
    RefetchCall* c = call.get();
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(KeySetPtr)>(
        [c](auto handler) {
          auto work = asio::make_work_guard(asio::get_associated_executor(handler));
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          c->self->begin_refetch(c->seen, [h, work](KeySetPtr keys) {
            asio::post(work.get_executor(),
                       [h, keys = std::move(keys)]() mutable { (*h)(std::move(keys)); });
          });
        },
        asio::use_awaitable);
  }

  // The decision and the waiter's registration happen under one lock, so a fetch that ends at
  // the same moment either sees the waiter or has already published its set. `w` is called
  // exactly once (it posts to the caller's executor; never inline).
  void begin_refetch(const KeySetPtr& seen, Waiter w) {
    bool start_fetch = false;
    KeySetPtr answer_now;
    bool answer = false;
    {
      std::lock_guard lock(mu_);
      if (stopped_ || (current_ && current_ != seen)) {
        answer = true;  // stopped, or a newer set than the caller's exists already
      } else {
        switch (schedule_.on_unknown_kid(clock_.now())) {
          case RefreshSchedule::UnknownKid::kUseCurrent:
            answer = true;
            break;
          case RefreshSchedule::UnknownKid::kStartFetch:
            start_fetch = true;
            waiters_.push_back(std::move(w));
            break;
          case RefreshSchedule::UnknownKid::kJoin:
            waiters_.push_back(std::move(w));
            break;
        }
      }
      answer_now = current_;
    }
    if (answer) {
      w(std::move(answer_now));
    }
    if (start_fetch) {
      // Posted, never run inline: the fetch takes mu_ when it completes.
      asio::post(strand_, [p = shared_from_this()] { p->spawn_fetch(); });
    }
  }

  // On the strand.
  void on_timer() {
    {
      std::lock_guard lock(mu_);
      if (stopped_) {
        return;
      }
      if (!schedule_.start_due(clock_.now())) {
        arm_timer_locked();
        return;
      }
    }
    spawn_fetch();
  }

  // On the strand; mu_ not held.
  void spawn_fetch() { // A named argument: GCC 12 destroys a prvalue passed to a coroutine's by-value parameter
    // twice (the same bug bit the test server with a braced temporary).
    std::shared_ptr<Provider> self = shared_from_this();
    asio::co_spawn(strand_, run_fetch(self), asio::detached); }

  // On the strand, mu_ held. Not while fetching: the fetch re-arms when it
  // ends.
  void arm_timer_locked() {
    if (stopped_ || schedule_.fetching()) {
      return;
    }
    const auto wait = schedule_.next_fetch() - clock_.now();
    timer_.expires_after(std::max(wait, std::chrono::steady_clock::duration::zero()));
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!ec && self) {
        self->on_timer();
      }
    });
  }

  static asio::awaitable<void> run_fetch(std::shared_ptr<Provider> self) {
    Result<FetchedKeys> r = co_await self->source_->fetch();
    std::vector<Waiter> waiters;
    KeySetPtr keys;
    bool stopped = false;
    {
      std::lock_guard lock(self->mu_);
      stopped = self->stopped_;
      const auto now = self->clock_.now();
      if (r.ok()) {
        self->current_ = r->keys;
        self->schedule_.on_success(now, r->max_age);
      } else {
        self->schedule_.on_failure(now);
      }
      if (!self->stopped_) {
        self->metrics_.refreshed(result_of(r.status()));
        if (r.ok()) {
          const auto wall =
              std::chrono::duration<double>(self->clock_.wall_now().time_since_epoch());
          self->metrics_.loaded(r->keys->keys().size(), wall.count());
        }
        self->arm_timer_locked();
      }
      waiters.swap(self->waiters_);
      keys = self->current_;
    }
    if (stopped) {
      // Stopped meanwhile: the registry (and whoever receives the log) may be
      // going away.
    } else if (!r.ok()) {
      self->log_("jwks refresh failed: provider=" + self->cfg_.name + " " + r.status().to_string() +
                 " (keeping the previous key set)");
    } else {
      for (const auto& s : r->keys->skipped()) {
        self->log_("jwks: provider=" + self->cfg_.name + " skipped key " + std::to_string(s.index) +
                   " (kid '" + s.kid + "'): " + s.reason);
      }
    }
    for (auto& w : waiters) {
      w(keys);
    }
  }

  const ProviderKeysConfig cfg_;
  const std::unique_ptr<KeySource> source_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer timer_;  // touched on the strand only
  const Clock& clock_;
  const LogFn log_;

  mutable std::mutex mu_;
  RefreshSchedule schedule_;
  KeySetPtr current_;
  std::vector<Waiter> waiters_;
  bool stopped_ = false;
  ProviderMetrics metrics_;
};

}  // namespace

const Clock& Clock::real() {
  static const RealClock clock;  // trivially destructible in effect; no state
  return clock;
}

struct KeyRegistry::State {
  asio::any_io_executor ex;
  const Clock* clock;
  std::function<std::unique_ptr<KeySource>(const ProviderKeysConfig&)> make_source;
  LogFn log;
  JwksMetrics metrics;
  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<Provider>, std::less<>> providers;

  State(asio::any_io_executor e, prometheus::Registry& reg, KeyRegistryOptions o)
      : ex(std::move(e)),
        clock(o.clock != nullptr ? o.clock : &Clock::real()),
        make_source(o.make_source ? std::move(o.make_source) : make_key_source),
        log(o.log ? std::move(o.log) : LogFn([](std::string_view m) { log_event("warn", m); })),
        metrics(reg) {}
};

KeyRegistry::KeyRegistry(asio::any_io_executor ex, prometheus::Registry& metrics,
                         KeyRegistryOptions options)
    : state_(std::make_shared<State>(std::move(ex), metrics, std::move(options))) {}

KeyRegistry::~KeyRegistry() { stop(); }

void KeyRegistry::sync(const std::vector<ProviderKeysConfig>& providers) {
  std::map<std::string, std::shared_ptr<Provider>, std::less<>> next;
  std::vector<std::shared_ptr<Provider>> to_start;
  std::lock_guard lock(state_->mu);
  for (const auto& cfg : providers) {
    if (next.count(cfg.name) != 0) {
      state_->log("jwks: duplicate provider name '" + cfg.name + "' ignored");
      continue;
    }
    KeySetPtr seed;
    auto it = state_->providers.find(cfg.name);
    if (it != state_->providers.end()) {
      if (it->second->config() == cfg) {
        next.emplace(cfg.name, it->second);  // unchanged: keeps keys and timers
        state_->providers.erase(it);
        continue;
      }
      // Changed: the old one stops first (its metric series go), the new one
      // starts from its keys when the issuer is the same, so a reload does not
      // make /readyz flap.
      if (it->second->config().issuer == cfg.issuer) {
        seed = it->second->current();
      }
      it->second->stop();
      state_->providers.erase(it);
    }
    auto p = std::make_shared<Provider>(cfg, state_->make_source(cfg), state_->ex, *state_->clock,
                                        state_->metrics, state_->log, seed);
    next.emplace(cfg.name, p);
    to_start.push_back(std::move(p));
  }
  for (auto& [name, p] : state_->providers) {
    p->stop();  // removed from the config
  }
  state_->providers = std::move(next);
  for (auto& p : to_start) {
    p->start();
  }
}

KeyProviderPtr KeyRegistry::find(std::string_view name) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->providers.find(name);
  return it == state_->providers.end() ? nullptr : it->second;
}

bool KeyRegistry::ready() const { return not_ready().empty(); }

std::vector<std::string> KeyRegistry::not_ready() const {
  std::vector<std::string> out;
  std::lock_guard lock(state_->mu);
  for (const auto& [name, p] : state_->providers) {
    if (!p->loaded_once() && !p->current()) {
      out.push_back(name);
    }
  }
  return out;
}

void KeyRegistry::stop() {
  std::lock_guard lock(state_->mu);
  for (auto& [name, p] : state_->providers) {
    p->stop();
  }
  state_->providers.clear();
}

}  // namespace obsgate::gateway::identity
