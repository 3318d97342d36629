// KeyRegistry/KeyProvider with a scripted KeySource: the registry runs on an
// "admin" thread, callers on two "worker" threads, as in the server. Fetch
// answers complete inline (no suspension) or later (after a delay), so both
// orders of "waiter arrives" vs "fetch ends" run.
#include "gateway/identity/key_registry.h"

#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <thread>

#include "tests/gateway/identity/fakes.h"

namespace obsgate::gateway::identity {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using authz::jwt::KeySetPtr;
using testing::has_kid;
using testing::make_keyset;
using testing::Script;

struct Loop {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread{[this] { ioc.run(); }};
  std::thread::id id() const { return thread.get_id(); }
  ~Loop() {
    work.reset();
    ioc.stop();
    thread.join();
  }
};

struct Answer {
  KeySetPtr keys;
  std::thread::id resumed_on;
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

double metric(prometheus::Registry& reg, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  for (const auto& fam : reg.Collect()) {
    if (fam.name != name) {
      continue;
    }
    for (const auto& m : fam.metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label) {
        have[l.name] = l.value;
      }
      if (have == labels) {
        return fam.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
      }
    }
  }
  return -1;
}

Result<FetchedKeys> keys_of(const std::vector<std::string>& kids,
                            std::optional<Duration> max_age = std::nullopt) {
  return FetchedKeys{make_keyset(kids), max_age};
}

struct Fixture {
  // The caller's side, as an authn step would do it. Arguments are kept alive by the fixture
  // and passed as raw pointers (no non-trivial coroutine parameters: see key_registry.cpp).
  struct Call {
    KeyProviderPtr p;
    KeySetPtr seen;
    std::promise<Answer> done;
  };
  std::vector<std::unique_ptr<Call>> calls;  // first: outlives the loops that resume them
  Loop admin;
  Loop worker1;
  Loop worker2;
  prometheus::Registry reg;
  std::map<std::string, std::shared_ptr<Script>> scripts;
  std::mutex log_mu;
  std::vector<std::string> logs;
  KeyRegistry keys{admin.ioc.get_executor(), reg, options()};

  KeyRegistryOptions options() {
    KeyRegistryOptions o;
    o.make_source = [this](const ProviderKeysConfig& c) -> std::unique_ptr<KeySource> {
      return std::make_unique<testing::ScriptedSource>(script(c.name));
    };
    o.log = [this](std::string_view m) {
      std::lock_guard lock(log_mu);
      logs.emplace_back(m);
    };
    return o;
  }
  std::shared_ptr<Script> script(const std::string& name) {
    auto& s = scripts[name];
    if (!s) {
      s = std::make_shared<Script>();
    }
    return s;
  }
  static ProviderKeysConfig cfg(const std::string& name) {
    ProviderKeysConfig c;
    c.name = name;
    c.issuer = "https://" + name + ".test";
    return c;
  }
  static asio::awaitable<void> call_refetch(Call* c) {
    KeySetPtr k = co_await c->p->refetch_for_unknown_kid(c->seen);
    c->done.set_value({k, std::this_thread::get_id()});
  }
  std::future<Answer> refetch(Loop& on, const KeyProviderPtr& p, KeySetPtr seen) {
    calls.push_back(std::make_unique<Call>());
    Call* c = calls.back().get();
    c->p = p;
    c->seen = std::move(seen);
    auto fut = c->done.get_future();
    asio::co_spawn(on.ioc, call_refetch(c), asio::detached);
    return fut;
  }
  bool loaded(const std::string& name, const std::string& kid) {
    return wait_until([&] { return keys.find(name) && has_kid(keys.find(name)->current(), kid); });
  }
  std::size_t log_count() {
    std::lock_guard lock(log_mu);
    return logs.size();
  }
};

TEST_CASE("KeyRegistry: first load, readiness and metrics", "[identity][registry]") {
  Fixture f;
  f.script("a")->push(keys_of({"a1", "a2"}), 50ms);
  f.script("never")->always(Status::unavailable("connection refused"));
  CHECK(f.keys.ready());  // no providers yet
  f.keys.sync({Fixture::cfg("a"), Fixture::cfg("never")});
  CHECK_FALSE(f.keys.ready());
  REQUIRE(f.keys.find("a") != nullptr);
  CHECK(f.keys.find("a")->name() == "a");
  CHECK(f.keys.find("missing") == nullptr);
  REQUIRE(f.loaded("a", "a1"));
  CHECK(has_kid(f.keys.find("a")->current(), "a2"));
  CHECK(f.keys.find("never")->current() == nullptr);
  CHECK_FALSE(f.keys.ready());
  CHECK(f.keys.not_ready() == std::vector<std::string>{"never"});
  CHECK(metric(f.reg, "obsgate_jwks_refresh_total", {{"provider", "a"}, {"result", "ok"}}) == 1);
  CHECK(metric(f.reg, "obsgate_jwks_keys", {{"provider", "a"}}) == 2);
  CHECK(metric(f.reg, "obsgate_jwks_last_success_timestamp_seconds", {{"provider", "a"}}) > 1.7e9);
  REQUIRE(wait_until([&] {
    return metric(f.reg, "obsgate_jwks_refresh_total",
                  {{"provider", "never"}, {"result", "fetch_error"}}) >= 1;
  }));
  CHECK(wait_until([&] { return f.log_count() >= 1; }));
  std::lock_guard lock(f.log_mu);
  CHECK(f.logs.front().find("provider=never") != std::string::npos);
  CHECK(f.logs.front().find("connection refused") != std::string::npos);
}

TEST_CASE("KeyProvider::refetch_for_unknown_kid", "[identity][registry]") {
  struct Case {
    std::string name;
    std::chrono::milliseconds delay;  // of the refetch answer: 0 = inline, else later
    int callers;
    bool newer_seen;  // callers pass an outdated set (a refresh already happened)
  };
  const std::vector<Case> cases = {
      {"one caller, fetch finishes inline", 0ms, 1, false},
      {"one caller, fetch finishes later", 100ms, 1, false},
      {"six callers on two threads share one fetch (later)", 200ms, 6, false},
      {"six callers, fetch finishes inline: each gets the new set", 0ms, 6, false},
      {"caller holding an outdated set gets the current one without a fetch", 0ms, 1, true},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Fixture f;
      auto s = f.script("p");
      s->push(keys_of({"k1"}));
      auto cfg = Fixture::cfg("p");
      cfg.refetch_interval = 0ms;  // the first load does not rate-limit the first refetch
      f.keys.sync({cfg});
      REQUIRE(f.loaded("p", "k1"));
      auto p = f.keys.find("p");
      KeySetPtr seen = p->current();
      REQUIRE(s->fetches == 1);
      s->push(keys_of({"k2", "k1"}), c.delay);
      if (c.newer_seen) {
        seen = make_keyset({"old"});
      }
      std::vector<std::future<Answer>> answers;
      for (int i = 0; i < c.callers; ++i) {
        answers.push_back(f.refetch(i % 2 == 0 ? f.worker1 : f.worker2, p, seen));
      }
      for (int i = 0; i < c.callers; ++i) {
        REQUIRE(answers[i].wait_for(5s) == std::future_status::ready);
        Answer a = answers[i].get();
        CHECK(a.resumed_on == (i % 2 == 0 ? f.worker1.id() : f.worker2.id()));
        if (c.newer_seen) {
          CHECK(has_kid(a.keys, "k1"));
          CHECK_FALSE(has_kid(a.keys, "k2"));
        } else if (c.delay.count() > 0 || c.callers == 1) {
          CHECK(has_kid(a.keys, "k2"));
        } else {
          // Inline: a caller that arrives after the fetch ended holds an
          // outdated set and gets the new one; none may get null or a set
          // without k1.
          CHECK(has_kid(a.keys, "k1"));
        }
      }
      if (c.newer_seen) {
        CHECK(s->fetches == 1);
      } else if (c.delay.count() > 0) {
        CHECK(s->fetches == 2);  // single flight
      } else {
        // With refetch_interval 0 every caller that arrives after the previous
        // fetch ended may start another one; never more than one per caller.
        CHECK(s->fetches >= 2);
        CHECK(s->fetches <= 1 + c.callers);
      }
      CHECK(has_kid(p->current(), c.newer_seen ? "k1" : "k2"));
    }
  }
}

TEST_CASE("KeyProvider: unknown-kid refetches are rate-limited", "[identity][registry]") {
  Fixture f;
  auto s = f.script("p");
  s->push(keys_of({"k1"}));
  auto cfg = Fixture::cfg("p");
  cfg.refetch_interval = 1h;
  f.keys.sync({cfg});
  REQUIRE(f.loaded("p", "k1"));
  auto p = f.keys.find("p");
  s->push(keys_of({"k2"}));
  s->push(keys_of({"k3"}));  // never fetched: the interval holds
  // The start-up fetch is a scheduled one and does not count against the token-driven limit
  // (refresh_schedule.h), so the first unknown kid fetches at once.
  auto first = f.refetch(f.worker1, p, p->current());
  REQUIRE(first.wait_for(5s) == std::future_status::ready);
  CHECK(has_kid(first.get().keys, "k2"));
  for (int i = 0; i < 20; ++i) {
    auto a = f.refetch(f.worker1, p, p->current());
    REQUIRE(a.wait_for(5s) == std::future_status::ready);
    CHECK(has_kid(a.get().keys, "k2"));  // answered at once with the current set
  }
  CHECK(s->fetches == 2);
  CHECK(metric(f.reg, "obsgate_jwks_refresh_total", {{"provider", "p"}, {"result", "ok"}}) == 2);
}

TEST_CASE("KeyProvider: failures keep the last good set", "[identity][registry]") {
  struct Case {
    std::string name;
    Status failure;
    std::string result_label;
  };
  const std::vector<Case> cases = {
      {"unavailable", Status::unavailable("connect: refused"), "fetch_error"},
      {"timeout", Status::deadline_exceeded("timed out"), "timeout"},
      {"invalid document", Status::invalid_argument("no usable key"), "invalid"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Fixture f;
      auto s = f.script("p");
      s->push(keys_of({"k1"}));
      s->always(c.failure);
      auto cfg = Fixture::cfg("p");
      cfg.refetch_interval = 0ms;
      f.keys.sync({cfg});
      REQUIRE(f.loaded("p", "k1"));
      auto p = f.keys.find("p");
      auto a = f.refetch(f.worker1, p, p->current());
      REQUIRE(a.wait_for(5s) == std::future_status::ready);
      CHECK(has_kid(a.get().keys, "k1"));
      CHECK(has_kid(p->current(), "k1"));
      CHECK(f.keys.ready());
      CHECK(metric(f.reg, "obsgate_jwks_refresh_total",
                   {{"provider", "p"}, {"result", c.result_label}}) == 1);
    }
  }
}

TEST_CASE("KeyProvider: scheduled refresh follows max-age, failures back off",
          "[identity][registry]") {
  Fixture f;
  auto s = f.script("p");
  auto cfg = Fixture::cfg("p");
  cfg.min_refresh = 20ms;
  cfg.default_refresh = 1h;
  s->push(keys_of({"k1"}, 20ms));  // max-age 20 ms
  s->push(keys_of({"k2"}, 20ms));
  s->push(Status::unavailable("down"));  // then back off 1 s: no fourth fetch soon
  s->always(keys_of({"k3"}));
  f.keys.sync({cfg});
  REQUIRE(f.loaded("p", "k2"));
  REQUIRE(wait_until([&] { return s->fetches >= 3; }));
  std::this_thread::sleep_for(200ms);
  CHECK(s->fetches == 3);  // backing off (1 s), not hammering
  CHECK(has_kid(f.keys.find("p")->current(), "k2"));
  REQUIRE(f.loaded("p", "k3"));  // the retry after the backoff
}

TEST_CASE("KeyRegistry::sync keeps, replaces and removes providers", "[identity][registry]") {
  Fixture f;
  for (const char* n : {"keep", "change", "drop", "new"}) {
    f.script(n)->always(keys_of({std::string(n) + "-k"}));
  }
  f.keys.sync({Fixture::cfg("keep"), Fixture::cfg("change"), Fixture::cfg("drop")});
  REQUIRE(f.loaded("keep", "keep-k"));
  REQUIRE(f.loaded("change", "change-k"));
  REQUIRE(f.loaded("drop", "drop-k"));
  auto keep = f.keys.find("keep");
  auto change = f.keys.find("change");
  auto drop = f.keys.find("drop");
  const int keep_fetches = f.script("keep")->fetches;

  auto changed = Fixture::cfg("change");
  changed.fetch_timeout = 1s;
  f.script("change")->always(keys_of({"change-k2"}), 300ms);
  f.keys.sync({Fixture::cfg("keep"), changed, Fixture::cfg("new"), Fixture::cfg("keep")});
  CHECK(f.keys.find("keep") == keep);
  CHECK(f.keys.find("change") != change);
  // The replacement serves the old keys (same issuer) until its own load: no
  // readiness flap.
  CHECK(f.keys.find("change")->current() == change->current());
  CHECK(f.keys.find("drop") == nullptr);
  CHECK(has_kid(drop->current(), "drop-k"));  // a held pointer keeps working
  REQUIRE(f.loaded("new", "new-k"));
  REQUIRE(f.loaded("change", "change-k2"));
  CHECK(f.script("keep")->fetches == keep_fetches);
  CHECK(metric(f.reg, "obsgate_jwks_keys", {{"provider", "drop"}}) == -1);  // series removed
  CHECK(metric(f.reg, "obsgate_jwks_keys", {{"provider", "change"}}) == 1);
  std::lock_guard lock(f.log_mu);
  bool dup_logged = false;
  for (const auto& l : f.logs) {
    dup_logged = dup_logged || l.find("duplicate provider name 'keep'") != std::string::npos;
  }
  CHECK(dup_logged);
}

TEST_CASE("KeyRegistry::stop releases waiters with the current set", "[identity][registry]") {
  Fixture f;
  auto s = f.script("p");
  s->push(keys_of({"k1"}));
  s->always(keys_of({"k2"}), 3s);
  auto cfg = Fixture::cfg("p");
  cfg.refetch_interval = 0ms;
  f.keys.sync({cfg});
  REQUIRE(f.loaded("p", "k1"));
  auto p = f.keys.find("p");
  auto a = f.refetch(f.worker1, p, p->current());
  REQUIRE(wait_until([&] { return s->fetches == 2; }));
  f.keys.stop();
  REQUIRE(a.wait_for(2s) == std::future_status::ready);
  CHECK(has_kid(a.get().keys, "k1"));
  CHECK(f.keys.find("p") == nullptr);
}

}  // namespace
}  // namespace obsgate::gateway::identity
