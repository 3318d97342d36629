#include "gateway/core/server.h"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <prometheus/text_serializer.h>

#include <thread>

#include "gateway/core/session.h"
#include "gateway/core/worker.h"
#include "gateway/identity/key_registry.h"
#include "gateway/steps/authn/authn.h"
#include "gateway/steps/openbao/node_state.h"
#include "gateway/steps/services.h"

#ifndef OBSGATE_VERSION
#define OBSGATE_VERSION "dev"
#endif
#ifndef OBSGATE_REVISION
#define OBSGATE_REVISION "unknown"
#endif

namespace obsgate::gateway {

namespace {

namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

auto redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

Result<tcp::acceptor> bind(asio::io_context& ioc, const std::string& address, uint16_t port,
                           bool reuse_port) {
  error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) {
    return Status::invalid_argument("bad listen address '" + address + "'");
  }
  tcp::endpoint ep(addr, port);
  tcp::acceptor a(ioc);
  a.open(ep.protocol(), ec);
  if (!ec) {
    a.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec && reuse_port) {
    int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = error_code(errno, boost::system::system_category());
    }
  }
  if (!ec) {
    a.bind(ep, ec);
  }
  if (!ec) {
    a.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::unavailable("cannot listen on " + address + ":" + std::to_string(port) +
                               ": " + ec.message());
  }
  return a;
}

Result<std::shared_ptr<asio::ssl::context>> server_tls(const config::Listener& l) {
  namespace ssl = asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ctx->use_certificate_chain_file(l.tls->cert_file, ec);
  if (!ec) {
    ctx->use_private_key_file(l.tls->key_file, ssl::context::pem, ec);
  }
  if (ec) {
    return Status::invalid_argument("listener '" + l.name + "': cannot load certificate/key: " +
                                    ec.message());
  }
  if (l.tls->client_cert != config::ClientCertMode::kNone) {
    ctx->load_verify_file(l.tls->client_ca_file, ec);
    if (ec) {
      return Status::invalid_argument("listener '" + l.name + "': cannot load client CA: " +
                                      ec.message());
    }
    int mode = ssl::verify_peer;
    if (l.tls->client_cert == config::ClientCertMode::kRequire) {
      mode |= ssl::verify_fail_if_no_peer_cert;
    }
    ctx->set_verify_mode(mode);
  }
  return ctx;
}

struct BoundListener {
  ListenerInfo info;
  std::shared_ptr<asio::ssl::context> tls;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per worker
};

class ServerImpl final : public Server {
 public:
  ServerImpl(std::string path, config::ConfigPtr cfg)
      : path_(std::move(path)), registry_(std::make_shared<prometheus::Registry>()),
        metrics_(*registry_) {
    metrics_.build_info.Add({{"version", OBSGATE_VERSION}, {"revision", OBSGATE_REVISION}})
        .Set(1);
    cfg_ = std::move(cfg);
  }

  Status init() {
    auto access = LogSink::open(cfg_->logging.access_log);
    if (!access.ok()) {
      return access.status();
    }
    auto decision = LogSink::open(cfg_->logging.decision_log);
    if (!decision.ok()) {
      return decision.status();
    }
    services_.registry = registry_.get();
    services_.decision_log = decision->get();
    // OpenID provider keys: fetched and refreshed on the admin thread, kept across reloads.
    keys_ = std::make_unique<identity::KeyRegistry>(admin_ioc_.get_executor(), *registry_);
    keys_->sync(authn::key_configs(cfg_->identity));
    services_.keys = keys_.get();
    // OpenBao active-node cache, token file and node health: shared by every route and kept
    // across reloads.
    openbao_ = openbao::NodeState::create(registry_.get());
    services_.openbao = openbao_.get();
    auto rt = Runtime::build(cfg_, metrics_, ++generation_, services_);
    if (!rt.ok()) {
      return rt.status();
    }
    holder_ = std::make_unique<RuntimeHolder>(*rt);
    shared_.metrics = &metrics_;
    shared_.runtime = holder_.get();
    shared_.access_log = *access;
    shared_.decision_log = *decision;

    unsigned n = cfg_->server.worker_threads;
    if (n == 0) {
      n = std::max(1U, std::thread::hardware_concurrency());
    }
    for (unsigned i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<Worker>(shared_));
    }
    for (const auto& l : cfg_->server.listeners) {
      auto bl = std::make_unique<BoundListener>();
      bl->info.name = l.name;
      bl->info.tls = l.tls.has_value();
      bl->info.open = &metrics_.open_connections.Add({{"listener", l.name}});
      if (l.tls) {
        auto ctx = server_tls(l);
        if (!ctx.ok()) {
          return ctx.status();
        }
        bl->tls = *ctx;
      }
      for (auto& w : workers_) {
        auto a = bind(w->ioc(), l.address, l.port, n > 1);
        if (!a.ok()) {
          return a.status();
        }
        bl->acceptors.push_back(std::make_unique<tcp::acceptor>(std::move(a).value()));
      }
      listeners_.push_back(std::move(bl));
    }
    auto admin = bind(admin_ioc_, cfg_->admin.address, cfg_->admin.port, false);
    if (!admin.ok()) {
      return admin.status();
    }
    admin_acceptor_ = std::make_unique<tcp::acceptor>(std::move(admin).value());
    return {};
  }

  int run() override {
    // Installed before any worker thread exists, so no thread ever sees the default action.
    signals_.emplace(admin_ioc_, SIGTERM, SIGINT, SIGHUP);
    for (size_t wi = 0; wi < workers_.size(); ++wi) {
      Worker& w = *workers_[wi];
      for (auto& bl : listeners_) {
        asio::co_spawn(w.ioc(), accept_loop(*bl->acceptors[wi], *bl, w), asio::detached);
      }
      asio::co_spawn(w.ioc(), sweep_loop(w), asio::detached);
    }
    asio::co_spawn(admin_ioc_, admin_loop(), asio::detached);
    asio::co_spawn(admin_ioc_, signal_loop(), asio::detached);
    std::vector<std::thread> threads;
    for (auto& w : workers_) {
      threads.emplace_back([&w] { w->ioc().run(); });
    }
    ready_ = true;
    log_event("info", "obsgate " OBSGATE_VERSION " serving with " +
                          std::to_string(workers_.size()) + " worker thread(s)");
    admin_ioc_.run();
    for (auto& t : threads) {
      t.join();
    }
    log_event("info", "obsgate stopped");
    return 0;
  }

 private:
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, BoundListener& bl, Worker& w) {
    for (;;) {
      error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(redirect(ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
          co_return;
        }
        continue;  // e.g. EMFILE: keep accepting
      }
      if (bl.tls) {
        asio::co_spawn(w.ioc(), serve_tls(std::move(sock), *bl.tls, bl.info, w), asio::detached);
      } else {
        asio::co_spawn(w.ioc(), serve_plain(std::move(sock), bl.info, w), asio::detached);
      }
    }
  }

  asio::awaitable<void> sweep_loop(Worker& w) {
    asio::steady_timer t(w.ioc());
    while (!shared_.draining) {
      t.expires_after(std::chrono::seconds(5));
      error_code ec;
      co_await t.async_wait(redirect(ec));
      w.pool().sweep(std::chrono::steady_clock::now(), w.runtime()->upstreams);
    }
    w.pool().clear();
  }

  asio::awaitable<void> signal_loop() {
    for (;;) {
      error_code ec;
      int sig = co_await signals_->async_wait(redirect(ec));
      if (ec) {
        co_return;
      }
      if (sig == SIGHUP) {
        reload();
        continue;
      }
      co_await drain();
      co_return;
    }
  }

  void reload() {
    auto next = config::load_file(path_);
    std::string why;
    if (!next.ok()) {
      why = next.status().message();
    } else if (auto change = restart_required_change(*cfg_, **next); !change.empty()) {
      why = change + " changed: restart obsgate to apply it";
    } else {
      keys_->sync(authn::key_configs((*next)->identity));  // the new steps look providers up
      auto rt = Runtime::build(*next, metrics_, generation_ + 1, services_);
      if (!rt.ok()) {
        why = rt.status().message();
        keys_->sync(authn::key_configs(cfg_->identity));
      } else {
        ++generation_;
        cfg_ = *next;
        holder_->set(*rt);
        metrics_.reloads.Add({{"result", "success"}}).Increment();
        metrics_.last_reload_success.Set(1);
        log_event("info", "configuration reloaded from " + path_ + " (generation " +
                              std::to_string(generation_) + ")");
        return;
      }
    }
    metrics_.reloads.Add({{"result", "failure"}}).Increment();
    metrics_.last_reload_success.Set(0);
    log_event("error", "configuration reload rejected, still serving the previous one: " + why);
  }

  asio::awaitable<void> drain() {
    log_event("info", "draining: no new connections, finishing in-flight requests");
    shared_.draining = true;
    ready_ = false;
    keys_->stop();  // its refresh timers would keep the admin thread running
    error_code ec;
    for (size_t wi = 0; wi < workers_.size(); ++wi) {
      Worker& w = *workers_[wi];
      asio::post(w.ioc(), [this, wi, &w] {
        error_code ignored;
        for (auto& bl : listeners_) {
          bl->acceptors[wi]->close(ignored);
        }
        for (auto& c : w.conns()) {
          if (c.idle) {
            c.close();
          }
        }
      });
    }
    asio::steady_timer t(admin_ioc_);
    const auto deadline = std::chrono::steady_clock::now() + cfg_->server.timeouts.drain;
    while (shared_.open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(redirect(ec));
    }
    if (shared_.open_connections.load() > 0) {
      log_event("warn", "drain timeout: closing " +
                            std::to_string(shared_.open_connections.load()) + " connection(s)");
    }
    for (auto& w : workers_) {
      w->ioc().stop();
    }
    admin_acceptor_->close(ec);
    admin_ioc_.stop();
  }

  asio::awaitable<void> admin_loop() {
    for (;;) {
      error_code ec;
      tcp::socket sock = co_await admin_acceptor_->async_accept(redirect(ec));
      if (ec) {
        if (!admin_acceptor_->is_open()) {
          co_return;
        }
        continue;
      }
      asio::co_spawn(admin_ioc_, admin_session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> admin_session(tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::empty_body> req;
      error_code ec;
      stream.expires_after(std::chrono::seconds(30));
      co_await http::async_read(stream, buf, req, redirect(ec));
      if (ec) {
        break;
      }
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      const auto target = req.target();
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "method not allowed\n";
      } else if (target == "/healthz") {
        res.body() = "ok\n";
      } else if (target == "/readyz") {
        if (ready_ && !shared_.draining && keys_->ready()) {
          res.body() = "ready\n";
        } else if (ready_ && !shared_.draining) {
          // A provider that never delivered a key set: its tokens can't be checked yet.
          res.result(http::status::service_unavailable);
          res.body() = "waiting for keys:";
          for (const auto& name : keys_->not_ready()) {
            res.body() += " " + name;
          }
          res.body() += "\n";
        } else {
          res.result(http::status::service_unavailable);
          res.body() = shared_.draining ? "draining\n" : "starting\n";
        }
      } else if (target == "/metrics") {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = prometheus::TextSerializer().Serialize(registry_->Collect());
      } else {
        res.result(http::status::not_found);
        res.body() = "not found\n";
      }
      res.keep_alive(req.keep_alive() && !shared_.draining);
      res.prepare_payload();
      co_await http::async_write(stream, res, redirect(ec));
      if (ec || !res.keep_alive()) {
        break;
      }
    }
    error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  std::string path_;
  config::ConfigPtr cfg_;  // admin thread only
  std::shared_ptr<prometheus::Registry> registry_;
  GatewayMetrics metrics_;
  uint64_t generation_ = 0;
  std::unique_ptr<RuntimeHolder> holder_;
  Shared shared_;
  Services services_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<BoundListener>> listeners_;
  asio::io_context admin_ioc_{1};
  std::unique_ptr<tcp::acceptor> admin_acceptor_;
  std::unique_ptr<openbao::NodeState> openbao_;
  std::unique_ptr<identity::KeyRegistry> keys_;  // after admin_ioc_: stopped before it goes
  std::optional<asio::signal_set> signals_;
  std::atomic<bool> ready_{false};
};

bool same_listeners(const config::Config& a, const config::Config& b) {
  if (a.server.listeners.size() != b.server.listeners.size()) {
    return false;
  }
  for (size_t i = 0; i < a.server.listeners.size(); ++i) {
    const auto& x = a.server.listeners[i];
    const auto& y = b.server.listeners[i];
    if (x.name != y.name || x.address != y.address || x.port != y.port ||
        x.tls.has_value() != y.tls.has_value()) {
      return false;
    }
    if (x.tls && (x.tls->cert_file != y.tls->cert_file || x.tls->key_file != y.tls->key_file ||
                  x.tls->client_ca_file != y.tls->client_ca_file ||
                  x.tls->client_cert != y.tls->client_cert)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string restart_required_change(const config::Config& current, const config::Config& next) {
  if (!same_listeners(current, next)) {
    return "server.listeners";
  }
  if (current.admin.address != next.admin.address || current.admin.port != next.admin.port) {
    return "admin";
  }
  if (current.server.worker_threads != next.server.worker_threads) {
    return "server.worker_threads";
  }
  if (current.logging.access_log != next.logging.access_log ||
      current.logging.decision_log != next.logging.decision_log) {
    return "logging";
  }
  return {};
}

Result<std::unique_ptr<Server>> Server::create(std::string config_path, config::ConfigPtr cfg) {
  auto s = std::make_unique<ServerImpl>(std::move(config_path), std::move(cfg));
  if (Status st = s->init(); !st.ok()) {
    return st;
  }
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace obsgate::gateway
