// The session's step plumbing, over real loopback sockets: a scripted step is inserted on a
// route (through Runtime::build's injectable chain builder) and each row checks what the client
// got, what the upstream received, and that on_destroy ran exactly once.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

#include "config/config.h"
#include "gateway/core/runtime.h"
#include "gateway/core/session.h"
#include "gateway/core/worker.h"
#include "gateway/steps/services.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using obsgate::gateway::Action;
using obsgate::gateway::Request;
using obsgate::gateway::ResponseHead;
using tcp = asio::ip::tcp;

// What a scripted step does at each callback.
struct Script {
  bool respond_on_request = false;
  bool suspend_on_request = false;  // co_await a timer before deciding (async completion)
  bool want_body = false;
  std::string replace_body{};  // non-empty: forward this body instead
  std::string set_query{};     // non-empty: forward this query
  bool want_response_body = false;
  std::string append_to_response{};
  bool respond_on_response = false;
  std::function<void(const Request&)> inspect{};  // sees the Request at on_request
};

struct Counters {
  int created = 0;
  int destroyed = 0;
  std::string seen_body;
};

class ScriptedStep final : public obsgate::gateway::Step {
 public:
  ScriptedStep(const Script& s, Counters& c) : s_(s), c_(c) { ++c_.created; }
  asio::awaitable<Action> on_request(Request& r) override {
    if (s_.suspend_on_request) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    if (s_.inspect) {
      s_.inspect(r);
    }
    r.head.set("X-Scope-OrgID", "tenant-from-step");
    r.authenticated = true;
    r.principal.subject = "tester";
    r.principal.tenants = {"team-a"};
    if (!s_.set_query.empty()) {
      r.forward_query = s_.set_query;
    }
    r.decision.recorded = true;
    r.decision.allow = !s_.respond_on_request;
    r.decision.reason = s_.respond_on_request ? "scripted_deny" : "ok";
    if (s_.respond_on_request) {
      r.reply.status = 403;
      r.reply.message = "scripted denial";
      r.reply.reason = "test_denied{scripted}";
      r.reply.www_authenticate = "Bearer realm=\"obsgate\", error=\"insufficient_scope\"";
      co_return Action::kRespond;
    }
    co_return Action::kContinue;
  }
  [[nodiscard]] bool wants_request_body(const Request&) const override { return s_.want_body; }
  asio::awaitable<Action> on_request_body(Request& r) override {
    c_.seen_body = *r.body;
    if (!s_.replace_body.empty()) {
      r.forward_body = s_.replace_body;
    }
    co_return Action::kContinue;
  }
  [[nodiscard]] bool wants_response_body(const Request&, const ResponseHead&) const override {
    return s_.want_response_body;
  }
  Action on_response_body(Request& r, ResponseHead&, std::string& body) override {
    if (s_.respond_on_response) {
      r.reply.status = 422;
      r.reply.message = "scripted response refusal";
      r.reply.reason = "test_denied{response}";
      return Action::kRespond;
    }
    body += s_.append_to_response;
    return Action::kContinue;
  }
  void on_destroy() override { ++c_.destroyed; }

 private:
  const Script& s_;
  Counters& c_;
};

class ScriptedFactory final : public obsgate::gateway::StepFactory {
 public:
  ScriptedFactory(const Script& s, Counters& c) : s_(s), c_(c) {}
  [[nodiscard]] std::unique_ptr<obsgate::gateway::Step> create() const override {
    return std::make_unique<ScriptedStep>(s_, c_);
  }

 private:
  const Script& s_;
  Counters& c_;
};

// One upstream exchange as the upstream saw it.
struct Seen {
  bool reached = false;
  std::string target;
  std::string body;
  std::string org_id;
  std::string authorization;
};

asio::awaitable<void> upstream_once(tcp::acceptor& acc, Seen& seen, std::string reply_body) {
  boost::system::error_code ec;
  auto sock = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return;  // closed by the test: the step answered without forwarding
  }
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  co_await http::async_read(stream, buf, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return;
  }
  seen.reached = true;
  seen.target = std::string(req.target());
  seen.body = req.body();
  seen.org_id = std::string(req["X-Scope-OrgID"]);
  seen.authorization = std::string(req[http::field::authorization]);
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(reply_body);
  res.prepare_payload();
  res.keep_alive(false);
  co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
}

struct Outcome {
  unsigned status = 0;
  std::string body;
  std::string www_authenticate;
  Seen upstream;
  Counters counters;
  std::string decision_log;
  std::string access_log;
};

Outcome run_one(const Script& script, http::request<http::string_body> req) {
  Outcome out;
  asio::io_context probe;
  tcp::acceptor up_acc(probe, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto up_port = up_acc.local_endpoint().port();

  char tmpl[] = "/tmp/obsgate_decisions_XXXXXX";
  const int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  const std::string decision_path = tmpl;

  const std::string yaml = "server:\n  listeners:\n    - {name: main, port: 1}\n"
                           "admin: {port: 2}\n"
                           "logging: {access_log: '" + decision_path + ".access', decision_log: '" +
                           decision_path + "'}\n"
                           "upstreams:\n  - {name: prom, url: 'http://127.0.0.1:" +
                           std::to_string(up_port) +
                           "', api: prometheus}\n"
                           "routes:\n  - {name: q, methods: [GET, POST], path: /api/v1/query, "
                           "upstream: prom, auth: unsafe_none, unsafe_any_query_params: true}\n";
  auto cfg = obsgate::config::load_string(yaml, "test.yaml");
  INFO(cfg.status().message());
  REQUIRE(cfg.ok());
  prometheus::Registry registry;
  obsgate::gateway::GatewayMetrics metrics(registry);
  obsgate::gateway::Services services;
  services.registry = &registry;
  auto rt = obsgate::gateway::Runtime::build(
      *cfg, metrics, 1, services,
      [&](const obsgate::config::Config&, const obsgate::config::Route&,
          obsgate::gateway::Services&)
          -> obsgate::Result<std::vector<obsgate::gateway::StepFactoryPtr>> {
        return std::vector<obsgate::gateway::StepFactoryPtr>{
            std::make_shared<ScriptedFactory>(script, out.counters)};
      });
  REQUIRE(rt.ok());
  obsgate::gateway::RuntimeHolder holder(*rt);
  obsgate::gateway::Shared shared;
  shared.metrics = &metrics;
  shared.runtime = &holder;
  auto sink = obsgate::gateway::LogSink::open(decision_path);
  REQUIRE(sink.ok());
  shared.decision_log = *sink;
  auto access = obsgate::gateway::LogSink::open(decision_path + ".access");
  REQUIRE(access.ok());
  shared.access_log = *access;
  obsgate::gateway::Worker worker(shared);
  auto& ioc = worker.ioc();
  up_acc.close();
  tcp::acceptor up(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), up_port));
  tcp::acceptor gw(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto& open_family = prometheus::BuildGauge().Name("test_open").Help("t").Register(registry);
  obsgate::gateway::ListenerInfo listener{"main", false, &open_family.Add({})};

  asio::co_spawn(ioc, upstream_once(up, out.upstream, R"({"status":"success"})"),
                 asio::detached);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto sock = co_await gw.async_accept(asio::use_awaitable);
        co_await obsgate::gateway::serve_plain(std::move(sock), listener, worker);
      },
      asio::detached);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        beast::tcp_stream client(ioc);
        co_await client.async_connect(gw.local_endpoint(), asio::use_awaitable);
        req.version(11);
        req.set(http::field::host, "gw");
        req.keep_alive(false);
        req.prepare_payload();
        co_await http::async_write(client, req, asio::use_awaitable);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        co_await http::async_read(client, buf, res, asio::use_awaitable);
        out.status = res.result_int();
        out.body = res.body();
        out.www_authenticate = std::string(res[http::field::www_authenticate]);
        boost::system::error_code ignored;
        up.close(ignored);
        gw.close(ignored);
      },
      asio::detached);
  ioc.run_for(std::chrono::seconds(10));
  sink->reset();
  shared.decision_log.reset();
  access->reset();
  shared.access_log.reset();
  auto slurp = [](const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  out.decision_log = slurp(decision_path);
  out.access_log = slurp(decision_path + ".access");
  std::remove(decision_path.c_str());
  std::remove((decision_path + ".access").c_str());
  return out;
}

http::request<http::string_body> get(std::string target) {
  http::request<http::string_body> r{http::verb::get, target, 11};
  r.set("X-Scope-OrgID", "spoofed");
  r.set(http::field::authorization, "Bearer client-token");
  return r;
}

http::request<http::string_body> post_form(std::string body) {
  http::request<http::string_body> r{http::verb::post, "/api/v1/query", 11};
  r.set(http::field::content_type, "application/x-www-form-urlencoded");
  r.body() = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("session runs a route's steps between routing and forwarding") {
  struct Case {
    std::string name;
    Script script;
    http::request<http::string_body> req;
    std::function<void(const Outcome&)> check;
  };
  std::vector<Case> cases;
  cases.push_back({"a continuing step forwards; owned headers stripped, step header kept",
                   Script{},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.status == 200);
                     CHECK(o.upstream.reached);
                     CHECK(o.upstream.target == "/api/v1/query?query=up");
                     CHECK(o.upstream.org_id == "tenant-from-step");
                     CHECK(o.upstream.authorization.empty());
                   }});
  cases.push_back({"a step's local reply never reaches the upstream",
                   Script{.respond_on_request = true},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.status == 403);
                     CHECK_FALSE(o.upstream.reached);
                     CHECK(o.body.find("\"errorType\"") != std::string::npos);
                     CHECK(o.body.find("scripted denial") != std::string::npos);
                     CHECK(o.www_authenticate.find("insufficient_scope") != std::string::npos);
                     CHECK(o.decision_log.find("\"decision\":\"deny\"") != std::string::npos);
                     CHECK(o.decision_log.find("\"reason\":\"scripted_deny\"") !=
                           std::string::npos);
                   }});
  cases.push_back({"a step finishing later (suspended) still forwards",
                   Script{.suspend_on_request = true},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.status == 200);
                     CHECK(o.upstream.reached);
                   }});
  cases.push_back({"a rewritten query replaces the client's",
                   Script{.set_query = "query=up%7Btenant%3D%22a%22%7D"},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.upstream.target == "/api/v1/query?query=up%7Btenant%3D%22a%22%7D");
                   }});
  cases.push_back({"the client's credentials are handed to the step, not left in the head",
                   Script{.inspect =
                              [](const Request& r) {
                                CHECK(r.authorization == "Bearer client-token");
                                CHECK_FALSE(r.authorization_repeated);
                                CHECK(r.head.find(http::field::authorization) == r.head.end());
                                CHECK(r.query.first("query") == std::optional<std::string_view>("up"));
                              }},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) { CHECK(o.upstream.reached); }});
  cases.push_back({"a form body is parsed for the step and can be replaced",
                   Script{.want_body = true,
                          .replace_body = "query=up%7Btenant%3D%22a%22%7D",
                          .inspect =
                              [](const Request& r) {
                                REQUIRE(r.form != nullptr);
                                CHECK(r.form->first("query") ==
                                      std::optional<std::string_view>("rate(x[5m])"));
                              }},
                   post_form("query=rate(x%5B5m%5D)"),
                   [](const Outcome& o) {
                     CHECK(o.counters.seen_body == "query=rate(x%5B5m%5D)");
                     CHECK(o.upstream.body == "query=up%7Btenant%3D%22a%22%7D");
                   }});
  cases.push_back({"a response body can be edited; the length follows",
                   Script{.want_response_body = true, .append_to_response = "\n"},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.status == 200);
                     CHECK(o.body == "{\"status\":\"success\"}\n");
                   }});
  cases.push_back({"a response can be refused after the upstream answered",
                   Script{.want_response_body = true, .respond_on_response = true},
                   get("/api/v1/query?query=up"),
                   [](const Outcome& o) {
                     CHECK(o.upstream.reached);
                     CHECK(o.status == 422);
                     CHECK(o.body.find("scripted response refusal") != std::string::npos);
                   }});
  for (auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Outcome o = run_one(c.script, c.req);
      c.check(o);
      CHECK(o.counters.created == 1);
      CHECK(o.counters.destroyed == 1);
      // The access line names the principal the step set, after the steps are gone.
      CHECK(o.access_log.find("\"principal\":\"tester\"") != std::string::npos);
      CHECK(o.decision_log.find("\"tenants\":[\"team-a\"]") != std::string::npos);
    }
  }
}
