#include "gateway/steps/loki/loki.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "authz/policy/policy.h"
#include "config/config.h"
#include "filters/response/response.h"
#include "gateway/steps/loki/endpoints.h"
#include "gateway/steps/loki/detected.h"
#include "gateway/steps/loki/fanout.h"
#include "gateway/steps/loki/metrics.h"
#include "gateway/steps/query_api/factory.h"
#include "gateway/steps/query_api/request.h"
#include "gateway/steps/services.h"

namespace obsgate::gateway::loki_api {

namespace {

namespace http = boost::beast::http;
namespace response = filters::response;

constexpr std::string_view kEncodingFlags = "X-Loki-Response-Encoding-Flags";
constexpr size_t kDefaultLimit = 100;  // Loki's default for query_range

// Shared by every step of one route in one config generation; immutable.
struct Shared {
  Endpoint endpoint = Endpoint::kQuery;
  std::string label_param;
  authz::PolicyPtr policy;
  std::optional<config::Upstream> upstream;  // a copy: tenant header and ids
  std::vector<std::string> all_log_tenants;    // for unrestricted principals' org id
  std::shared_ptr<::prometheus::Registry> own_registry;
  std::unique_ptr<StepMetrics> metrics;
  LokiStepOptions options;
};

bool carries_labels(Endpoint e) {
  return e != Endpoint::kIndexStats && e != Endpoint::kPatterns && e != Endpoint::kTail &&
         e != Endpoint::kLabelValues;
}

// Loki reads `direction` case-insensitively; anything else is its 400.
Result<response::Direction> parse_direction(std::optional<std::string_view> d) {
  if (!d || d->empty() || boost::beast::iequals(*d, "backward")) {
    return response::Direction::kBackward;
  }
  if (boost::beast::iequals(*d, "forward")) {
    return response::Direction::kForward;
  }
  return Status::invalid_argument("invalid direction '" + std::string(*d) + "'");
}

Result<size_t> parse_limit(std::optional<std::string_view> l) {
  if (!l || l->empty()) {
    return kDefaultLimit;
  }
  size_t v = 0;
  const auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
  if (ec != std::errc() || p != l->data() + l->size() || v == 0) {
    return Status::invalid_argument("limit must be a positive integer");
  }
  return v;
}

class LokiStep final : public Step {
 public:
  explicit LokiStep(std::shared_ptr<const Shared> shared) : s_(std::move(shared)) {}

  boost::asio::awaitable<Action> on_request(Request& r) override {
    const Endpoint e = s_->endpoint;
    if (!r.authenticated) {
      // The chain puts authentication first, so this is a wiring bug: fail closed with a 500
      // (a 401 would need the authn step's WWW-Authenticate challenge, RFC 6750 section 3).
      co_return deny(r, 500, "the route has no authentication step", "chain_misconfigured",
                     Outcome::kDenied);
    }
    if (r.tenant_repeated) {
      co_return deny(r, 400, "the X-Obsgate-Tenant header may be given once",
                     "tenant_header_repeated", Outcome::kInvalid);
    }
    const std::optional<std::string_view> header = query_api::tenant_header(r);
    auto access = s_->policy->logs(r.principal, header);
    if (!access.ok()) {
      co_return deny(r, 403, access.status().message(), header ? "tenant_header" : "no_scope",
                     Outcome::kDenied);
    }
    policy_ = std::move(access->policy);

    auto merged = query_api::merged_params(r, single_valued_params());
    if (!merged.ok()) {
      s_->metrics->rewrite_error(RewriteError::kParams);
      co_return deny(r, 400, "parameter given more than once: " + merged.status().message(),
                     "duplicate_param", Outcome::kInvalid);
    }
    std::string_view label_name;
    if (e == Endpoint::kLabelValues) {
      label_name = r.path_params.get(s_->label_param).value_or("");
    }
    auto plan = enforce_params(e, *merged, policy_, label_name);
    if (!plan.ok()) {
      const bool forbidden = plan.status().code() == Code::kPermissionDenied;
      s_->metrics->rewrite_error(e == Endpoint::kLabelValues && forbidden
                                     ? RewriteError::kHiddenLabelName
                                     : RewriteError::kQuery);
      co_return deny(r, forbidden ? 403 : 400, plan.status().message(),
                     forbidden ? "forbidden" : "invalid_query",
                     forbidden ? Outcome::kDenied : Outcome::kInvalid);
    }
    if (Status st = set_org_id(r, access->tenants); !st.ok()) {
      s_->metrics->rewrite_error(RewriteError::kTenant);
      co_return deny(r, 400, st.message(), "tenant", Outcome::kInvalid);
    }
    if (plan->touches_audit) {
      r.decision.recorded = true;
      r.decision.extra.emplace_back("audit_access", "true");
    }
    const bool post = r.head.method() == http::verb::post;
    filter_ = carries_labels(e) && !policy_.scope.hidden_labels.empty();
    if (!plan->per_rule_queries.empty()) {
      co_return co_await fan_out(r, *plan, post);
    }
    query_api::forward_params(r, plan->params);
    if (filter_) {
      r.head.erase(http::field::accept_encoding);  // the body will be read
    }
    s_->metrics->outcome(e, Outcome::kEnforced);
    state_ = State::kForwarded;
    co_return Action::kContinue;
  }

  Action on_response_head(Request& r, ResponseHead& head) override {
    if (state_ != State::kForwarded || !reads_body(head)) {
      return Action::kContinue;
    }
    if (query_api::is_compressed(head)) {
      s_->metrics->rewrite_error(RewriteError::kResponse);
      return respond(r, 502, "the upstream response is compressed and cannot be filtered",
                     "response_encoding");
    }
    return Action::kContinue;
  }

  [[nodiscard]] bool wants_response_body(const Request& /*r*/,
                                         const ResponseHead& head) const override {
    return state_ == State::kForwarded && reads_body(head);
  }

  Action on_response_body(Request& r, ResponseHead& head, std::string& body) override {
    if (state_ != State::kForwarded) {
      return Action::kContinue;
    }
    state_ = State::kDone;
    if (head.result_int() != 200) {
      return redact_error(r, head.result_int(), body) ? Action::kRespond : Action::kContinue;
    }
    Result<std::string> out = filter(body);
    if (!out.ok()) {
      return filter_failed(r, out.status());
    }
    body = std::move(out).value();
    return Action::kContinue;
  }

  void on_destroy() override { state_ = State::kDone; }

 private:
  enum class State { kStart, kForwarded, kDone };

  // Hidden labels are only a concern when the principal has some; errors are read (for
  // redaction) under the same condition. A 101 (tail) is never read.
  [[nodiscard]] bool reads_body(const ResponseHead& head) const {
    if (policy_.scope.hidden_labels.empty() || head.result_int() == 101) {
      return false;
    }
    return head.result_int() == 200 ? filter_ : true;
  }

  Status set_org_id(Request& r, const std::vector<std::string>& tenants) {
    const auto& up = s_->upstream;
    if (!up || up->tenant_header.empty()) {
      return {};
    }
    const auto& names = tenants.empty() ? s_->all_log_tenants : tenants;
    auto id = org_id(*up, names, s_->endpoint == Endpoint::kTail);
    if (!id.ok()) {
      return id.status();
    }
    org_id_ = std::move(id).value();
    r.head.set(up->tenant_header, org_id_);
    return {};
  }

  // One upstream query per scope rule, merged as Loki would have answered their union.
  boost::asio::awaitable<Action> fan_out(Request& r, const Plan& plan, bool post) {
    const Endpoint e = s_->endpoint;
    auto limit = parse_limit(plan.params.first("limit"));
    auto dir = parse_direction(plan.params.first("direction"));
    if (!limit.ok() || !dir.ok()) {
      s_->metrics->rewrite_error(RewriteError::kParams);
      co_return deny(r, 400, (!limit.ok() ? limit.status() : dir.status()).message(),
                     "invalid_param", Outcome::kInvalid);
    }
    std::vector<UpstreamCall> calls;
    for (const std::string& q : plan.per_rule_queries) {
      routing::Params p = plan.params;
      p.set("query", q);
      UpstreamCall call;
      call.method = post ? "POST" : "GET";
      call.path = std::string(r.path);
      (post ? call.body : call.query) = routing::encode_params(p);
      if (!org_id_.empty()) {
        call.headers.emplace_back(s_->upstream->tenant_header, org_id_);
      }
      if (auto flags = r.head[kEncodingFlags]; !flags.empty()) {
        call.headers.emplace_back(std::string(kEncodingFlags), std::string(flags));
      }
      calls.push_back(std::move(call));
    }
    UpstreamFetcher fetch = s_->options.fetch;
    FetchResults results = co_await fetch_all(std::move(fetch), r.cfg, r.route, std::move(calls),
                                              s_->options.max_fanout_in_flight);
    // The first failure in rule order decides (fetch_all ran every rule before it).
    std::vector<std::string> bodies;
    for (auto& slot : results) {
      if (!slot) {
        break;  // not started after an earlier failure; unreachable before one
      }
      Result<UpstreamAnswer>& res = *slot;
      if (!res.ok()) {
        s_->metrics->rewrite_error(RewriteError::kResponse);
        const bool timeout = res.status().code() == Code::kDeadlineExceeded;
        co_return deny(r, timeout ? 504 : 502, "upstream query failed: " + res.status().message(),
                       "fanout_upstream", Outcome::kFailed);
      }
      if (res->status != 200) {
        // Loki's own refusal (bad query, limits): relayed, unless it names a hidden label.
        if (redact_error(r, res->status, res->body)) {
          s_->metrics->outcome(e, Outcome::kInvalid);
          co_return Action::kRespond;
        }
        std::string msg = res->body;
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) {
          msg.pop_back();
        }
        const unsigned status = res->status >= 400 && res->status < 500 ? res->status : 502;
        co_return deny(r, status, msg, "fanout_upstream",
                       status == 502 ? Outcome::kFailed : Outcome::kInvalid);
      }
      bodies.push_back(std::move(res->body));
    }
    if (bodies.size() != results.size()) {
      co_return filter_failed(r, Status::internal("a fan-out query was not run"));
    }
    std::vector<std::string_view> views(bodies.begin(), bodies.end());
    auto merged = response::merge_loki_streams(views, *limit, *dir);
    if (merged.ok() && filter_) {
      merged = response::strip_hidden_labels_loki(*merged, response::LokiEndpoint::kQueryRange,
                                                  policy_.scope.hidden_labels);
    }
    if (!merged.ok()) {
      co_return filter_failed(r, merged.status());
    }
    s_->metrics->outcome(e, Outcome::kFanout);
    state_ = State::kDone;
    r.reply = StepReply{};
    r.reply.status = 200;
    r.reply.raw = true;
    r.reply.content_type = "application/json";
    r.reply.body = std::move(merged).value();
    r.reply.reason = "loki_fanout{" + std::to_string(plan.per_rule_queries.size()) + "}";
    co_return Action::kRespond;
  }

  [[nodiscard]] Result<std::string> filter(std::string_view body) const {
    const auto& hidden = policy_.scope.hidden_labels;
    switch (s_->endpoint) {
      case Endpoint::kQuery:
        return response::strip_hidden_labels_loki(body, response::LokiEndpoint::kQuery, hidden);
      case Endpoint::kQueryRange:
        return response::strip_hidden_labels_loki(body, response::LokiEndpoint::kQueryRange,
                                                  hidden);
      case Endpoint::kSeries:
        return response::strip_hidden_labels_loki(body, response::LokiEndpoint::kSeries, hidden);
      case Endpoint::kLabels:
        return response::strip_hidden_labels_loki(body, response::LokiEndpoint::kLabels, hidden);
      case Endpoint::kIndexVolume:  // Prometheus-shaped vector/matrix of "metric" label sets
        return response::strip_hidden_labels_prometheus(body, response::Endpoint::kQuery,
                                                        hidden);
      case Endpoint::kIndexVolumeRange:
        return response::strip_hidden_labels_prometheus(body, response::Endpoint::kQueryRange,
                                                        hidden);
      case Endpoint::kDetectedLabels: return filter_detected(body, "detectedLabels", hidden);
      case Endpoint::kDetectedFields: return filter_detected(body, "fields", hidden);
      default: break;
    }
    return Status::internal("no response filter for this endpoint");
  }

  Action filter_failed(Request& r, const Status& st) {
    const bool ambiguous = st.code() == Code::kInvalidArgument;
    s_->metrics->rewrite_error(ambiguous ? RewriteError::kDuplicateStreams
                                         : RewriteError::kResponse);
    s_->metrics->outcome(s_->endpoint, ambiguous ? Outcome::kInvalid : Outcome::kFailed);
    return respond(r, ambiguous ? 400 : 502,
                   ambiguous ? st.message()
                             : "the upstream response could not be filtered: " + st.message(),
                   ambiguous ? "duplicate_streams" : "response_unfilterable");
  }

  // Loki's errors may quote label sets: one naming a hidden label is replaced, status kept.
  bool redact_error(Request& r, unsigned status, std::string_view body) {
    if (!query_api::names_hidden_label(body, policy_.scope.hidden_labels)) {
      return false;
    }
    s_->metrics->rewrite_error(RewriteError::kRedactedError);
    respond(r, status, std::string(query_api::kWithheld), "redacted_error");
    return true;
  }

  Action respond(Request& r, unsigned status, std::string message, std::string_view reason) {
    state_ = State::kDone;
    query_api::set_error_reply(r, status, std::move(message), "loki", reason);
    return Action::kRespond;
  }

  Action deny(Request& r, unsigned status, std::string message, std::string_view reason,
              Outcome outcome) {
    s_->metrics->outcome(s_->endpoint, outcome);
    return respond(r, status, std::move(message), reason);
  }

  std::shared_ptr<const Shared> s_;
  State state_ = State::kStart;
  bool filter_ = false;
  filters::logql::LogsPolicy policy_;
  std::string org_id_;
};


}  // namespace

Result<StepFactoryPtr> make_loki_step(const config::Config& cfg, const config::Route& route,
                                      Services& services, LokiStepOptions options) {
  const bool tail = route.enforcer == config::Enforcer::kLokiTail;
  const std::string where = "route '" + route.name + "': enforcer '" +
                            std::string(tail ? "loki_tail" : "loki") + "': ";
  auto endpoint = endpoint_for_path(route.path);
  if (!endpoint || tail != (*endpoint == Endpoint::kTail)) {
    return Status::invalid_argument(
        where + "path '" + route.path + "' is not " +
        (tail ? "/loki/api/v1/tail"
              : "a Loki API endpoint this enforcer serves (query, query_range, labels, "
                "label/{name}/values, series, index/stats, index/volume, index/volume_range, "
                "patterns, detected_labels, detected_fields; tail needs enforcer loki_tail)"));
  }
  if (route.auth != config::AuthMode::kRequired) {
    return Status::invalid_argument(where + "needs auth: required (a tenant scope comes from "
                                            "the principal)");
  }
  auto shared = std::make_shared<Shared>();
  shared->endpoint = *endpoint;
  shared->label_param = label_param_name(route.path);
  shared->options = std::move(options);
  if (!shared->options.fetch) {
    shared->options.fetch = upstream_fetcher();
  }
  if (const config::Upstream* up = cfg.find_upstream(route.upstream); up != nullptr) {
    shared->upstream = *up;
  }
  for (const config::Tenant& t : cfg.tenants.tenants) {
    if (t.logs) {
      shared->all_log_tenants.push_back(t.name);
    }
  }
  if (shared->upstream && !shared->upstream->tenant_header.empty()) {
    for (const auto& t : shared->all_log_tenants) {  // a bad mapping fails the load
      if (auto id = org_id(*shared->upstream, {t}, true); !id.ok()) {
        return Status::invalid_argument(where + id.status().message());
      }
    }
  }
  auto policy = authz::Policy::compile(cfg.tenants);
  if (!policy.ok()) {
    return Status::invalid_argument(where + policy.status().message());
  }
  shared->policy = std::move(policy).value();
  auto metrics = query_api::build_metrics<StepMetrics>(services, shared->own_registry, where);
  if (!metrics.ok()) {
    return metrics.status();
  }
  shared->metrics = std::move(metrics).value();
  return StepFactoryPtr(
      std::make_shared<SharedStateFactory<LokiStep, Shared>>(std::move(shared)));
}

}  // namespace obsgate::gateway::loki_api
