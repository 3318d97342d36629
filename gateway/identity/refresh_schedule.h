// The pure scheduling core of one provider's key fetching: when the next fetch is due and
// whether a token with an unknown kid may trigger one. No clock reads, no I/O: every call takes
// `now`, so tests drive it on a fake clock through every order of events.
//
// States: kIdle (no fetch in flight; next_fetch() says when one is due) and kFetching (exactly
// one fetch in flight). Every fetch start goes through start_due() or on_unknown_kid() returning
// kStartFetch, and must be followed by exactly one on_success() or on_failure().
//
// Rules:
//   - the first fetch is due at construction;
//   - after a success: next = now + clamp(max_age or default_refresh, min_refresh, max_refresh);
//   - after a failure: next = now + backoff, backoff = 1 s * 2^(failures-1), capped at
//     min(5 min, default_refresh); the cap keeps a provider that never answered from waiting
//     long once it comes up;
//   - an unknown kid joins a fetch in flight; otherwise starts one only if the last fetch that
//     an unknown kid started is at least refetch_interval ago; otherwise it uses the current set.
//     Scheduled fetches don't count: an IdP that signs with a new key as soon as it publishes it
//     would otherwise see its tokens refused for up to refetch_interval after every refresh. The
//     IdP's load stays bounded: at most one token-driven fetch per refetch_interval plus one
//     scheduled fetch per min_refresh;
//   - an unknown-kid fetch that succeeds also resets the regular schedule (it is a refresh).
//
// Thread-safety: none; the owner serialises calls (KeyProvider holds a mutex).
#pragma once

#include <chrono>
#include <optional>

namespace obsgate::gateway::identity {

struct ScheduleConfig {
  std::chrono::milliseconds refetch_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds min_refresh{std::chrono::minutes(1)};
  std::chrono::milliseconds max_refresh{std::chrono::hours(24)};
  std::chrono::milliseconds default_refresh{std::chrono::minutes(10)};
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
};

class RefreshSchedule final {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::milliseconds;
  enum class State { kIdle, kFetching };
  enum class UnknownKid { kStartFetch, kJoin, kUseCurrent };

  RefreshSchedule(const ScheduleConfig& cfg, TimePoint now);

  // The refresh timer fired (or a check): true when a fetch is due now and none
  // is in flight; the caller must start it (state becomes kFetching).
  [[nodiscard]] bool start_due(TimePoint now);
  // A token named a kid the current set lacks. kStartFetch: the caller must
  // start a fetch (state becomes kFetching) and wait for it; kJoin: wait for
  // the fetch in flight; kUseCurrent: rate-limited, answer with the current set
  // now.
  [[nodiscard]] UnknownKid on_unknown_kid(TimePoint now);
  // The fetch in flight ended. max_age: the response's Cache-Control max-age,
  // if any.
  void on_success(TimePoint now, std::optional<Duration> max_age);
  void on_failure(TimePoint now);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool fetching() const { return state_ == State::kFetching; }
  // When start_due() becomes true (only meaningful in kIdle).
  [[nodiscard]] TimePoint next_fetch() const { return next_; }
  [[nodiscard]] bool loaded() const { return loaded_; }
  [[nodiscard]] int consecutive_failures() const { return failures_; }
  // The refresh interval a response with this max-age gets.
  [[nodiscard]] Duration refresh_interval(std::optional<Duration> max_age) const;
  // The wait after the n-th consecutive failure (n >= 1).
  [[nodiscard]] Duration backoff(int n) const;

 private:
  void start();

  ScheduleConfig cfg_;
  State state_ = State::kIdle;
  TimePoint next_;
  std::optional<TimePoint> last_kid_start_;  // the last fetch an unknown kid started
  bool loaded_ = false;
  int failures_ = 0;
};

}  // namespace obsgate::gateway::identity
