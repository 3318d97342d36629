#include "gateway/core/deadline_stream.h"

#include <time.h>

namespace obsgate::gateway {

namespace deadline_detail {

void Core::arm(Clock::time_point at, const std::shared_ptr<Core>& self) {
  armed_at = at;
  const uint64_t seq = ++arm_seq;
  ++arm_count;
  // Moving the expiry cancels a wait already pending; its completion carries an older seq.
  timer.expires_at(at);
  timer.async_wait([self, seq](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) {
      return;  // re-armed earlier, closed or destroyed
    }
    self->on_timer(seq, self);
  });
}

void Core::on_timer(uint64_t seq, const std::shared_ptr<Core>& self) {
  if (seq != arm_seq) {
    return;  // fired just before being re-armed: the newer wait decides
  }
  armed_at = Clock::time_point::max();
  // Only pending operations can time out; their deadlines were fixed when they started.
  Clock::time_point next = Clock::time_point::max();
  for (int d = 0; d < 2; ++d) {
    if (pending[d] > 0 && op_deadline[d] < next) {
      next = op_deadline[d];
    }
  }
  if (next == Clock::time_point::max()) {
    return;  // nothing pending: the next operation arms the timer again if it needs one
  }
  if (next <= Clock::now()) {
    // As Beast does: close, so that every pending operation completes now, and report their
    // failures as timeouts.
    timed_out = true;
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  arm(next, self);
}

}  // namespace deadline_detail

DeadlineStream::DeadlineStream(socket_type socket)
    : core_(std::make_shared<deadline_detail::Core>(std::move(socket))) {}

DeadlineStream::DeadlineStream(const executor_type& ex)
    : core_(std::make_shared<deadline_detail::Core>(ex)) {}

DeadlineStream::~DeadlineStream() {
  if (core_) {
    close();
  }
}

void DeadlineStream::close() {
  boost::system::error_code ignored;
  core_->socket.close(ignored);
  // The timer's handler holds the core: cancel it so that the core is freed now, not when the
  // deadline would have passed.
  if (core_->armed_at != time_point::max()) {
    core_->armed_at = time_point::max();
    ++core_->arm_seq;
    core_->timer.cancel();
  }
}

DeadlineStream::time_point DeadlineStream::deadline_after(
    deadline_detail::Clock::duration d) noexcept {
  // The coarse clock lags CLOCK_MONOTONIC by up to about one tick (its resolution; measured up
  // to 1.7 ticks): twice the resolution is added so that a deadline is never early. A
  // function-local constant, read once.
  static const deadline_detail::Clock::duration kLag = [] {
    timespec res{};
    if (::clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0) {
      return deadline_detail::Clock::duration(std::chrono::milliseconds(20));
    }
    return 2 * std::chrono::duration_cast<deadline_detail::Clock::duration>(
                   std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec));
  }();
  const time_point now = coarse_now();
  if (d <= deadline_detail::Clock::duration::zero()) {
    return now;  // already due: the next operation times out at once
  }
  if (d >= time_point::max() - now - kLag) {
    return time_point::max();
  }
  return now + kLag + d;
}

DeadlineStream::time_point DeadlineStream::coarse_now() noexcept {
  // CLOCK_MONOTONIC_COARSE is steady_clock's clock (CLOCK_MONOTONIC) read without the
  // hardware counter: a few ns instead of ~20, at the cost of about one tick (~1-4 ms) of lag,
  // which deadline_after() compensates.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return time_point(std::chrono::duration_cast<time_point::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace obsgate::gateway
