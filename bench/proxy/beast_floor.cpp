// beast_floor: the least a reverse proxy built on Boost.Beast + Asio does per request, to
// measure the floor of the stack obsgate is built on (bench.py target `beast-floor`).
//
// It is not a usable proxy: no routing, no header hygiene, no timeouts, no limits, no access
// control, one upstream connection per client connection opened up front. Per request it does
// only what any Beast HTTP/1.1 proxy must: parse the request head (http::async_read), serialise
// it to the upstream (http::async_write), parse the response (head and body), serialise it to
// the client. Two styles, so the floor is not an artefact of one:
//   --mode coro      C++20 coroutines (asio::awaitable, any_io_executor): obsgate's style;
//   --mode callback  completion handlers on a concrete io_context executor, the classic Beast
//                    example style, with no type-erased executor and no coroutine frames.
// The io_context is single-threaded with concurrency hint 1, as obsgate's workers.
//
//   beast_floor --listen 18088 --upstream 18081 [--mode coro|callback]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// ---- coroutine style --------------------------------------------------------------------------

asio::awaitable<void> serve_coro(tcp::socket client, tcp::endpoint upstream_ep) {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  tcp::socket upstream(client.get_executor());
  auto [cec] = co_await upstream.async_connect(upstream_ep, kTuple);
  if (cec) {
    co_return;
  }
  client.set_option(tcp::no_delay(true));
  upstream.set_option(tcp::no_delay(true));
  beast::flat_buffer client_buf;
  beast::flat_buffer upstream_buf;
  for (;;) {
    Request req;
    auto [rec, rn] = co_await http::async_read(client, client_buf, req, kTuple);
    if (rec) {
      co_return;
    }
    auto [wec, wn] = co_await http::async_write(upstream, req, kTuple);
    if (wec) {
      co_return;
    }
    Response res;
    auto [uec, un] = co_await http::async_read(upstream, upstream_buf, res, kTuple);
    if (uec) {
      co_return;
    }
    auto [sec, sn] = co_await http::async_write(client, res, kTuple);
    if (sec || !req.keep_alive()) {
      co_return;
    }
  }
}

asio::awaitable<void> accept_coro(tcp::acceptor& acceptor, tcp::endpoint upstream_ep) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(acceptor.get_executor(), serve_coro(std::move(socket), upstream_ep),
                   asio::detached);
  }
}

// ---- callback style ---------------------------------------------------------------------------

using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;

class CallbackSession : public std::enable_shared_from_this<CallbackSession> {
 public:
  CallbackSession(Socket client, tcp::endpoint upstream_ep)
      : client_(std::move(client)), upstream_(client_.get_executor()), upstream_ep_(upstream_ep) {}

  void start() {
    upstream_.async_connect(upstream_ep_,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (!ec) {
                                self->client_.set_option(tcp::no_delay(true));
                                self->upstream_.set_option(tcp::no_delay(true));
                                self->read_request();
                              }
                            });
  }

 private:
  void read_request() {
    req_ = {};
    http::async_read(client_, client_buf_, req_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) {
                         self->write_request();
                       }
                     });
  }
  void write_request() {
    http::async_write(upstream_, req_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec) {
                          self->read_response();
                        }
                      });
  }
  void read_response() {
    res_ = {};
    http::async_read(upstream_, upstream_buf_, res_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) {
                         self->write_response();
                       }
                     });
  }
  void write_response() {
    http::async_write(client_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec && self->req_.keep_alive()) {
                          self->read_request();
                        }
                      });
  }

  Socket client_;
  Socket upstream_;
  tcp::endpoint upstream_ep_;
  beast::flat_buffer client_buf_;
  beast::flat_buffer upstream_buf_;
  Request req_;
  Response res_;
};

void accept_callback(Acceptor& acceptor, tcp::endpoint upstream_ep) {
  acceptor.async_accept([&acceptor, upstream_ep](beast::error_code ec, Socket socket) {
    if (ec) {
      return;
    }
    std::make_shared<CallbackSession>(std::move(socket), upstream_ep)->start();
    accept_callback(acceptor, upstream_ep);
  });
}

int usage() {
  std::fprintf(stderr, "usage: beast_floor --listen PORT --upstream PORT [--mode coro|callback]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int listen_port = 0;
  int upstream_port = 0;
  std::string mode = "coro";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--listen") == 0) {
      listen_port = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--upstream") == 0) {
      upstream_port = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--mode") == 0) {
      mode = argv[i + 1];
    } else {
      return usage();
    }
  }
  if (listen_port <= 0 || upstream_port <= 0 || (mode != "coro" && mode != "callback")) {
    return usage();
  }
  const auto loopback = asio::ip::make_address("127.0.0.1");
  const tcp::endpoint listen_ep(loopback, static_cast<unsigned short>(listen_port));
  const tcp::endpoint upstream_ep(loopback, static_cast<unsigned short>(upstream_port));

  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });
  if (mode == "coro") {
    tcp::acceptor acceptor(ioc, listen_ep);
    asio::co_spawn(ioc, accept_coro(acceptor, upstream_ep), asio::detached);
    ioc.run();
  } else {
    Acceptor acceptor(ioc.get_executor(), listen_ep);
    accept_callback(acceptor, upstream_ep);
    ioc.run();
  }
  return 0;
}
