// Test fixtures shared by the step unit tests (prometheus, loki): a hand-built Request run
// through one step without sockets.
//
//   StepInput in;                 // path, method, query string, form body, principal, ...
//   in.query = "query=up";
//   StepExchange x(*factory, cfg, route, in);   // runs on_request() to completion
//   x.action, x.r->reply, x.forwarded()          // what the step decided / would forward
//   std::string body = "...";
//   x.respond(200, body);                        // the upstream answers; body may be rewritten
//
// Header-only; Catch2 assertions inside (REQUIRE fails the calling test).
#pragma once

#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/step.h"

namespace obsgate::test {

struct StepInput {
  std::string path;
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string query;              // the URL's query string, without '?'
  std::optional<std::string> form;  // an urlencoded form body the session has read
  std::vector<std::string> tenants = {"team-a"};
  std::vector<std::string> roles;
  std::string tenant_header;  // X-Obsgate-Tenant
  bool tenant_repeated = false;
  bool authenticated = true;
  std::string label;  // label values: the {name} path parameter
};

// `in` changed by `f`: for table rows that differ from a base input in one field.
inline StepInput with(StepInput in, const std::function<void(StepInput&)>& f) {
  f(in);
  return in;
}

// One exchange through one step. Owns everything the Request refers to.
struct StepExchange {
  gateway::RequestHead head;
  routing::PathParams path_params;
  routing::Params query;
  std::optional<routing::Params> form;
  gateway::ConnectionInfo conn;
  std::unique_ptr<gateway::Request> r;
  std::unique_ptr<gateway::Step> step;
  gateway::Action action = gateway::Action::kContinue;

  // `on_done` runs when on_request completes, before the io_context drains what the step left
  // behind (e.g. to check that nothing is still running when the reply is decided).
  StepExchange(const gateway::StepFactory& factory, const config::Config& cfg,
               const config::Route& route, const StepInput& in,
               const std::function<void()>& on_done = {}) {
    namespace http = boost::beast::http;
    head.method(in.method);
    head.target(in.path + (in.query.empty() ? "" : "?" + in.query));
    head.set(http::field::accept_encoding, "gzip");
    auto q = routing::parse_params(in.query);
    REQUIRE(q.ok());
    query = *q;
    if (in.form) {
      auto f = routing::parse_params(*in.form);
      REQUIRE(f.ok());
      form = *f;
    }
    if (!in.label.empty()) {
      path_params.emplace_back("name").value = in.label;
    }
    r = std::make_unique<gateway::Request>(gateway::Request{.head = head,
                                                            .path = in.path,
                                                            .path_params = path_params,
                                                            .query = query,
                                                            .form = form ? &*form : nullptr,
                                                            .conn = conn,
                                                            .cfg = cfg,
                                                            .route = route});
    r->authenticated = in.authenticated;
    r->principal.subject = "u";
    r->principal.tenants = in.tenants;
    r->principal.roles = in.roles;
    r->tenant = in.tenant_header;
    r->tenant_repeated = in.tenant_repeated;
    step = factory.create();
    boost::asio::io_context io;
    bool done = false;
    boost::asio::co_spawn(io, step->on_request(*r), [&](std::exception_ptr e, gateway::Action a) {
      REQUIRE_FALSE(e);
      action = a;
      done = true;
      if (on_done) {
        on_done();
      }
    });
    io.run();
    REQUIRE(done);
  }

  // The upstream answers; returns the action and leaves the (maybe rewritten) body in `body`.
  gateway::Action respond(unsigned status, std::string& body,
                          const std::string& content_encoding = {}) {
    gateway::ResponseHead res;
    res.result(status);
    if (!content_encoding.empty()) {
      res.set(boost::beast::http::field::content_encoding, content_encoding);
    }
    if (step->on_response_head(*r, res) == gateway::Action::kRespond) {
      return gateway::Action::kRespond;
    }
    if (!step->wants_response_body(*r, res)) {
      return gateway::Action::kContinue;
    }
    return step->on_response_body(*r, res, body);
  }

  // What the upstream would see as parameters (query string or form body).
  [[nodiscard]] routing::Params forwarded() const {
    REQUIRE((r->forward_body || r->forward_query));
    const std::string& text = r->forward_body ? *r->forward_body : *r->forward_query;
    auto p = routing::parse_params(text);
    REQUIRE(p.ok());
    return *p;
  }

  // Every forwarded value of one parameter, in order.
  [[nodiscard]] std::vector<std::string> forwarded(std::string_view key) const {
    std::vector<std::string> got;
    const routing::Params fwd = forwarded();
    for (auto v : fwd.get_all(key)) {
      got.emplace_back(v);
    }
    return got;
  }
};

// The value of the counter of `family` whose labels include all of `labels`; -1 when none.
inline double counter_value(prometheus::Registry& registry, const std::string& family,
                            const std::map<std::string, std::string>& labels) {
  for (const auto& fam : registry.Collect()) {
    if (fam.name != family) {
      continue;
    }
    for (const auto& m : fam.metric) {
      size_t matched = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        matched += it != labels.end() && it->second == l.value ? 1 : 0;
      }
      if (matched == labels.size()) {
        return m.counter.value;
      }
    }
  }
  return -1;
}

}  // namespace obsgate::test
