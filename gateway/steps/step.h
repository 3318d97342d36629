// The per-route processing-step interface (CONVENTIONS #1-2).
//
// A route runs a chain of steps between routing and forwarding: authentication first (when
// the route requires a principal), then the route's enforcer. Each step sees the request head
// once it is routed, optionally the whole buffered request body, the upstream response head and
// optionally the whole buffered response body. Every callback returns kContinue or kRespond:
// kRespond stops the chain and the session sends `Request::reply` instead of going on. Steps
// override only what they need (the base class passes everything through).
//
// Lifetime and threading: a StepFactory is built once per config generation (from the route's
// config and the shared Services) and is immutable and shared by all worker threads; create()
// makes one Step per request, which lives on the session's coroutine and is touched by that
// worker's thread only. on_destroy() is called exactly once when the exchange ends, whatever
// happened (client gone, local reply, upstream error); a step with async work in flight must
// cancel it there. Nothing is called after a kRespond except on_destroy().
//
// Body handling: if any step's wants_request_body() is true, the session buffers the request
// body (cap: server.limits.max_buffered_body_bytes, else 413) before on_request_body(). If any
// step's wants_response_body() is true for the upstream response head, the session buffers the
// upstream's response (same cap, else 502) and calls on_response_body(); otherwise the
// response streams through untouched.
//
// Rewrites: a step changes what is forwarded only through Request: the head (headers),
// `forward_query` / `forward_body` (the session re-frames the body with Content-Length), and
// `upstream` (another upstream of the same runtime). Response rewrites go through the head and
// the buffered body passed to on_response_body().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authz/principal/principal.h"
#include "common/status.h"
#include "gateway/routing/params.h"
#include "gateway/routing/router.h"

struct x509_st;

namespace obsgate::config {
struct Config;
struct Route;
}  // namespace obsgate::config

namespace obsgate::gateway {

struct UpstreamRuntime;
struct Services;

using RequestHead = boost::beast::http::request_header<>;
using ResponseHead = boost::beast::http::response_header<>;

enum class Action { kContinue, kRespond };

// What the session sends instead of forwarding. With `raw` false, `message` is wrapped in the
// route's API error format (Prometheus JSON, Loki plain text, OpenBao JSON, ...). With `raw`
// true, `body` and `content_type` are sent as they are (e.g. a merged exposition).
struct StepReply {
  unsigned status = 500;
  std::string message;           // for the client; never secrets or key material
  std::string reason;            // for logs and metrics: "<module>_denied{<reason>}"
  std::string www_authenticate;  // set on 401 and on 403 insufficient_scope
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
  bool raw = false;
  std::string content_type;
  std::string body;
};

// The client connection, as far as identity is concerned.
struct ConnectionInfo {
  std::string_view listener;
  std::string_view client_ip;
  bool tls = false;
  // The client certificate, verified against the listener's client CA; null when none was
  // presented (or the listener is plain). Owned by the TLS session; valid for the request.
  x509_st* peer_cert = nullptr;
};

// Filled by steps, written by the session as one decision-log line when `recorded` is set.
struct Decision {
  bool recorded = false;
  bool allow = false;
  std::string reason;             // e.g. "ok", "expired", "insufficient_role"
  std::string token_fingerprint;  // keyed HMAC of the token, never the token
  std::vector<std::pair<std::string, std::string>> extra;  // e.g. {"audit_access", "true"}
};

struct Request {
  // Mutable: steps may set or erase headers. Before the chain runs, the session has already
  // removed hop-by-hop headers and the upstream's stripped headers (Authorization,
  // X-Scope-OrgID, X-Vault-Token, X-Obsgate-Tenant, ... see config::default_stripped_headers),
  // so a header a step sets (a tenant header, an injected token) is sent exactly as set. The
  // client's values of the two headers steps need are kept below.
  RequestHead& head;
  std::string_view path;                   // normalised, without the query
  const routing::PathParams& path_params;  // {name} segments of the route's path
  const routing::Params& query;            // the URL's query parameters, parsed once
  // The urlencoded form body's parameters, when the body is a form and has been read
  // (routes with a parameter allowlist read form bodies before the steps run).
  const routing::Params* form = nullptr;
  const ConnectionInfo& conn;
  const config::Config& cfg;
  const config::Route& route;
  const UpstreamRuntime* upstream = nullptr;  // a step may pick another upstream

  // The client's Authorization and X-Obsgate-Tenant values (removed from `head`). A field sent
  // more than once is flagged, never joined: the consumer refuses it. When the route says
  // `forward_token: true`, the session puts the client's Authorization back on the forwarded
  // request after the chain ran (only if a step authenticated the request).
  std::string authorization{};
  bool authorization_repeated = false;
  std::string tenant{};
  bool tenant_repeated = false;

  // Set by the authentication step.
  bool authenticated = false;
  authz::Principal principal{};

  // The buffered request body, when some step asked for it (after on_request).
  std::string* body = nullptr;

  // Rewrites of what is forwarded: the query string (without '?'; replaces the client's) and
  // the body (replaces the client's; sent with Content-Length; set `forward_content_type` too
  // when it changes).
  std::optional<std::string> forward_query{};
  std::optional<std::string> forward_body{};
  std::optional<std::string> forward_content_type{};

  StepReply reply{};
  Decision decision{};
};

class Step {
 public:
  virtual ~Step() = default;
  Step() = default;
  Step(const Step&) = delete;
  Step& operator=(const Step&) = delete;

  // The request head is read and routed. Async work (a key refetch) may suspend here.
  virtual boost::asio::awaitable<Action> on_request(Request& /*r*/) {
    co_return Action::kContinue;
  }
  [[nodiscard]] virtual bool wants_request_body(const Request& /*r*/) const { return false; }
  // The whole request body is in *r.body (only when some step wanted it).
  virtual boost::asio::awaitable<Action> on_request_body(Request& /*r*/) {
    co_return Action::kContinue;
  }
  // The upstream's response head; headers may be edited. kRespond replaces the response.
  virtual Action on_response_head(Request& /*r*/, ResponseHead& /*head*/) {
    return Action::kContinue;
  }
  [[nodiscard]] virtual bool wants_response_body(const Request& /*r*/,
                                                 const ResponseHead& /*head*/) const {
    return false;
  }
  // The whole upstream response body; edit it in place. kRespond replaces the response.
  virtual Action on_response_body(Request& /*r*/, ResponseHead& /*head*/,
                                  std::string& /*body*/) {
    return Action::kContinue;
  }
  // Called once when the exchange ends, however it ended.
  virtual void on_destroy() {}
};

class StepFactory {
 public:
  virtual ~StepFactory() = default;
  [[nodiscard]] virtual std::unique_ptr<Step> create() const = 0;
};

using StepFactoryPtr = std::shared_ptr<const StepFactory>;

// The usual factory: one S(shared) per request from the route's immutable state of this config
// generation (S's constructor takes std::shared_ptr<const Shared>).
template <typename S, typename Shared>
class SharedStateFactory final : public StepFactory {
 public:
  explicit SharedStateFactory(std::shared_ptr<const Shared> s) : s_(std::move(s)) {}
  [[nodiscard]] std::unique_ptr<Step> create() const override { return std::make_unique<S>(s_); }

 private:
  std::shared_ptr<const Shared> s_;
};

}  // namespace obsgate::gateway
