#include "gateway/identity/refresh_schedule.h"

#include <algorithm>

namespace obsgate::gateway::identity {

RefreshSchedule::RefreshSchedule(const ScheduleConfig& cfg, TimePoint now)
    : cfg_(cfg), next_(now) {}

void RefreshSchedule::start() {
  state_ = State::kFetching;
}

bool RefreshSchedule::start_due(TimePoint now) {
  if (state_ == State::kFetching || now < next_) {
    return false;
  }
  start();
  return true;
}

RefreshSchedule::UnknownKid RefreshSchedule::on_unknown_kid(TimePoint now) {
  if (state_ == State::kFetching) {
    return UnknownKid::kJoin;
  }
  if (last_kid_start_ && now - *last_kid_start_ < cfg_.refetch_interval) {
    return UnknownKid::kUseCurrent;
  }
  start();
  last_kid_start_ = now;
  return UnknownKid::kStartFetch;
}

RefreshSchedule::Duration RefreshSchedule::refresh_interval(std::optional<Duration> max_age) const {
  const Duration d = max_age.value_or(cfg_.default_refresh);
  // max_refresh wins if the bounds are inverted (config validation should
  // prevent that).
  return std::min(std::max(d, cfg_.min_refresh), cfg_.max_refresh);
}

RefreshSchedule::Duration RefreshSchedule::backoff(int n) const {
  const Duration cap =
      std::min(cfg_.backoff_max, std::max(cfg_.default_refresh, cfg_.backoff_initial));
  Duration d = cfg_.backoff_initial;
  for (int i = 1; i < n && d < cap; ++i) {
    d *= 2;
  }
  return std::min(d, cap);
}

void RefreshSchedule::on_success(TimePoint now, std::optional<Duration> max_age) {
  state_ = State::kIdle;
  loaded_ = true;
  failures_ = 0;
  next_ = now + refresh_interval(max_age);
}

void RefreshSchedule::on_failure(TimePoint now) {
  state_ = State::kIdle;
  ++failures_;
  next_ = now + backoff(failures_);
}

}  // namespace obsgate::gateway::identity
