// Shared by the ingest step tests: a config with three tenants, an exchange driver that runs a
// hand-built Request through a step (headers, body, upstream answer, destroy), and small checks.
//
// Tenants: team-a (write: tenant label "tenant", scope {namespace=~"team-a.*"}, forbidden
// user_id, reject, compressed bodies <= 64 KiB), team-b (write: tenant label, any series,
// forbidden user_id, drop), team-c (no write section). Audit streams {stream="audit"}; the
// audit shipper is subject "shipper". The upstream sends X-Scope-OrgID, team-a as "org-a".
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/ingest/ingest.h"
#include "gateway/steps/services.h"

namespace ingest_test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace config = obsgate::config;
namespace gw = obsgate::gateway;
using obsgate::filters::MatchOp;

inline config::Config make_config() {
  config::Config c;
  config::Upstream up;
  up.name = "up";
  up.tenant_header = "X-Scope-OrgID";
  up.tenant_ids = {{"team-a", "org-a"}};
  c.upstreams = {up};

  config::Tenant a;
  a.name = "team-a";
  a.write.emplace();
  a.write->policy.tenant_label = "tenant";
  a.write->policy.tenant_value = "team-a";
  a.write->policy.write_scope = {{{"namespace", MatchOp::kRe, "team-a.*"}}};
  a.write->policy.forbidden_labels = {"user_id"};
  a.write->policy.limits.max_compressed_bytes = 64 * 1024;
  config::Tenant b;
  b.name = "team-b";
  b.write.emplace();
  b.write->policy.tenant_label = "tenant";
  b.write->policy.tenant_value = "team-b";
  b.write->policy.forbidden_labels = {"user_id"};
  b.write->policy.on_violation = obsgate::filters::remote_write::WritePolicy::OnViolation::kDrop;
  config::Tenant cc;
  cc.name = "team-c";
  c.tenants.tenants = {a, b, cc};
  c.tenants.unrestricted_roles = {"admin"};
  c.tenants.audit.streams = {{{"stream", MatchOp::kEq, "audit"}}};
  c.tenants.audit.shipper = config::AuditShipper{"", "shipper", ""};
  return c;
}

enum class Kind { kRemoteWrite, kLokiPush };

struct Env {
  config::Config cfg = make_config();
  config::Route route;
  prometheus::Registry registry;
  gw::Services services;
  gw::StepFactoryPtr factory;

  explicit Env(Kind kind) {
    route.name = "r";
    route.upstream = "up";
    route.auth = config::AuthMode::kRequired;
    route.path = kind == Kind::kRemoteWrite ? "/api/v1/write" : "/loki/api/v1/push";
    services.registry = &registry;
    auto f = kind == Kind::kRemoteWrite
                 ? gw::ingest::make_remote_write_step(cfg, route, services)
                 : gw::ingest::make_loki_push_step(cfg, route, services);
    INFO(f.status().to_string());
    REQUIRE(f.ok());
    factory = *f;
  }

  // The value of one counter (labels must match exactly), or -1 when absent.
  double counter(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& fam : registry.Collect()) {
      if (fam.name != name) {
        continue;
      }
      for (const auto& m : fam.metric) {
        std::map<std::string, std::string> got;
        for (const auto& l : m.label) {
          got[l.name] = l.value;
        }
        if (got == labels) {
          return m.counter.value;
        }
      }
    }
    return -1;
  }
};

struct Input {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> tenants = {"team-a"};
  std::vector<std::string> roles;
  std::string subject = "writer";
  std::string tenant_header;
  bool tenant_repeated = false;
  bool authenticated = true;
};

inline gw::Action run(asio::awaitable<gw::Action> a) {
  asio::io_context io;
  std::optional<gw::Action> out;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, gw::Action x) {
    REQUIRE_FALSE(e);
    out = x;
  });
  io.run();
  REQUIRE(out.has_value());
  return *out;
}

// One exchange through the step: on_request, then (when the step asks) the body. The
// upstream's answer is given with answer(); the destructor calls on_destroy().
struct Exchange {
  gw::RequestHead head;
  obsgate::routing::PathParams path_params;
  obsgate::routing::Params query;
  gw::ConnectionInfo conn;
  std::string body;
  std::unique_ptr<gw::Request> r;
  std::unique_ptr<gw::Step> step;
  gw::Action action = gw::Action::kContinue;
  bool body_read = false;

  Exchange(Env& env, const Input& in) : body(in.body) {
    head.method(http::verb::post);
    head.target(env.route.path);
    for (const auto& [k, v] : in.headers) {
      head.insert(k, v);
    }
    r = std::make_unique<gw::Request>(gw::Request{.head = head,
                                                  .path = env.route.path,
                                                  .path_params = path_params,
                                                  .query = query,
                                                  .conn = conn,
                                                  .cfg = env.cfg,
                                                  .route = env.route});
    r->authenticated = in.authenticated;
    r->principal.subject = in.subject;
    r->principal.tenants = in.tenants;
    r->principal.roles = in.roles;
    r->tenant = in.tenant_header;
    r->tenant_repeated = in.tenant_repeated;
    step = env.factory->create();
    action = run(step->on_request(*r));
    if (action == gw::Action::kContinue && step->wants_request_body(*r)) {
      body_read = true;
      r->body = &body;
      action = run(step->on_request_body(*r));
    }
  }
  ~Exchange() { step->on_destroy(); }
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // What the upstream receives: the step's body, else the client's.
  [[nodiscard]] const std::string& forwarded() const {
    return r->forward_body ? *r->forward_body : body;
  }
  [[nodiscard]] std::string header(std::string_view name) const {
    return std::string(head[name]);
  }
  gw::Action answer(unsigned status) {
    gw::ResponseHead res;
    res.result(status);
    return step->on_response_head(*r, res);
  }
};

// Composable checks.
using Check = std::function<void(Exchange&)>;

inline Check responds(unsigned status, std::string contains = {},
                      std::string reason = {}) {
  return [=](Exchange& x) {
    INFO(x.r->reply.message);
    REQUIRE(x.action == gw::Action::kRespond);
    CHECK(x.r->reply.status == status);
    CHECK(x.r->reply.message.find(contains) != std::string::npos);
    if (!reason.empty()) {
      CHECK(x.r->reply.reason == reason);
    }
    CHECK(x.r->decision.recorded);
    CHECK_FALSE(x.r->decision.allow);
  };
}

inline Check forwards() {
  return [](Exchange& x) {
    INFO(x.r->reply.message);
    REQUIRE(x.action == gw::Action::kContinue);
    CHECK(x.body_read);
    CHECK(x.r->decision.recorded);
    CHECK(x.r->decision.allow);
  };
}

inline Check has_header(std::string name, std::string value) {
  return [=](Exchange& x) { CHECK(x.header(name) == value); };
}

inline Check decision(std::string reason) {
  return [=](Exchange& x) { CHECK(x.r->decision.reason == reason); };
}

inline Check all(std::vector<Check> checks) {
  return [=](Exchange& x) {
    for (const auto& c : checks) {
      c(x);
    }
  };
}

}  // namespace ingest_test
