// DeadlineStream: a TCP stream with Beast-style timeouts that cost next to nothing per
// operation.
//
// beast::tcp_stream arms and cancels a steady_timer around every read and write (a timer-queue
// insert and removal, a clock read, a cancelled handler posted and run). A proxy sets a
// timeout before nearly every operation, and those deadlines only ever move a few seconds later.
// Here expires_after() only stores a deadline (read from the coarse monotonic clock), each
// operation remembers the deadline in force when it starts, and one steady_timer per
// connection is armed lazily: when an operation starts with no timer armed, or with a deadline
// earlier than the armed one. When the timer fires it re-arms to the earliest deadline of the
// operations then pending; if that deadline has passed, the socket is closed, and every
// operation that then fails reports beast::error::timeout (as with Beast, the socket stays
// closed after a timeout). A deadline that passes while no operation is pending does nothing
// until an operation starts under it, which then times out at once.
//
// Models AsyncReadStream and AsyncWriteStream, so beast::http::async_read*, asio::async_write
// and beast::ssl_stream<DeadlineStream> work on it; beast::get_lowest_layer() of an ssl_stream
// reaches it. Completion handlers keep their associated executor, allocator and cancellation
// slot (the associator specialisation at the end of this file).
//
// Differences from beast::tcp_stream: deadlines are taken on the coarse monotonic clock plus
// twice its resolution, so a timeout fires up to a few ms late, never early; a deadline changed
// while an operation is pending applies to the next operation, not that one; after a timeout,
// every operation that fails reports timeout (Beast reports operation_aborted for the other
// direction); no rate limiting.
//
// Thread-safety: like a socket. One read and one write may be pending at a time, and the stream
// is used from one thread (or strand) at a time. The destructor closes the socket; operations
// still pending complete with operation_aborted and never touch freed memory.
//
// Usage:
//   DeadlineStream s(std::move(socket));
//   s.expires_after(std::chrono::seconds(10));
//   co_await http::async_read_header(s, buf, parser, redirect(ec));
//   if (ec == beast::error::timeout) { ... }
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace obsgate::gateway {

namespace deadline_detail {

using Clock = std::chrono::steady_clock;

enum Dir : uint8_t { kRead = 0, kWrite = 1 };

// The stream's state; shared with the timer handler and pending operations so that neither
// outlives it. Touched only from the thread (or strand) using the stream.
struct Core {
  explicit Core(boost::asio::ip::tcp::socket s)
      : socket(std::move(s)), timer(socket.get_executor()) {}
  explicit Core(const boost::asio::any_io_executor& ex) : socket(ex), timer(ex) {}

  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  Clock::time_point deadline = Clock::time_point::max();  // for the next operation
  Clock::time_point op_deadline[2] = {Clock::time_point::max(), Clock::time_point::max()};
  uint32_t pending[2] = {0, 0};
  Clock::time_point armed_at = Clock::time_point::max();  // max: no timer armed
  uint64_t arm_seq = 0;    // identifies the current wait; older completions are ignored
  uint64_t arm_count = 0;  // timer waits started (tests observe laziness through it)
  bool timed_out = false;  // sticky until the next connect

  // Called when an operation in `dir` starts: records its deadline, arms the timer if needed.
  void start(Dir dir, const std::shared_ptr<Core>& self) {
    ++pending[dir];
    op_deadline[dir] = deadline;
    if (deadline != Clock::time_point::max() && deadline < armed_at) {
      arm(deadline, self);
    }
  }
  void arm(Clock::time_point at, const std::shared_ptr<Core>& self);
  void on_timer(uint64_t seq, const std::shared_ptr<Core>& self);
};

// Wraps an operation's completion handler: counts the operation as finished and reports
// beast::error::timeout for failures caused by the deadline.
template <class Handler>
class Completion {
 public:
  Completion(Handler h, std::shared_ptr<Core> core, Dir dir)
      : handler_(std::move(h)), core_(std::move(core)), dir_(dir) {}

  template <class... Args>
  void operator()(boost::system::error_code ec, Args&&... args) {
    --core_->pending[dir_];
    if (ec && core_->timed_out) {
      ec = boost::beast::error::timeout;
    }
    core_.reset();
    std::move(handler_)(ec, std::forward<Args>(args)...);
  }

  Handler handler_;  // public for the associator below

 private:
  std::shared_ptr<Core> core_;
  Dir dir_;
};

}  // namespace deadline_detail

class DeadlineStream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using lowest_layer_type = socket_type::lowest_layer_type;  // for asio::ssl::stream
  using time_point = deadline_detail::Clock::time_point;

  explicit DeadlineStream(socket_type socket);
  explicit DeadlineStream(const executor_type& ex);
  DeadlineStream(DeadlineStream&&) noexcept = default;
  DeadlineStream& operator=(DeadlineStream&&) = delete;
  DeadlineStream(const DeadlineStream&) = delete;
  DeadlineStream& operator=(const DeadlineStream&) = delete;
  ~DeadlineStream();

  executor_type get_executor() noexcept { return core_->socket.get_executor(); }
  socket_type& socket() noexcept { return core_->socket; }
  lowest_layer_type& lowest_layer() noexcept { return core_->socket.lowest_layer(); }

  // Operations started from now on must complete within `d`. Stores a deadline; no syscall.
  // A duration beyond a century (or beyond the clock's range) means no limit.
  template <class Rep, class Period>
  void expires_after(std::chrono::duration<Rep, Period> d) {
    constexpr auto kForever = std::chrono::hours(24 * 365 * 100);
    core_->deadline =
        d >= kForever
            ? time_point::max()
            : deadline_after(std::chrono::duration_cast<deadline_detail::Clock::duration>(d));
  }
  void expires_at(time_point t) { core_->deadline = t; }
  // Operations started from now on have no time limit.
  void expires_never() { core_->deadline = time_point::max(); }

  // Closes the socket (pending operations complete with operation_aborted).
  void close();

  // Test hook: how many timer waits this stream has started.
  [[nodiscard]] uint64_t timer_arms() const { return core_->arm_count; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [](auto handler, DeadlineStream* self, const MutableBufferSequence& b) {
          const auto& core = self->core_;
          core->start(deadline_detail::kRead, core);
          core->socket.async_read_some(
              b, deadline_detail::Completion<std::decay_t<decltype(handler)>>(
                     std::move(handler), core, deadline_detail::kRead));
        },
        token, this, buffers);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [](auto handler, DeadlineStream* self, const ConstBufferSequence& b) {
          const auto& core = self->core_;
          core->start(deadline_detail::kWrite, core);
          core->socket.async_write_some(
              b, deadline_detail::Completion<std::decay_t<decltype(handler)>>(
                     std::move(handler), core, deadline_detail::kWrite));
        },
        token, this, buffers);
  }

  // Connects to one endpoint (opening the socket if needed). To try several endpoints, loop and
  // stop at beast::error::timeout: the deadline covers the whole attempt.
  template <class Token>
  auto async_connect(const boost::asio::ip::tcp::endpoint& ep, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [](auto handler, DeadlineStream* self, const boost::asio::ip::tcp::endpoint& e) {
          const auto& core = self->core_;
          if (!core->socket.is_open()) {
            core->timed_out = false;  // a fresh socket: an earlier timeout no longer applies
          }
          core->start(deadline_detail::kWrite, core);
          using Completion = deadline_detail::Completion<std::decay_t<decltype(handler)>>;
          core->socket.async_connect(e,
                                     Completion(std::move(handler), core, deadline_detail::kWrite));
        },
        token, this, ep);
  }

 private:
  static time_point coarse_now() noexcept;
  // `d` from now, never early: the coarse clock's lag is added.
  static time_point deadline_after(deadline_detail::Clock::duration d) noexcept;

  std::shared_ptr<deadline_detail::Core> core_;
};

}  // namespace obsgate::gateway

namespace boost::asio {

// A wrapped handler keeps the executor, allocator and cancellation slot of the handler it
// wraps (use_awaitable's frame allocator and executor, a parallel group's cancellation).
template <template <typename, typename> class Associator, typename Handler,
          typename DefaultCandidate>
struct associator<Associator, obsgate::gateway::deadline_detail::Completion<Handler>,
                  DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const obsgate::gateway::deadline_detail::Completion<Handler>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.handler_);
  }
  static auto get(const obsgate::gateway::deadline_detail::Completion<Handler>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c)) {
    return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
  }
};

}  // namespace boost::asio
