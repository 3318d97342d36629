// RefreshSchedule on a fake clock: every case is a script of events at given
// times, each with the expected decision, covering both orders of "unknown kid"
// vs "fetch finished" (the fetch finishing before the waiter arrives = inline;
// after = later).
#include "gateway/identity/refresh_schedule.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace obsgate::gateway::identity {
namespace {

using namespace std::chrono_literals;
using UK = RefreshSchedule::UnknownKid;

enum class Op { kDue, kKid, kOk, kFail };
constexpr long kNone = -1;

struct Ev {
  long at_ms;
  Op op;
  long arg = kNone;      // kDue: expected 0/1; kKid: expected UK as int; kOk:
                         // max-age ms or kNone
  long next_ms = kNone;  // after the event: expected next_fetch() (ms since t0),
                         // if not kNone
};

Ev due(long at, bool expect) { return {at, Op::kDue, expect ? 1 : 0}; }
Ev kid(long at, UK expect) { return {at, Op::kKid, static_cast<long>(expect)}; }
Ev ok(long at, long max_age_ms = kNone, long next = kNone) {
  return {at, Op::kOk, max_age_ms, next};
}
Ev fail(long at, long next = kNone) { return {at, Op::kFail, kNone, next}; }

constexpr long kS = 1000;
constexpr long kMin = 60 * kS;
constexpr long kH = 60 * kMin;

struct Case {
  std::string name;
  ScheduleConfig cfg;
  std::vector<Ev> script;
  int failures_after = 0;
  bool loaded_after = true;
};

ScheduleConfig defaults() { return {}; }  // 30 s, [1 min, 24 h], 10 min, backoff 1 s..5 min
ScheduleConfig short_default() {
  ScheduleConfig c;
  c.default_refresh = 20s;
  c.min_refresh = 5s;
  return c;
}

TEST_CASE("RefreshSchedule scripts", "[identity][schedule]") {
  const std::vector<Case> cases = {
      {"first fetch is due at once; default refresh without max-age",
       defaults(),
       {due(0, true), due(0, false), ok(1 * kS, kNone, 1 * kS + 10 * kMin), due(10 * kMin, false),
        due(10 * kMin + kS, true)}},
      {"max-age below min_refresh is raised", defaults(), {due(0, true), ok(0, 5 * kS, kMin)}},
      {"max-age above max_refresh is lowered", defaults(), {due(0, true), ok(0, 48 * kH, 24 * kH)}},
      {"max-age within bounds is used", defaults(), {due(0, true), ok(0, kH, kH)}},
      {"no-cache (0) refreshes at min_refresh", defaults(), {due(0, true), ok(0, 0, kMin)}},
      {"unknown kid while the first fetch is in flight joins it (fetch "
       "finishes later)",
       defaults(),
       {due(0, true), kid(10, UK::kJoin), kid(20, UK::kJoin), ok(500)}},
      {"unknown kids are rate-limited against the last fetch an unknown kid started",
       defaults(),
       {due(0, true), ok(0), kid(0, UK::kStartFetch), kid(0, UK::kJoin), ok(kS),
        kid(kS, UK::kUseCurrent), kid(29 * kS, UK::kUseCurrent), kid(30 * kS, UK::kStartFetch),
        kid(30 * kS, UK::kJoin), ok(31 * kS), kid(31 * kS, UK::kUseCurrent),
        kid(60 * kS, UK::kStartFetch), ok(60 * kS)}},
      {"scheduled refreshes don't count for the unknown-kid rate limit",
       defaults(),
       {due(0, true), ok(0), due(10 * kMin, true), ok(10 * kMin),
        kid(10 * kMin + 10 * kS, UK::kStartFetch), ok(10 * kMin + 11 * kS),
        kid(10 * kMin + 20 * kS, UK::kUseCurrent), kid(10 * kMin + 40 * kS, UK::kStartFetch),
        ok(10 * kMin + 40 * kS)}},
      {"an unknown-kid refresh resets the regular schedule",
       defaults(),
       {due(0, true), ok(0, kNone, 10 * kMin), kid(100 * kS, UK::kStartFetch),
        ok(100 * kS, kNone, 100 * kS + 10 * kMin), due(10 * kMin, false),
        due(100 * kS + 10 * kMin, true), ok(100 * kS + 10 * kMin)}},
      {"a scheduled fetch while an unknown-kid fetch is in flight is not "
       "started",
       defaults(),
       {due(0, true), ok(0), kid(10 * kMin - kS, UK::kStartFetch), due(10 * kMin, false),
        ok(10 * kMin + kS)}},
      {"failures back off exponentially up to 5 min",
       defaults(),
       {due(0, true), fail(0, 1 * kS), due(1 * kS, true), fail(1 * kS, 3 * kS), due(3 * kS, true),
        fail(3 * kS, 7 * kS), due(7 * kS, true), fail(7 * kS, 15 * kS)},
       4,
       false},
      {"backoff is capped by a short default_refresh",
       short_default(),
       {due(0, true), fail(0), due(kS, true), fail(kS), due(3 * kS, true), fail(3 * kS),
        due(7 * kS, true), fail(7 * kS), due(15 * kS, true), fail(15 * kS, 31 * kS),
        due(31 * kS, true), fail(31 * kS, 51 * kS)},
       6,
       false},
      {"a success resets the failure count and keeps schedule",
       defaults(),
       {due(0, true), fail(0), due(kS, true), fail(kS), due(3 * kS, true),
        ok(3 * kS, kNone, 3 * kS + 10 * kMin)}},
      {"a failure after a load keeps it loaded (last good set stays)",
       defaults(),
       {due(0, true), ok(0), due(10 * kMin, true), fail(10 * kMin, 10 * kMin + kS)},
       1,
       true},
      {"never loaded: unknown kids start fetches, rate-limited, and back off on "
       "failure",
       defaults(),
       {due(0, true), fail(0, kS), kid(500, UK::kStartFetch), fail(600), kid(700, UK::kUseCurrent),
        due(3 * kS, true), fail(3 * kS), kid(4 * kS, UK::kUseCurrent),
        kid(31 * kS, UK::kStartFetch), fail(31 * kS, 39 * kS)},
       4,
       false},
      {"timer firing early is not due",
       defaults(),
       {due(0, true), ok(0), due(5 * kMin, false), due(10 * kMin - 1, false), due(10 * kMin, true),
        ok(10 * kMin)}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const auto t0 = std::chrono::steady_clock::time_point{} + 1000h;
      RefreshSchedule s(c.cfg, t0);
      for (std::size_t i = 0; i < c.script.size(); ++i) {
        const Ev& e = c.script[i];
        CAPTURE(i, e.at_ms);
        const auto now = t0 + std::chrono::milliseconds(e.at_ms);
        switch (e.op) {
          case Op::kDue:
            CHECK(s.start_due(now) == (e.arg == 1));
            break;
          case Op::kKid:
            CHECK(static_cast<long>(s.on_unknown_kid(now)) == e.arg);
            break;
          case Op::kOk:
            REQUIRE(s.fetching());
            s.on_success(now, e.arg == kNone ? std::nullopt
                                             : std::optional(std::chrono::milliseconds(e.arg)));
            CHECK(!s.fetching());
            break;
          case Op::kFail:
            REQUIRE(s.fetching());
            s.on_failure(now);
            CHECK(!s.fetching());
            break;
        }
        if (e.next_ms != kNone) {
          CHECK(s.next_fetch() - t0 == std::chrono::milliseconds(e.next_ms));
        }
      }
      CHECK(s.consecutive_failures() == c.failures_after);
      CHECK(s.loaded() == c.loaded_after);
    }
  }
}

TEST_CASE("RefreshSchedule backoff and refresh intervals", "[identity][schedule]") {
  const RefreshSchedule s(defaults(), {});
  struct BackoffCase {
    int failures;
    long expect_ms;
  };
  const std::vector<BackoffCase> backoffs = {{1, 1 * kS},    {2, 2 * kS},     {3, 4 * kS},
                                      {8, 128 * kS},  {9, 256 * kS},   {10, 300 * kS},
                                      {40, 300 * kS}, {1000, 300 * kS}};
  for (const auto& c : backoffs) {
    DYNAMIC_SECTION("backoff after " << c.failures) {
      CHECK(s.backoff(c.failures) == std::chrono::milliseconds(c.expect_ms));
    }
  }
  struct Interval {
    std::optional<long> max_age_ms;
    long expect_ms;
  };
  const std::vector<Interval> intervals = {{std::nullopt, 10 * kMin},
                                           {0, kMin},
                                           {59 * kS, kMin},
                                           {kMin + 1, kMin + 1},
                                           {25 * kH, 24 * kH}};
  for (const auto& c : intervals) {
    DYNAMIC_SECTION("interval for max-age " << c.max_age_ms.value_or(-1)) {
      std::optional<std::chrono::milliseconds> m;
      if (c.max_age_ms) {
        m = std::chrono::milliseconds(*c.max_age_ms);
      }
      CHECK(s.refresh_interval(m) == std::chrono::milliseconds(c.expect_ms));
    }
  }
}

}  // namespace
}  // namespace obsgate::gateway::identity
