#include "gateway/core/session.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gateway/core/deadline_stream.h"
#include "gateway/core/headers.h"
#include "gateway/core/local_reply.h"
#include "gateway/core/wire.h"
#include "gateway/routing/params.h"
#include "gateway/routing/target.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway {

namespace {

namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr size_t kRelayChunk = 32 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kUpstreamHeaderLimit = 64 * 1024;

auto redirect(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string_view as_view(const beast::flat_buffer& b) {
  auto d = b.data();
  return {static_cast<const char*>(d.data()), d.size()};
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool is_client_gone(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == http::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

// Everything the access log and the metrics need about one request.
struct Exchange {
  Clock::time_point start = Clock::now();
  std::string request_id;
  std::string method;
  std::string path;
  const RouteRuntime* route = nullptr;
  const UpstreamRuntime* upstream = nullptr;
  unsigned status = 0;
  unsigned upstream_status = 0;
  unsigned client_version = 11;  // 10 or 11, as the client spoke
  bool upgrade = false;           // a WebSocket upgrade forwarded on a loki_tail route
  bool client_keep_alive = true;  // false once the client asked to close (or spoke HTTP/1.0)
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  Clock::duration upstream_time{0};
  std::string detail;  // "<module>_denied{<reason>}" / "upstream_error{<kind>}"
  struct StepRun* run = nullptr;  // the route's steps while handle() runs; null afterwards
  std::string principal;          // for the access log: subject or certificate identity
};

// One request's steps and the Request they share. on_destroy() runs exactly once per step when
// the exchange ends, however it ended.
struct StepRun {
  StepRun(RequestHead& head, std::string_view path, const routing::PathParams& path_params,
          const routing::Params& query, const routing::Params* form, const Runtime& rt,
          const RouteRuntime& route, const UpstreamRuntime* up, const ListenerInfo& listener,
          std::string_view client_ip, x509_st* cert)
      : conn{listener.name, client_ip, listener.tls, cert},
        req{head, path, path_params, query, form, conn, *rt.cfg, *route.cfg, up} {
    take(head, http::field::authorization, req.authorization, req.authorization_repeated);
    take(head, "X-Obsgate-Tenant", req.tenant, req.tenant_repeated);
  }
  StepRun(const StepRun&) = delete;
  StepRun& operator=(const StepRun&) = delete;
  ~StepRun() {
    for (auto& st : steps) {
      st->on_destroy();
    }
  }

  template <class Name>
  static void take(const RequestHead& head, Name name, std::string& out, bool& repeated) {
    auto range = head.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) {
      if (!out.empty() || it != range.first) {
        repeated = true;
      }
      out = std::string(it->value());
    }
  }

  ConnectionInfo conn;
  Request req;
  std::vector<std::unique_ptr<Step>> steps;
};

enum class IoStep { kOk, kClientGone, kClientBadBody, kBodyTooLarge, kUpstreamFailed };

std::string principal_label(const authz::Principal& p) {
  return p.cert_identity.empty() ? p.subject : p.cert_identity;
}

struct StepResult {
  IoStep step = IoStep::kOk;
  error_code ec;
};

template <class Stream>
class Session {
 public:
  Session(Stream& stream, DeadlineStream& tcp, const ListenerInfo& listener, Worker& worker)
      : stream_(stream), tcp_(tcp), listener_(listener), worker_(worker) {
    error_code ec;
    auto ep = tcp_.socket().remote_endpoint(ec);
    client_ip_ = ec ? "unknown" : ep.address().to_string();
  }

  asio::awaitable<void> run() {
    worker_.conns().push_front(ConnEntry{[this] {
                                            error_code ec;
                                            tcp_.socket().close(ec);
                                          },
                                          true});
    entry_ = worker_.conns().begin();
    while (co_await one_request()) {
    }
    worker_.conns().erase(entry_);
  }

 private:
  const config::Config& cfg() const { return *rt_->cfg; }

  // Reads the request head into buf_. Returns the head length, 0 when the connection ended
  // (quietly or after a local reply).
  asio::awaitable<size_t> read_head(Exchange& ex) {
    const auto& limits = cfg().server.limits;
    const auto& timeouts = cfg().server.timeouts;
    bool started = buf_.size() > 0;
    entry_->idle = !started;
    tcp_.expires_after(started ? timeouts.request_read : timeouts.idle);
    for (;;) {
      const size_t end = find_head_end(as_view(buf_));
      if (end != std::string_view::npos) {
        if (end > limits.max_header_bytes) {
          break;
        }
        entry_->idle = false;
        co_return end;
      }
      if (buf_.size() >= limits.max_header_bytes) {
        break;
      }
      if (worker_.shared().draining.load(std::memory_order_relaxed) && !started) {
        co_return 0;
      }
      error_code ec;
      const size_t n = co_await stream_.async_read_some(buf_.prepare(kReadChunk), redirect(ec));
      if (ec) {
        if (started && ec == beast::error::timeout) {
          co_await reply(ex, config::ApiFlavor::kGeneric, 408, "request head not received in time",
                         "http_denied{head_timeout}", false);
        }
        co_return 0;
      }
      buf_.commit(n);
      if (!started) {
        started = true;
        entry_->idle = false;
        ex.start = Clock::now();
        tcp_.expires_after(timeouts.request_read);
      }
    }
    co_await reply(ex, config::ApiFlavor::kGeneric, 431, "request header fields too large",
                   "http_denied{header_too_large}", false);
    co_return 0;
  }

  asio::awaitable<bool> one_request() {
    rt_ = worker_.runtime();
    buffered_.reset();
    Exchange ex;
    const size_t head_len = co_await read_head(ex);
    if (head_len == 0) {
      co_return false;
    }
    // A reload while this connection sat idle applies to the request that just arrived.
    rt_ = worker_.runtime();
    const bool keep = co_await handle(ex, head_len);
    ex.run = nullptr;  // the steps died with handle()
    log(ex);
    co_return keep && ex.client_keep_alive &&
        !worker_.shared().draining.load(std::memory_order_relaxed);
  }

  // Handles one request whose head is in buf_[0, head_len). Returns whether the connection
  // may carry another request.
  asio::awaitable<bool> handle(Exchange& ex, size_t head_len) {
    const auto& server = cfg().server;
    if (auto bad = screen_raw_head(as_view(buf_).substr(0, head_len)); !bad.empty()) {
      co_await reply(ex, config::ApiFlavor::kGeneric, 400, "malformed request head",
                     "http_denied{" + std::string(bad) + "}", false);
      co_return false;
    }
    http::request_parser<http::buffer_body> p;
    p.header_limit(static_cast<std::uint32_t>(server.limits.max_header_bytes));
    p.body_limit(server.limits.max_body_bytes);
    error_code ec;
    const size_t used = p.put(asio::buffer(buf_.data().data(), head_len), ec);
    if (ec == http::error::body_limit) {
      co_await reply(ex, config::ApiFlavor::kGeneric, 413, "request body too large",
                     "http_denied{body_too_large}", false);
      co_return false;
    }
    if (ec || !p.is_header_done()) {
      co_await reply(ex, config::ApiFlavor::kGeneric, 400, "malformed request",
                     "http_denied{malformed_request}", false);
      co_return false;
    }
    buf_.consume(used);
    auto& req = p.get();
    ex.method = std::string(req.method_string());
    ex.client_version = req.version() == 10 ? 10 : 11;
    ex.client_keep_alive = req.keep_alive();
    if (auto id = req["X-Request-Id"]; valid_request_id(id)) {
      ex.request_id = std::string(id);
    } else {
      ex.request_id = new_request_id();
    }
    if (auto bad = check_request_framing(req, req.version(), server.limits.max_header_count);
        !bad.empty()) {
      const bool too_many = bad == "too_many_headers";
      co_await reply(ex, config::ApiFlavor::kGeneric, too_many ? 431 : 400,
                     too_many ? "too many header fields" : "ambiguous message framing",
                     "http_denied{" + std::string(bad) + "}", false);
      co_return false;
    }
    const bool has_body = !p.is_done();

    auto target = routing::parse_target(req.target());
    if (!target.ok()) {
      ex.path = std::string(req.target().substr(0, 256));
      co_await reply(ex, config::ApiFlavor::kGeneric, 400, "invalid request target",
                     "routing_denied{" + target.status().message() + "}", !has_body);
      co_return !has_body;
    }
    ex.path = target->path;
    rt_->router.match_into(req.method_string(), target->path, match_);
    if (match_.kind == routing::MatchKind::kNotFound) {
      co_await reply(ex, config::ApiFlavor::kGeneric, 404, "no route for this path",
                     "routing_denied{no_route}", !has_body);
      co_return !has_body;
    }
    if (match_.kind == routing::MatchKind::kMethodNotAllowed) {
      co_await reply(ex, config::ApiFlavor::kGeneric, 405, "method not allowed on this path",
                     "routing_denied{method_not_allowed}", !has_body, match_.allow);
      co_return !has_body;
    }
    const RouteRuntime& route = rt_->routes[match_.route_index];
    const UpstreamRuntime* up = &rt_->upstreams[route.upstream];
    ex.route = &route;
    ex.upstream = up;
    const auto flavor = up->cfg->api;
    const bool has_steps = !route.steps.empty();

    // Parameters are parsed once: for the route's allowlist (default deny) and for the steps.
    // Prometheus and Loki read the URL and urlencoded form bodies alike (Go's ParseForm), so
    // both are inspected; multipart bodies (which Go's FormValue also reads) are refused.
    routing::Params query;
    std::optional<routing::Params> form;
    const bool allowlist = !route.cfg->unsafe_any_query_params;
    if (allowlist || has_steps) {
      if (target->has_query) {
        auto params = routing::parse_params(target->raw_query);
        if (!params.ok()) {
          co_await reply(ex, flavor, 400, "invalid query string",
                         "params_denied{" + params.status().message() + "}", !has_body);
          co_return !has_body;
        }
        query = std::move(params).value();
        if (const std::string* bad = allowlist ? disallowed_param(route, query) : nullptr) {
          co_await refuse_param(ex, flavor, *bad, has_body);
          co_return !has_body;
        }
      }
      const auto media = media_type(req[http::field::content_type]);
      if (has_body && beast::iequals(media, "multipart/form-data")) {
        co_await reply(ex, flavor, 415, "multipart/form-data bodies are not accepted here",
                       "params_denied{multipart_body}", false);
        co_return false;
      }
      if (has_body && beast::iequals(media, "application/x-www-form-urlencoded")) {
        if (!co_await read_body(ex, p, flavor)) {
          co_return false;
        }
        auto parsed = routing::parse_params(*buffered_);
        if (!parsed.ok()) {
          co_await reply(ex, flavor, 400, "invalid form body",
                         "params_denied{" + parsed.status().message() + "}", true);
          co_return true;
        }
        form = std::move(parsed).value();
        if (const std::string* bad = allowlist ? disallowed_param(route, *form) : nullptr) {
          co_await refuse_param(ex, flavor, *bad, false);
          co_return true;
        }
      }
    }

    // The forwarded head: normalised path, owned and hop-by-hop headers removed before any
    // step runs, so what a step sets is sent as set.
    const bool client_keep_alive = req.keep_alive();
    const bool client_chunked = p.chunked();
    const bool expect_continue = beast::iequals(req[http::field::expect], "100-continue");
    std::optional<StepRun> run;
    if (has_steps) {
      run.emplace(req.base(), ex.path, match_.params, query, form ? &*form : nullptr, *rt_,
                  route, up, listener_, client_ip_, peer_cert());
      ex.run = &*run;
    }
    // RFC 6455: the Loki tail WebSocket is the one upgrade obsgate forwards, and only after
    // the route's steps accepted the upgrade request.
    ex.upgrade = route.cfg->enforcer == config::Enforcer::kLokiTail && !has_body &&
                 beast::iequals(trim_ows(req[http::field::upgrade]), "websocket") &&
                 header_has_token(req[http::field::connection], "upgrade");
    remove_hop_by_hop(req);
    strip_headers(req, up->cfg->strip_request_headers);
    req.erase(http::field::expect);

    std::optional<std::string> fwd_query;
    if (run) {
      Request& r = run->req;
      run->steps.reserve(route.steps.size());
      for (auto& f : route.steps) {
        run->steps.push_back(f->create());
      }
      bool respond = false;
      for (auto& st : run->steps) {
        if (co_await st->on_request(r) == Action::kRespond) {
          respond = true;
          break;
        }
      }
      if (!respond) {
        const bool want_body = std::any_of(run->steps.begin(), run->steps.end(),
                                           [&](const auto& st) { return st->wants_request_body(r); });
        if (want_body) {
          if (has_body && !buffered_ && !co_await read_body(ex, p, flavor)) {
            write_decision(ex, r);
            co_return false;
          }
          if (!buffered_) {
            buffered_.emplace();
          }
          r.body = &*buffered_;
          for (auto& st : run->steps) {
            if (co_await st->on_request_body(r) == Action::kRespond) {
              respond = true;
              break;
            }
          }
        }
      }
      write_decision(ex, r);
      if (r.authenticated) {
        ex.principal = principal_label(r.principal);
      }
      if (respond) {
        const bool consumed = !has_body || buffered_.has_value();
        co_await step_reply(ex, flavor, r.reply, consumed);
        co_return consumed;
      }
      if (r.forward_body) {
        // The client's body is replaced: read (and drop) it first so the connection stays in
        // step, then send the step's body with a plain Content-Length.
        if (has_body && !buffered_ && !co_await read_body(ex, p, flavor)) {
          co_return false;
        }
        buffered_ = std::move(*r.forward_body);
        if (r.forward_content_type) {
          req.set(http::field::content_type, *r.forward_content_type);
        }
      }
      if (route.cfg->forward_token && r.authenticated && !r.authorization.empty()) {
        req.set(http::field::authorization, r.authorization);
      }
      fwd_query = std::move(r.forward_query);
      up = r.upstream;
      ex.upstream = up;
    }

    if (ex.upgrade) {
      req.set(http::field::connection, "Upgrade");
      req.set(http::field::upgrade, "websocket");
    }
    if (buffered_) {
      // The body was read here already: forward it with a plain Content-Length.
      req.chunked(false);
      req.content_length(buffered_->size());
    }
    // Built in a per-connection buffer: no allocation once it has grown to the usual size.
    // send_request() writes it as the request line's target.
    std::string& fwd_target = target_buf_;
    fwd_target.assign(up->cfg->base_path);
    fwd_target += target->path;
    if (fwd_query) {
      if (!fwd_query->empty()) {
        fwd_target += '?';
        fwd_target += *fwd_query;
      }
    } else if (target->has_query) {
      fwd_target += '?';
      fwd_target += target->raw_query;
    }
    req.version(11);
    // The target and the gateway's own fields (Host, X-Request-Id, X-Forwarded-*) go on the
    // wire after the client's fields when send_request() serialises the head; setting them into
    // the parsed head would cost a field node allocation each. Same values, same "replace"
    // semantics: the client's copies are erased.
    fwd_fields_.clear();
    append_field(fwd_fields_, "Host", up->host_header);
    append_field(fwd_fields_, "X-Request-Id", ex.request_id);
    req.erase(http::field::host);
    req.erase("X-Request-Id");
    move_forwarded_to(fwd_fields_, req, client_ip_, listener_.tls);
    if (client_chunked && !buffered_) {
      req.chunked(true);
    }
    // RFC 9110 §10.1.1: no 100 (Continue) to an HTTP/1.0 client.
    if (expect_continue && has_body && ex.client_version == 11 && !buffered_) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      tcp_.expires_after(server.timeouts.request_read);
      co_await http::async_write(stream_, cont, redirect(ec));
      if (ec) {
        co_return false;
      }
    }
    co_return co_await forward(ex, p, *up, has_body, client_keep_alive);
  }

  // The first parameter outside the route's allowlist; null when all are allowed. A plain
  // function: the common case (all allowed) costs no coroutine frame.
  static const std::string* disallowed_param(const RouteRuntime& route,
                                             const routing::Params& params) {
    for (const auto& [k, v] : params) {
      if (!std::binary_search(route.allowed_params.begin(), route.allowed_params.end(), k)) {
        return &k;
      }
    }
    return nullptr;
  }

  asio::awaitable<void> refuse_param(Exchange& ex, config::ApiFlavor flavor,
                                     const std::string& key, bool has_body) {
    co_await reply(ex, flavor, 400,
                   "parameter '" + key.substr(0, 64) + "' is not allowed on this endpoint",
                   "params_denied{not_allowed}", !has_body);
  }

  // Buffers the request body (cap: max_buffered_body_bytes); answers 413/400 itself on
  // failure. Returns false when the connection must close.
  asio::awaitable<bool> read_body(Exchange& ex, http::request_parser<http::buffer_body>& p,
                                  config::ApiFlavor flavor) {
    IoStep st = co_await buffer_body(p, cfg().server.limits.max_buffered_body_bytes, ex);
    if (st == IoStep::kOk) {
      co_return true;
    }
    if (st == IoStep::kBodyTooLarge || st == IoStep::kClientBadBody) {
      const bool big = st == IoStep::kBodyTooLarge;
      co_await reply(ex, flavor, big ? 413 : 400,
                     big ? "request body too large" : "malformed request body",
                     big ? "http_denied{body_too_large}" : "http_denied{malformed_body}", false);
    }
    co_return false;
  }

  // The client certificate of a TLS connection, only when it verified against the listener's
  // client CA.
  x509_st* peer_cert() {
    if constexpr (requires { stream_.native_handle(); }) {
      SSL* ssl = stream_.native_handle();
      X509* cert = SSL_get0_peer_certificate(ssl);
      if (cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
        return cert;
      }
    }
    return nullptr;
  }

  // One decision-log line per request whose steps recorded a decision.
  void write_decision(const Exchange& ex, const Request& r) {
    if (!r.decision.recorded) {
      return;
    }
    auto& sink = worker_.shared().decision_log;
    if (!sink || !sink->enabled()) {
      return;
    }
    JsonLine line;
    line.str("time", utc_timestamp_now())
        .str("request_id", ex.request_id)
        .str("route", r.route.name)
        .str("method", ex.method)
        .str("path", ex.path)
        .str("decision", r.decision.allow ? "allow" : "deny")
        .str("reason", r.decision.reason);
    const auto& pr = r.principal;
    if (r.authenticated) {
      line.str("issuer", pr.issuer).str("subject", pr.subject);
      if (!pr.cert_identity.empty()) {
        line.str("cert_identity", pr.cert_identity);
      }
      line.strs("tenants", pr.tenants).strs("roles", pr.roles);
    }
    if (!r.decision.token_fingerprint.empty()) {
      line.str("token_fingerprint", r.decision.token_fingerprint);
    }
    for (const auto& [k, v] : r.decision.extra) {
      line.str(k, v);
    }
    line.str("remote", client_ip_);
    sink->write(line.finish());
  }

  // Sends a step's reply: in the route's API error format, or as the step's own body (raw).
  asio::awaitable<void> step_reply(Exchange& ex, config::ApiFlavor flavor, const StepReply& sr,
                                   bool keep_alive) {
    LocalReply lr;
    if (sr.raw) {
      lr.status = sr.status;
      lr.content_type = sr.content_type;
      lr.body = sr.body;
    } else {
      const bool expose = cfg().server.expose_error_reasons;
      lr = make_local_reply(flavor, sr.status, sr.message, sr.reason, expose);
    }
    // Arguments are named locals: GCC 12 destroys some temporaries passed to a coroutine twice
    // (a conditional producing a std::string, a braced temporary bound to a reference).
    std::string detail = sr.reason.empty() ? std::string("step_reply") : sr.reason;
    co_await send_reply(ex, sr.status, std::move(lr), std::move(detail), keep_alive,
                        std::string_view(), sr.www_authenticate, sr.headers);
  }

  // The media type of a Content-Type value, without parameters or surrounding space.
  static std::string_view media_type(std::string_view content_type) {
    return trim_ows(content_type.substr(0, content_type.find(';')));
  }

  // Reads the whole request body into buffered_, at most `cap` bytes.
  asio::awaitable<IoStep> buffer_body(http::request_parser<http::buffer_body>& p, uint64_t cap,
                                    Exchange& ex) {
    if (beast::iequals(p.get()[http::field::expect], "100-continue") && ex.client_version == 11) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      error_code ec;
      tcp_.expires_after(cfg().server.timeouts.request_read);
      co_await http::async_write(stream_, cont, redirect(ec));
      if (ec) {
        co_return IoStep::kClientGone;
      }
    }
    if (p.content_length() && *p.content_length() > cap) {
      co_return IoStep::kBodyTooLarge;
    }
    buffered_.emplace();
    auto& body = p.get().body();
    while (!p.is_done()) {
      body.data = chunk();
      body.size = kRelayChunk;
      error_code ec;
      tcp_.expires_after(cfg().server.timeouts.request_read);
      co_await http::async_read_some(stream_, buf_, p, redirect(ec));
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (ec == http::error::body_limit) {
        co_return IoStep::kBodyTooLarge;
      }
      if (ec) {
        co_return is_client_gone(ec) ? IoStep::kClientGone : IoStep::kClientBadBody;
      }
      const size_t n = kRelayChunk - body.size;
      if (buffered_->size() + n > cap) {
        co_return IoStep::kBodyTooLarge;
      }
      buffered_->append(chunk(), n);
      ex.bytes_in += n;
    }
    co_return IoStep::kOk;
  }

  // Sends the request upstream and relays the response. Requests without a body are replayed
  // once on a fresh connection when a pooled connection turns out to be dead.
  asio::awaitable<bool> forward(Exchange& ex, http::request_parser<http::buffer_body>& p,
                                const UpstreamRuntime& up, bool has_body, bool client_keep_alive) {
    const auto& timeouts = cfg().server.timeouts;
    const auto flavor = up.cfg->api;
    for (int attempt = 0; attempt < 2; ++attempt) {
      // RFC 9110 §9.2.2: only idempotent requests are replayed automatically.
      const bool idempotent = ex.method == "GET" || ex.method == "HEAD" ||
                              ex.method == "OPTIONS" || ex.method == "PUT" ||
                              ex.method == "DELETE";
      const bool replayable = idempotent && (!has_body || buffered_.has_value());
      UpstreamConnPtr conn = worker_.pool().take(up, /*check_alive=*/!replayable);
      const bool reused = conn != nullptr;
      const auto t0 = Clock::now();
      if (!conn) {
        ConnectResult cr = co_await connect_upstream(up, timeouts);
        ex.upstream_time += Clock::now() - t0;
        if (!cr.conn) {
          co_return co_await upstream_failed(ex, up, *cr.error, cr.message, has_body);
        }
        conn = std::move(cr.conn);
        up.conn_new->Increment();
      } else {
        up.conn_reused->Increment();
      }
      StepResult sent = conn->tls() ? co_await send_request(conn->ssl(), *conn, p, ex)
                                    : co_await send_request(conn->plain(), *conn, p, ex);
      if (sent.step == IoStep::kClientGone) {
        conn->close();
        co_return false;
      }
      if (sent.step == IoStep::kBodyTooLarge || sent.step == IoStep::kClientBadBody) {
        conn->close();
        const bool big = sent.step == IoStep::kBodyTooLarge;
        co_await reply(ex, flavor, big ? 413 : 400,
                       big ? "request body too large" : "malformed request body",
                       big ? "http_denied{body_too_large}" : "http_denied{malformed_body}",
                       false);
        co_return false;
      }
      if (sent.step == IoStep::kOk) {
        std::optional<http::response_parser<http::buffer_body>> rp;
        const auto t1 = Clock::now();
        error_code ec = conn->tls() ? co_await read_response_head(conn->ssl(), *conn, rp, ex)
                                    : co_await read_response_head(conn->plain(), *conn, rp, ex);
        ex.upstream_time += Clock::now() - t1;
        if (!ec && rp->get().result_int() == 101) {
          if (conn->tls()) {
            co_await tunnel(conn->ssl(), *conn, *rp, ex);
          } else {
            co_await tunnel(conn->plain(), *conn, *rp, ex);
          }
          conn->close();
          co_return false;
        }
        if (!ec) {
          const bool keep = conn->tls()
                                ? co_await relay_response(conn->ssl(), *conn, *rp, ex, client_keep_alive)
                                : co_await relay_response(conn->plain(), *conn, *rp, ex, client_keep_alive);
          // Bytes past the response (an upstream answering more than it was asked) must never
          // reach the next request's client: such a connection is closed, not pooled.
          if (keep && rp->is_done() && rp->keep_alive() && ex.detail.empty() &&
              conn->buffer.size() == 0) {
            worker_.pool().put(std::move(conn), up);
          } else {
            conn->close();
          }
          co_return keep;
        }
        sent.ec = ec;
      }
      conn->close();
      // A dead pooled connection: safe to replay only if nothing of a body was consumed.
      if (reused && replayable && attempt == 0 && sent.ec != beast::error::timeout) {
        continue;
      }
      const auto kind = sent.ec == beast::error::timeout ? UpstreamErrorKind::kResponseTimeout
                        : (sent.ec == http::error::end_of_stream ||
                           sent.ec == asio::error::connection_reset ||
                           sent.ec == asio::error::eof || sent.ec == asio::error::broken_pipe)
                            ? UpstreamErrorKind::kReset
                            : UpstreamErrorKind::kProtocol;
      co_return co_await upstream_failed(ex, up, kind, sent.ec.message(), has_body && !p.is_done());
    }
    co_return false;
  }

  asio::awaitable<bool> upstream_failed(Exchange& ex, const UpstreamRuntime& up,
                                        UpstreamErrorKind kind, const std::string& message,
                                        bool body_unread) {
    up.errors[static_cast<size_t>(kind)]->Increment();
    log_event("warn", "upstream '" + up.cfg->name + "' " +
                          std::string(upstream_error_kind_name(kind)) + ": " + message +
                          " (request_id=" + ex.request_id + ")");
    const bool timeout =
        kind == UpstreamErrorKind::kConnectTimeout || kind == UpstreamErrorKind::kResponseTimeout;
    co_await reply(ex, up.cfg->api, timeout ? 504 : 502,
                   timeout ? "upstream timed out" : "upstream unavailable",
                   "upstream_error{" + std::string(upstream_error_kind_name(kind)) + "}",
                   !body_unread);
    co_return !body_unread;
  }

  // One relay write: the pending head (if any) and `n` bytes of body from chunk() with the
  // body's framing, as one gather write. The buffers point into `framing_` and head_; fill it
  // in place and write it before the next fill.
  struct WriteFrame {
    std::array<asio::const_buffer, 4> bufs{};
    ChunkFraming framing_;
  };

  // Fills `wf` for one relay step; returns false when there is nothing to write yet. `last`
  // ends the body (the terminating chunk for chunked framing). A plain function, so that each
  // relay step costs the write itself and no coroutine frame.
  bool fill_write(WriteFrame& wf, bool& head_pending, Framing framing, size_t n, bool last) {
    if (head_pending && n == 0 && !last && framing != Framing::kNone) {
      // Hold the head back until the first body bytes (or the end) so both leave in one
      // write; a head on its own costs an extra syscall and packet per response.
      return false;
    }
    size_t used = 0;
    size_t total = 0;
    if (head_pending) {
      wf.bufs[used++] = asio::buffer(head_);
      total += head_.size();
    }
    if (framing == Framing::kChunked) {
      wf.framing_ = chunk_framing(n, last);
      const ChunkFraming& cf = wf.framing_;
      wf.bufs[used++] = asio::buffer(cf.prefix.data(), cf.prefix_len);
      wf.bufs[used++] = asio::buffer(chunk(), n);
      wf.bufs[used++] = asio::buffer(cf.suffix.data(), cf.suffix_len);
      total += cf.prefix_len + n + cf.suffix_len;
    } else if (framing != Framing::kNone && n > 0) {
      wf.bufs[used++] = asio::buffer(chunk(), n);
      total += n;
    }
    head_pending = false;
    return total > 0;
  }

  template <class Up>
  asio::awaitable<StepResult> send_request(Up& up, UpstreamConn& conn,
                                           http::request_parser<http::buffer_body>& p,
                                           Exchange& ex) {
    const auto& timeouts = cfg().server.timeouts;
    auto& req = p.get();
    head_.clear();
    append_head(head_, req.base(), target_buf_, fwd_fields_);
    if (buffered_) {
      // A body the gateway had to see whole: head and body in one write.
      head_ += *buffered_;
      error_code wec;
      conn.tcp().expires_after(timeouts.upstream_response);
      co_await asio::async_write(up, asio::buffer(head_), redirect(wec));
      co_return wec ? StepResult{IoStep::kUpstreamFailed, wec} : StepResult{};
    }
    const Framing framing = req.chunked()                  ? Framing::kChunked
                            : p.content_length().has_value() ? Framing::kLength
                                                             : Framing::kNone;
    bool head_pending = true;
    auto& body = req.body();
    error_code ec;
    for (;;) {
      size_t n = 0;
      if (!p.is_done()) {
        body.data = chunk();
        body.size = kRelayChunk;
        tcp_.expires_after(timeouts.request_read);
        // read_some: forward whatever has arrived; the timeout is an inactivity limit, and a
        // slow but steady sender is never held back waiting for a full chunk.
        co_await http::async_read_some(stream_, buf_, p, redirect(ec));
        if (ec == http::error::need_buffer) {
          ec = {};
        }
        if (ec == http::error::body_limit) {
          co_return StepResult{IoStep::kBodyTooLarge, ec};
        }
        if (ec) {
          co_return StepResult{is_client_gone(ec) ? IoStep::kClientGone : IoStep::kClientBadBody, ec};
        }
        n = kRelayChunk - body.size;
        ex.bytes_in += n;
      }
      const bool last = p.is_done();
      WriteFrame wf;
      if (fill_write(wf, head_pending, framing, n, last)) {
        conn.tcp().expires_after(timeouts.upstream_response);
        co_await asio::async_write(up, wf.bufs, redirect(ec));
      }
      if (ec) {
        co_return StepResult{IoStep::kUpstreamFailed, ec};
      }
      if (last) {
        co_return StepResult{};
      }
    }
  }

  template <class Up>
  asio::awaitable<error_code> read_response_head(
      Up& up, UpstreamConn& conn, std::optional<http::response_parser<http::buffer_body>>& rp,
      Exchange& ex) {
    error_code ec;
    for (;;) {
      rp.emplace();
      rp->body_limit(boost::none);
      rp->header_limit(kUpstreamHeaderLimit);
      if (ex.method == "HEAD") {
        rp->skip(true);
      }
      conn.tcp().expires_after(cfg().server.timeouts.upstream_response);
      co_await http::async_read_header(up, conn.buffer, *rp, redirect(ec));
      if (ec) {
        co_return ec;
      }
      const unsigned status = rp->get().result_int();
      if (status == 101) {
        // Only a WebSocket upgrade we forwarded may be accepted; anything else is a protocol
        // error (we never asked for it).
        co_return ex.upgrade ? error_code{} : error_code(http::error::bad_version);
      }
      if (status >= 200 || status < 100) {
        co_return error_code{};
      }
      // 1xx interim responses are consumed here (we sent no Expect upstream).
    }
  }

  // Streams the upstream response to the client. Returns whether the client connection stays
  // open. Sets ex.detail when the exchange broke mid-stream.
  template <class Up>
  asio::awaitable<bool> relay_response(Up& up, UpstreamConn& conn,
                                       http::response_parser<http::buffer_body>& rp,
                                       Exchange& ex, bool client_keep_alive) {
    const auto& timeouts = cfg().server.timeouts;
    auto& res = rp.get();
    ex.upstream_status = res.result_int();
    ex.status = ex.upstream_status;
    const unsigned client_version = ex.client_version;
    const bool upstream_chunked = rp.chunked();
    const bool has_length = rp.content_length().has_value();
    if (upstream_chunked && !beast::iequals(trim_ows(res[http::field::transfer_encoding]),
                                            "chunked")) {
      // "gzip, chunked" and friends: we would strip the coding and pass the compressed bytes
      // off as the identity body. Refuse instead.
      ex.upstream_status = 0;
      co_await upstream_failed(ex, *ex.upstream, UpstreamErrorKind::kProtocol,
                               "unsupported transfer coding '" +
                                   std::string(res[http::field::transfer_encoding]) + "'",
                               true);
      co_return false;
    }
    if (ex.run) {
      // The route's steps see the response head, and may ask for the whole body.
      Request& r = ex.run->req;
      const auto flavor = rt_->upstreams[ex.route->upstream].cfg->api;
      for (auto& st : ex.run->steps) {
        if (st->on_response_head(r, res.base()) == Action::kRespond) {
          co_await step_reply(ex, flavor, r.reply, client_keep_alive);
          co_return client_keep_alive;
        }
      }
      const bool want = ex.method != "HEAD" &&
                        std::any_of(ex.run->steps.begin(), ex.run->steps.end(), [&](const auto& st) {
                          return st->wants_response_body(r, res.base());
                        });
      if (want) {
        co_return co_await filter_response(up, conn, rp, ex, flavor, client_keep_alive);
      }
    }
    if (has_length) {
      // One canonical value ("5, 5" collapses to "5"; the parser already checked they agree).
      // The usual case, one field already canonical, is left alone: a set() costs a field
      // node allocation.
      std::array<char, 24> digits{};
      const auto end = std::to_chars(digits.data(), digits.data() + digits.size(),
                                     *rp.content_length()).ptr;
      const std::string_view canonical(digits.data(), static_cast<size_t>(end - digits.data()));
      if (res.count(http::field::content_length) != 1 ||
          res[http::field::content_length] != canonical) {
        res.content_length(*rp.content_length());
      }
    }
    const bool no_body = ex.method == "HEAD" || ex.status == 204 || ex.status == 304 ||
                         (rp.is_done() && !upstream_chunked);
    remove_hop_by_hop(res);
    res.erase("X-Request-Id");  // ours is written after the fields (below)
    res.version(client_version);
    bool keep = client_keep_alive && !worker_.shared().draining.load(std::memory_order_relaxed);
    if (!no_body && !has_length) {
      // Chunked or close-delimited upstream body: re-chunk for HTTP/1.1 clients; HTTP/1.0
      // clients get a close-delimited body.
      if (client_version == 11) {
        res.chunked(true);
      } else {
        keep = false;
      }
    }
    res.keep_alive(keep);

    const Framing framing = no_body      ? Framing::kNone
                            : has_length ? Framing::kLength
                            : client_version == 11 ? Framing::kChunked
                                                   : Framing::kClose;
    own_fields_.clear();
    append_field(own_fields_, "X-Request-Id", ex.request_id);
    head_.clear();
    append_head(head_, res.base(), own_fields_);
    bool head_pending = true;
    auto& body = res.body();
    error_code ec;
    for (;;) {
      size_t n = 0;
      if (!rp.is_done()) {
        body.data = chunk();
        body.size = kRelayChunk;
        conn.tcp().expires_after(timeouts.upstream_response);
        const auto t0 = Clock::now();
        co_await http::async_read_some(up, conn.buffer, rp, redirect(ec));
        ex.upstream_time += Clock::now() - t0;
        if (ec == http::error::need_buffer) {
          ec = {};
        }
        if (ec && head_pending) {
          // Nothing has reached the client yet: it can still get a proper error.
          const auto kind = ec == beast::error::timeout ? UpstreamErrorKind::kResponseTimeout
                                                        : UpstreamErrorKind::kProtocol;
          ex.upstream_status = 0;
          co_await upstream_failed(ex, *ex.upstream, kind, ec.message(), true);
          co_return false;
        }
        if (ec) {
          // The status line is already on its way: the only honest signal left is to cut
          // the client connection so it sees a truncated body.
          const auto kind = ec == beast::error::timeout ? UpstreamErrorKind::kResponseTimeout
                                                        : UpstreamErrorKind::kReset;
          ex.upstream->errors[static_cast<size_t>(kind)]->Increment();
          ex.detail = "upstream_error{" + std::string(upstream_error_kind_name(kind)) + "}";
          log_event("warn", "upstream '" + ex.upstream->cfg->name + "' failed mid-response: " +
                                ec.message() + " (request_id=" + ex.request_id + ")");
          co_return false;
        }
        n = kRelayChunk - body.size;
        ex.bytes_out += n;
      }
      const bool last = rp.is_done();
      WriteFrame wf;
      if (fill_write(wf, head_pending, framing, n, last)) {
        tcp_.expires_after(timeouts.request_read);
        co_await asio::async_write(stream_, wf.bufs, redirect(ec));
      }
      if (ec) {
        ex.detail = "downstream_error{write_failed}";
        co_return false;
      }
      if (last) {
        break;
      }
    }
    co_return keep;
  }

  // After a 101 from the upstream: the 101 head goes to the client, then bytes are relayed both
  // ways until either side closes (WebSocket frames, pings and closes pass as bytes). There is
  // no inactivity limit on a tail (it may be quiet for long); a write that stalls for
  // upstream_response ends it, and so does SIGTERM's drain.
  template <class Up>
  asio::awaitable<void> tunnel(Up& up, UpstreamConn& conn,
                               http::response_parser<http::buffer_body>& rp, Exchange& ex) {
    using namespace asio::experimental::awaitable_operators;
    auto& res = rp.get();
    ex.upstream_status = 101;
    ex.status = 101;
    res.set("X-Request-Id", ex.request_id);
    head_.clear();
    append_head(head_, res.base());
    error_code ec;
    tcp_.expires_after(cfg().server.timeouts.request_read);
    co_await asio::async_write(stream_, asio::buffer(head_), redirect(ec));
    if (ec) {
      co_return;
    }
    const auto stall = cfg().server.timeouts.upstream_response;
    co_await (pump(up, conn.tcp(), stream_, tcp_, conn.buffer, stall, ex.bytes_out) ||
              pump(stream_, tcp_, up, conn.tcp(), buf_, stall, ex.bytes_in));
  }

  // One direction of a tunnel: `pending` (bytes already read past the heads) first, then
  // whatever arrives. Ends both directions when this one ends.
  template <class From, class To>
  static asio::awaitable<void> pump(From& from, DeadlineStream& from_tcp, To& to,
                                    DeadlineStream& to_tcp, beast::flat_buffer& pending,
                                    std::chrono::milliseconds stall, uint64_t& counter) {
    error_code ec;
    if (pending.size() > 0) {
      to_tcp.expires_after(stall);
      const size_t n = co_await asio::async_write(to, pending.data(), redirect(ec));
      pending.consume(n);
      counter += n;
    }
    std::array<char, 16 * 1024> buf{};
    while (!ec) {
      from_tcp.expires_never();
      const size_t n = co_await from.async_read_some(asio::buffer(buf), redirect(ec));
      if (ec) {
        break;
      }
      to_tcp.expires_after(stall);
      co_await asio::async_write(to, asio::buffer(buf.data(), n), redirect(ec));
      counter += n;
    }
    // Wake the other direction: its read fails, and the tunnel ends.
    error_code ignored;
    from_tcp.socket().cancel(ignored);
    to_tcp.socket().cancel(ignored);
  }

  // Reads the whole upstream response (cap: max_buffered_body_bytes), lets the steps edit it,
  // and sends it with a Content-Length. Nothing reaches the client before the steps ran, so any
  // failure still gets a proper error reply.
  template <class Up>
  asio::awaitable<bool> filter_response(Up& up, UpstreamConn& conn,
                                        http::response_parser<http::buffer_body>& rp,
                                        Exchange& ex, config::ApiFlavor flavor,
                                        bool client_keep_alive) {
    auto& res = rp.get();
    const auto coding = trim_ows(res[http::field::content_encoding]);
    if (!coding.empty() && !beast::iequals(coding, "identity")) {
      ex.upstream_status = 0;
      co_await upstream_failed(ex, *ex.upstream, UpstreamErrorKind::kProtocol,
                               "response with Content-Encoding '" + std::string(coding) +
                                   "' cannot be filtered",
                               true);
      co_return false;
    }
    const uint64_t cap = cfg().server.limits.max_buffered_body_bytes;
    std::string out;
    auto& body = res.body();
    error_code ec;
    while (!rp.is_done()) {
      body.data = chunk();
      body.size = kRelayChunk;
      conn.tcp().expires_after(cfg().server.timeouts.upstream_response);
      const auto t0 = Clock::now();
      co_await http::async_read_some(up, conn.buffer, rp, redirect(ec));
      ex.upstream_time += Clock::now() - t0;
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (ec) {
        const auto kind = ec == beast::error::timeout ? UpstreamErrorKind::kResponseTimeout
                                                      : UpstreamErrorKind::kProtocol;
        ex.upstream_status = 0;
        co_await upstream_failed(ex, *ex.upstream, kind, ec.message(), true);
        co_return false;
      }
      const size_t n = kRelayChunk - body.size;
      if (out.size() + n > cap) {
        ex.upstream->errors[static_cast<size_t>(UpstreamErrorKind::kProtocol)]->Increment();
        co_await reply(ex, flavor, 502, "upstream response too large to filter",
                       "upstream_error{response_too_large}", false);
        co_return false;
      }
      out.append(chunk(), n);
    }
    Request& r = ex.run->req;
    for (auto& st : ex.run->steps) {
      if (st->on_response_body(r, res.base(), out) == Action::kRespond) {
        co_await step_reply(ex, flavor, r.reply, client_keep_alive);
        co_return client_keep_alive;
      }
    }
    remove_hop_by_hop(res);
    res.erase(http::field::transfer_encoding);
    res.set(http::field::content_length, std::to_string(out.size()));
    res.set("X-Request-Id", ex.request_id);
    res.version(ex.client_version);
    const bool keep =
        client_keep_alive && !worker_.shared().draining.load(std::memory_order_relaxed);
    res.keep_alive(keep);
    head_.clear();
    append_head(head_, res.base());
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(out)};
    tcp_.expires_after(cfg().server.timeouts.request_read);
    co_await asio::async_write(stream_, bufs, redirect(ec));
    ex.bytes_out += out.size();
    if (ec) {
      ex.detail = "downstream_error{write_failed}";
      co_return false;
    }
    co_return keep;
  }

  asio::awaitable<void> reply(Exchange& ex, config::ApiFlavor flavor, unsigned status,
                              std::string_view message, std::string detail, bool keep_alive,
                              std::string_view allow = {}, std::string_view www_authenticate = {}) {
    const bool expose = rt_ ? cfg().server.expose_error_reasons : true;
    LocalReply lr = make_local_reply(flavor, status, message, detail, expose);
    co_await send_reply(ex, status, std::move(lr), std::move(detail), keep_alive, allow,
                        www_authenticate, no_headers_);
  }

  asio::awaitable<void> send_reply(
      Exchange& ex, unsigned status, LocalReply lr, std::string detail, bool keep_alive,
      std::string_view allow, std::string_view www_authenticate,
      const std::vector<std::pair<std::string, std::string>>& headers) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    for (const auto& [k, v] : headers) {
      res.set(k, v);
    }
    res.set(http::field::content_type, lr.content_type);
    if (ex.request_id.empty()) {
      ex.request_id = new_request_id();
    }
    res.set("X-Request-Id", ex.request_id);
    if (!allow.empty()) {
      res.set(http::field::allow, allow);
    }
    if (!www_authenticate.empty()) {
      res.set(http::field::www_authenticate, www_authenticate);
    }
    // A client that asked to close (Connection: close, HTTP/1.0) gets its close after a local
    // reply too, not a wait for a next request it will never send.
    const bool keep = keep_alive && ex.client_keep_alive &&
                      !worker_.shared().draining.load(std::memory_order_relaxed);
    res.keep_alive(keep);
    res.body() = std::move(lr.body);
    res.prepare_payload();
    ex.status = status;
    ex.bytes_out += res.body().size();
    worker_.shared().metrics->local_replies.Add({{"reason", detail}}).Increment();
    ex.detail = std::move(detail);
    error_code ec;
    tcp_.expires_after(rt_ ? cfg().server.timeouts.request_read : std::chrono::seconds(10));
    co_await http::async_write(stream_, res, redirect(ec));
  }

  void log(const Exchange& ex) {
    const auto end = Clock::now();
    const auto total = end - ex.start;
    const std::string_view route = ex.route ? std::string_view(ex.route->cfg->name) : "none";
    if (ex.route) {
      ex.route->total->Observe(seconds(total));
      ex.route->upstream_time->Observe(seconds(ex.upstream_time));
      ex.route->gateway->Observe(seconds(total - ex.upstream_time));
    }
    worker_.request_counter(route, ex.method, ex.status).Increment();
    auto& sink = worker_.shared().access_log;
    if (!sink || !sink->enabled()) {
      return;
    }
    JsonLine line;
    line.str("time", utc_timestamp_now())
        .str("request_id", ex.request_id)
        .str("listener", listener_.name)
        .str("remote", client_ip_);
    if (!ex.principal.empty()) {
      line.str("principal", ex.principal);
    } else {
      line.null("principal");
    }
    line.str("route", route)
        .str("method", ex.method)
        .str("path", ex.path)
        .num("status", ex.status)
        .num("bytes_in", static_cast<long long>(ex.bytes_in))
        .num("bytes_out", static_cast<long long>(ex.bytes_out));
    if (ex.upstream) {
      line.str("upstream", ex.upstream->cfg->name);
    }
    if (ex.upstream_status != 0) {
      line.num("upstream_status", ex.upstream_status);
    }
    line.dbl("duration_s", seconds(total)).dbl("upstream_s", seconds(ex.upstream_time));
    if (!ex.detail.empty()) {
      line.str("detail", ex.detail);
    }
    sink->write(line.finish());
  }

  char* chunk() {
    if (!chunk_) {
      chunk_ = std::make_unique<char[]>(kRelayChunk);
    }
    return chunk_.get();
  }

  Stream& stream_;
  DeadlineStream& tcp_;
  const ListenerInfo& listener_;
  Worker& worker_;
  std::string client_ip_;
  RuntimePtr rt_;
  beast::flat_buffer buf_;
  routing::Match match_;
  std::unique_ptr<char[]> chunk_;
  std::string head_;  // serialised head of the message being relayed
  std::string target_buf_;   // the forwarded request target, rebuilt per request
  std::string fwd_fields_;   // the gateway's fields of the forwarded request, as header lines
  std::string own_fields_;   // the gateway's fields of the relayed response, as header lines
  std::optional<std::string> buffered_;  // the current request's body, when a step needed it
  const std::vector<std::pair<std::string, std::string>> no_headers_;
  std::list<ConnEntry>::iterator entry_;
};

struct OpenGauge {
  OpenGauge(const ListenerInfo& l, Shared& s) : l_(l), s_(s) {
    l_.open->Increment();
    s_.open_connections.fetch_add(1);
  }
  ~OpenGauge() {
    l_.open->Decrement();
    s_.open_connections.fetch_sub(1);
  }
  OpenGauge(const OpenGauge&) = delete;
  OpenGauge& operator=(const OpenGauge&) = delete;
  const ListenerInfo& l_;
  Shared& s_;
};

}  // namespace

asio::awaitable<void> serve_plain(asio::ip::tcp::socket socket, const ListenerInfo& listener,
                                  Worker& worker) {
  OpenGauge gauge(listener, worker.shared());
  error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  DeadlineStream stream(std::move(socket));
  Session<DeadlineStream> s(stream, stream, listener, worker);
  co_await s.run();
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream.close();
}

asio::awaitable<void> serve_tls(asio::ip::tcp::socket socket, asio::ssl::context& ctx,
                                const ListenerInfo& listener, Worker& worker) {
  OpenGauge gauge(listener, worker.shared());
  error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  beast::ssl_stream<DeadlineStream> stream(std::move(socket), ctx);
  beast::get_lowest_layer(stream).expires_after(
      worker.runtime()->cfg->server.timeouts.request_read);
  co_await stream.async_handshake(asio::ssl::stream_base::server, redirect(ec));
  if (ec) {
    co_return;
  }
  Session<beast::ssl_stream<DeadlineStream>> s(stream, beast::get_lowest_layer(stream),
                                               listener, worker);
  co_await s.run();
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(redirect(ec));
  beast::get_lowest_layer(stream).close();
}

}  // namespace obsgate::gateway
