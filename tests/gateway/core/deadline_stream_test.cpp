// DeadlineStream over real loopback sockets: each row runs a scenario coroutine against a
// connected pair (the stream under test and a plain peer socket) and checks what it observed:
// the error an operation reported, whether the socket was left open, how many timer waits the
// stream started (its laziness, observed through timer_arms(), not through timing), and, where
// a deadline's position matters, the elapsed time against bounds far wider than the scheduler.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <catch2/catch.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include <sys/socket.h>

#include "gateway/core/deadline_stream.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using obsgate::gateway::DeadlineStream;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The stream type the gateway layers TLS on must still be a Beast/Asio stream.
static_assert(beast::is_async_stream<DeadlineStream>::value);
static_assert(beast::is_async_stream<beast::ssl_stream<DeadlineStream>>::value);
static_assert(std::is_same_v<std::remove_reference_t<decltype(beast::get_lowest_layer(
                                 std::declval<beast::ssl_stream<DeadlineStream>&>()))>,
                             DeadlineStream>);

auto redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// A connected pair: `stream` (under test) and `peer`.
struct Pair {
  explicit Pair(asio::io_context& ioc) : stream(ioc.get_executor()), peer(ioc) {
    tcp::acceptor acc(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    stream.socket().connect(acc.local_endpoint());
    peer = acc.accept();
  }
  DeadlineStream stream;
  tcp::socket peer;
};

// What a scenario saw.
struct Obs {
  error_code ec;                 // the last operation's result
  Clock::duration elapsed{};     // of the operation the scenario times
  bool open_after = true;        // stream.socket().is_open() at the end
  bool open_midway = true;       // the same, at a point the scenario chooses
  uint64_t arms = 0;             // stream.timer_arms() at the end
  std::size_t bytes = 0;
  std::string text;
};

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  error_code ec;
  co_await t.async_wait(redirect(ec));
}

// The peer sends `data` after `delay`.
asio::awaitable<void> send_later(tcp::socket& peer, milliseconds delay, std::string data) {
  co_await sleep_for(delay);
  error_code ec;
  co_await asio::async_write(peer, asio::buffer(data), redirect(ec));
}

// Reads once from the stream, timing it.
asio::awaitable<void> timed_read(DeadlineStream& s, Obs& o) {
  std::array<char, 64> b{};
  const auto t0 = Clock::now();
  o.bytes = co_await s.async_read_some(asio::buffer(b), redirect(o.ec));
  o.elapsed = Clock::now() - t0;
  o.text.assign(b.data(), o.bytes);
}

asio::awaitable<void> write_one(DeadlineStream& s, Obs& o) {
  co_await asio::async_write(s, asio::buffer("w", 1), redirect(o.ec));
}

using Scenario = std::function<asio::awaitable<void>(Pair&, Obs&)>;
using Check = std::function<void(const Obs&)>;

struct Case {
  std::string name;
  Scenario run;
  Check check;
};

// Composable checks.
Check all(std::vector<Check> cs) {
  return [cs](const Obs& o) {
    for (const auto& c : cs) {
      c(o);
    }
  };
}
Check timed_out() {
  return [](const Obs& o) {
    CAPTURE(o.ec.message());
    CHECK(o.ec == beast::error::timeout);
  };
}
Check is_ok() {
  return [](const Obs& o) {
    CAPTURE(o.ec.message());
    CHECK(!o.ec);
  };
}
Check closed() {
  return [](const Obs& o) { CHECK_FALSE(o.open_after); };
}
Check open() {
  return [](const Obs& o) { CHECK(o.open_after); };
}
Check open_midway() {
  return [](const Obs& o) { CHECK(o.open_midway); };
}
Check arms(uint64_t n) {
  return [n](const Obs& o) { CHECK(o.arms == n); };
}
Check elapsed_at_least(milliseconds d) {
  return [d](const Obs& o) { CHECK(o.elapsed >= d); };
}
Check elapsed_below(milliseconds d) {
  return [d](const Obs& o) { CHECK(o.elapsed < d); };
}
Check got(std::string text) {
  return [text](const Obs& o) { CHECK(o.text == text); };
}

const std::vector<Case>& cases() {
  static const std::vector<Case> k = {
      {"a read past its deadline reports timeout and the socket is closed",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(50));
         co_await timed_read(p.stream, o);
       },
       all({timed_out(), closed(), arms(1), elapsed_at_least(milliseconds(30))})},
      {"a read answered in time completes",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(10), "hi"), asio::detached);
         p.stream.expires_after(milliseconds(2000));
         co_await timed_read(p.stream, o);
       },
       all({is_ok(), got("hi"), open()})},
      {"a deadline moved later is honoured (the armed timer re-arms)",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(50));
         co_await write_one(p.stream, o);  // arms the timer for +50 ms
         p.stream.expires_after(milliseconds(400));
         co_await timed_read(p.stream, o);
       },
       all({timed_out(), closed(), arms(2), elapsed_at_least(milliseconds(300))})},
      {"a deadline moved earlier is honoured (the timer is re-armed earlier)",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(5000));
         co_await write_one(p.stream, o);  // arms the timer for +5 s
         p.stream.expires_after(milliseconds(50));
         co_await timed_read(p.stream, o);
       },
       all({timed_out(), closed(), arms(2), elapsed_below(milliseconds(2500))})},
      {"expires_never: a read outlives an earlier deadline",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(30));
         co_await write_one(p.stream, o);  // arms the timer for +30 ms
         p.stream.expires_never();
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(200), "late"), asio::detached);
         co_await timed_read(p.stream, o);
       },
       all({is_ok(), got("late"), open(), arms(1), elapsed_at_least(milliseconds(100))})},
      {"many operations under one deadline arm one timer",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(10000));
         for (int i = 0; i < 200 && !o.ec; ++i) {
           co_await write_one(p.stream, o);
           std::array<char, 1> b{};
           co_await asio::async_read(p.peer, asio::buffer(b), redirect(o.ec));
           co_await asio::async_write(p.peer, asio::buffer(b), redirect(o.ec));
           co_await asio::async_read(p.stream, asio::buffer(b), redirect(o.ec));
           // Later deadlines, as a proxy sets before each phase: still no new wait.
           p.stream.expires_after(milliseconds(10000 + i));
         }
       },
       all({is_ok(), open(), arms(1)})},
      {"a deadline passing with nothing pending closes nothing; the next read times out at once",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(30));
         co_await write_one(p.stream, o);
         co_await sleep_for(milliseconds(120));  // the timer fires while nothing is pending
         o.open_midway = p.stream.socket().is_open();
         co_await timed_read(p.stream, o);
       },
       all({open_midway(), timed_out(), closed(), elapsed_below(milliseconds(1000))})},
      {"a deadline set for a write does not cut a read started without one",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         using namespace asio::experimental::awaitable_operators;
         p.stream.expires_never();
         auto reader = [&]() -> asio::awaitable<void> { co_await timed_read(p.stream, o); };
         auto writer = [&]() -> asio::awaitable<void> {
           p.stream.expires_after(milliseconds(30));
           error_code ec;
           co_await asio::async_write(p.stream, asio::buffer("w", 1), redirect(ec));
           co_await sleep_for(milliseconds(150));
           co_await asio::async_write(p.peer, asio::buffer("tail", 4), redirect(ec));
         };
         co_await (reader() && writer());
       },
       all({is_ok(), got("tail"), open()})},
      {"cancellation reaches the socket through the wrapped handler (not a timeout)",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         using namespace asio::experimental::awaitable_operators;
         p.stream.expires_after(milliseconds(5000));
         auto reader = [&]() -> asio::awaitable<void> { co_await timed_read(p.stream, o); };
         co_await (reader() || sleep_for(milliseconds(30)));
       },
       all({[](const Obs& o) { CHECK(o.ec == asio::error::operation_aborted); }, open(),
            elapsed_below(milliseconds(2500))})},
      {"a timeout never fires before its deadline (the coarse clock's lag is compensated)",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(milliseconds(100));
         co_await timed_read(p.stream, o);
       },
       all({timed_out(), closed(), elapsed_at_least(milliseconds(100))})},
      {"idle past an old deadline, then a fresh one: a read answered in time completes",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         // A pooled upstream connection: its last deadline passes while it sits idle.
         p.stream.expires_after(milliseconds(20));
         co_await write_one(p.stream, o);
         co_await sleep_for(milliseconds(100));
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(20), "fresh"), asio::detached);
         p.stream.expires_after(milliseconds(2000));
         co_await timed_read(p.stream, o);
       },
       all({is_ok(), got("fresh"), open()})},
      {"a duration beyond the clock's range means no limit, not a deadline in the past",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         p.stream.expires_after(std::chrono::hours(int64_t{1} << 40));
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(30), "ok"), asio::detached);
         co_await timed_read(p.stream, o);
       },
       all({is_ok(), got("ok"), open(), arms(0)})},
      {"an HTTP message reads through it",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(5),
                                   "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"),
                        asio::detached);
         p.stream.expires_after(milliseconds(2000));
         beast::flat_buffer buf;
         http::request<http::string_body> req;
         co_await http::async_read(p.stream, buf, req, redirect(o.ec));
         o.text = req.body();
       },
       all({is_ok(), got("body"), open(), arms(1)})},
      {"an HTTP read that stalls mid-message times out",
       [](Pair& p, Obs& o) -> asio::awaitable<void> {
         asio::co_spawn(co_await asio::this_coro::executor,
                        send_later(p.peer, milliseconds(5), "GET /x HTTP/1.1\r\nHo"),
                        asio::detached);
         p.stream.expires_after(milliseconds(80));
         beast::flat_buffer buf;
         http::request<http::empty_body> req;
         co_await http::async_read(p.stream, buf, req, redirect(o.ec));
       },
       all({timed_out(), closed()})},
  };
  return k;
}

TEST_CASE("DeadlineStream: deadlines on a loopback pair", "[deadline_stream]") {
  for (const auto& c : cases()) {
    DYNAMIC_SECTION(c.name) {
      asio::io_context ioc(1);
      Pair p(ioc);
      Obs o;
      bool done = false;
      asio::co_spawn(ioc, c.run(p, o), [&](const std::exception_ptr& e) {
        CHECK_FALSE(e);
        done = true;
        ioc.stop();
      });
      ioc.run_for(std::chrono::seconds(10));
      REQUIRE(done);
      o.open_after = p.stream.socket().is_open();
      o.arms = p.stream.timer_arms();
      c.check(o);
    }
  }
}

TEST_CASE("DeadlineStream: destruction", "[deadline_stream]") {
  struct Row {
    std::string name;
    bool start_read;  // leave a read pending as well as the timer
  };
  const std::vector<Row> rows = {{"with a timer armed", false},
                                 {"with a timer armed and a read pending", true}};
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      asio::io_context ioc(1);
      std::optional<Pair> p;
      p.emplace(ioc);
      std::array<char, 8> b{};
      std::optional<error_code> read_ec;
      p->stream.expires_after(std::chrono::seconds(30));
      if (r.start_read) {
        p->stream.async_read_some(asio::buffer(b),
                                  [&](const error_code& ec, std::size_t) { read_ec = ec; });
      } else {
        p->stream.async_write_some(asio::buffer("w", 1), [](const error_code&, std::size_t) {});
      }
      CHECK(p->stream.timer_arms() == 1);
      p.reset();  // the timer (30 s away) must not keep the io_context busy, nor fire later
      ioc.run_for(std::chrono::seconds(5));
      // run_for returns early only once no work is left: the timer wait was cancelled.
      CHECK(ioc.stopped());
      if (r.start_read) {
        REQUIRE(read_ec.has_value());
        CHECK(*read_ec == asio::error::operation_aborted);
      }
    }
  }
}

// A listening port whose accept queue is full: SYNs are dropped and connects hang.
struct Blackhole {
  explicit Blackhole(asio::io_context& ioc) : acc(ioc) {
    const tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
    acc.open(any.protocol());
    acc.bind(any);
    acc.listen(0);
    for (auto& f : fillers) {
      f.emplace(ioc);
      f->open(tcp::v4());
      f->non_blocking(true);
      // ::connect, not socket::connect: Asio's synchronous connect waits for completion even
      // on a non-blocking socket. EINPROGRESS is the expected result.
      const auto ep = acc.local_endpoint();
      (void)::connect(f->native_handle(), ep.data(), static_cast<socklen_t>(ep.size()));
    }
  }
  tcp::acceptor acc;
  std::array<std::optional<tcp::socket>, 4> fillers;
};

TEST_CASE("DeadlineStream: connect", "[deadline_stream]") {
  struct Row {
    std::string name;
    bool blackhole_first;  // try a hanging connect first, then the listening port
    bool then_listening;
    Check check;
  };
  const std::vector<Row> rows = {
      {"to a listening port", false, true, all({is_ok(), open()})},
      {"to a full accept queue times out and closes", true, false, all({timed_out(), closed()})},
      {"after a connect timeout, a fresh socket connects", true, true, all({is_ok(), open()})},
  };
  for (const auto& r : rows) {
    DYNAMIC_SECTION(r.name) {
      asio::io_context ioc(1);
      tcp::acceptor listening(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      Blackhole hole(ioc);
      DeadlineStream s(ioc.get_executor());
      Obs o;
      bool done = false;
      auto run = [&]() -> asio::awaitable<void> {
        if (r.blackhole_first) {
          s.expires_after(milliseconds(100));
          co_await s.async_connect(hole.acc.local_endpoint(), redirect(o.ec));
          CAPTURE(o.ec.message());
          CHECK(o.ec == beast::error::timeout);
          error_code ignored;
          s.socket().close(ignored);
        }
        if (r.then_listening) {
          s.expires_after(milliseconds(2000));
          co_await s.async_connect(listening.local_endpoint(), redirect(o.ec));
        }
      };
      asio::co_spawn(ioc, run(), [&](const std::exception_ptr& e) {
        CHECK_FALSE(e);
        done = true;
        ioc.stop();
      });
      ioc.run_for(std::chrono::seconds(10));
      REQUIRE(done);
      o.open_after = s.socket().is_open();
      r.check(o);
    }
  }
}

}  // namespace
