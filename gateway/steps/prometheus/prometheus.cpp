#include "gateway/steps/prometheus/prometheus.h"

#include <boost/beast/http/field.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "authz/policy/policy.h"
#include "config/config.h"
#include "filters/response/response.h"
#include "gateway/steps/prometheus/endpoints.h"
#include "gateway/steps/prometheus/metrics.h"
#include "gateway/steps/prometheus/visible_names.h"
#include "gateway/steps/query_api/factory.h"
#include "gateway/steps/query_api/request.h"
#include "gateway/steps/services.h"

namespace obsgate::gateway::prom_api {

namespace {

namespace http = boost::beast::http;
namespace response = filters::response;

// Shared by every step of one route in one config generation; immutable.
struct Shared {
  Endpoint endpoint = Endpoint::kQuery;
  std::string label_param;  // label values: the route pattern's parameter name
  authz::PolicyPtr policy;
  std::shared_ptr<::prometheus::Registry> own_registry;  // when Services has none (tests)
  std::unique_ptr<StepMetrics> metrics;
  PrometheusStepOptions options;
};

bool filters_always(Endpoint e) {
  return e == Endpoint::kRules || e == Endpoint::kAlerts || e == Endpoint::kMetadata;
}

bool carries_labels(Endpoint e) {
  return e != Endpoint::kBuildinfo && !filters_always(e);
}

std::optional<response::Endpoint> response_kind(Endpoint e) {
  switch (e) {
    case Endpoint::kQuery: return response::Endpoint::kQuery;
    case Endpoint::kQueryRange: return response::Endpoint::kQueryRange;
    case Endpoint::kQueryExemplars: return response::Endpoint::kQueryExemplars;
    case Endpoint::kSeries: return response::Endpoint::kSeries;
    case Endpoint::kLabels: return response::Endpoint::kLabels;
    case Endpoint::kLabelValues: return response::Endpoint::kLabelValues;
    default: return std::nullopt;
  }
}

class PrometheusStep final : public Step {
 public:
  explicit PrometheusStep(std::shared_ptr<const Shared> shared) : s_(std::move(shared)) {}

  boost::asio::awaitable<Action> on_request(Request& r) override {
    const Endpoint e = s_->endpoint;
    if (e == Endpoint::kBuildinfo) {
      s_->metrics->outcome(e, Outcome::kPassthrough);
      state_ = State::kForwarded;
      co_return Action::kContinue;
    }
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
    // Borrowed from the policy (which s_ keeps alive): no per-request copy of the scope.
    auto access = s_->policy->metrics_scope(r.principal, header);
    if (!access.ok()) {
      co_return deny(r, 403, access.status().message(), header ? "tenant_header" : "no_scope",
                     Outcome::kDenied);
    }
    if (access->scope->unrestricted) {
      s_->metrics->outcome(e, Outcome::kUnrestricted);
      state_ = State::kForwarded;
      co_return Action::kContinue;
    }
    scope_ = access->scope;
    owned_scope_ = std::move(access->owned);

    auto merged = query_api::merged_params(r, single_valued_params());
    if (!merged.ok()) {
      s_->metrics->rewrite_error(RewriteError::kParams);
      co_return deny(r, 400, "parameter given more than once: " + merged.status().message(),
                     "duplicate_param", Outcome::kInvalid);
    }
    if (e == Endpoint::kMetadata) {
      if (!s_->options.visible_names) {
        co_return deny(r, 403, "metadata is not available for tenant-scoped principals",
                       "metadata_unavailable", Outcome::kDenied);
      }
      auto selectors = scope_selectors(*scope_);
      if (!selectors.ok()) {
        co_return deny(r, 403, selectors.status().message(), "no_scope", Outcome::kDenied);
      }
      auto names = co_await s_->options.visible_names(r.cfg, r.route, *selectors);
      if (!names.ok()) {
        s_->metrics->rewrite_error(RewriteError::kResponse);
        co_return deny(r, 502, "could not list the metric names in scope: " +
                                   names.status().message(),
                       "visible_names_unavailable", Outcome::kDenied);
      }
      visible_names_ = std::move(names).value();
      metadata_limit_ = metadata_limit(*merged).value_or(0);
    }
    std::string_view label_name;
    std::optional<std::string_view> param;
    if (e == Endpoint::kLabelValues) {
      param = r.path_params.get(s_->label_param);
      label_name = param.value_or("");
    }
    auto out = enforce_params(e, std::move(*merged), *scope_, label_name);
    if (!out.ok()) {
      const Status& st = out.status();
      const bool forbidden = st.code() == Code::kPermissionDenied;
      s_->metrics->rewrite_error(e == Endpoint::kLabelValues && forbidden
                                     ? RewriteError::kHiddenLabelName
                                 : st.message().rfind("invalid parameter \"match[]\"", 0) == 0
                                     ? RewriteError::kMatch
                                     : RewriteError::kQuery);
      co_return deny(r, forbidden ? 403 : 400, st.message(),
                     forbidden ? "forbidden" : "invalid_query",
                     forbidden ? Outcome::kDenied : Outcome::kInvalid);
    }
    // The forwarded request is rebuilt from the enforced parameters alone.
    query_api::forward_params(r, *out);
    filter_ = filters_always(e) || (carries_labels(e) && !scope_->hidden_labels.empty());
    if (filter_) {
      // The body will be read: it must arrive uncompressed, and federate in the text format.
      r.head.erase(http::field::accept_encoding);
      if (e == Endpoint::kFederate) {
        r.head.set(http::field::accept, "text/plain;version=0.0.4");
      }
    }
    s_->metrics->outcome(e, Outcome::kEnforced);
    state_ = State::kForwarded;
    co_return Action::kContinue;
  }

  Action on_response_head(Request& r, ResponseHead& head) override {
    if (state_ != State::kForwarded || !filter_) {
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
    if (state_ != State::kForwarded || !filter_) {
      return false;
    }
    // Error bodies are read only to keep hidden label values out of upstream messages.
    return head.result_int() == 200 || !scope_->hidden_labels.empty();
  }

  Action on_response_body(Request& r, ResponseHead& head, std::string& body) override {
    if (state_ != State::kForwarded || !filter_) {
      return Action::kContinue;
    }
    state_ = State::kDone;
    if (head.result_int() != 200) {
      return redact_error(r, head, body);
    }
    Result<std::string> out = filter(body);
    if (!out.ok()) {
      const bool ambiguous = out.status().code() == Code::kInvalidArgument;
      s_->metrics->rewrite_error(ambiguous ? RewriteError::kDuplicateSeries
                                           : RewriteError::kResponse);
      return respond(r, ambiguous ? 400 : 502,
                     ambiguous ? out.status().message()
                               : "the upstream response could not be filtered: " +
                                     out.status().message(),
                     ambiguous ? "duplicate_series" : "response_unfilterable");
    }
    body = std::move(out).value();
    return Action::kContinue;
  }

  void on_destroy() override { state_ = State::kDone; }

 private:
  enum class State { kStart, kForwarded, kDone };

  Result<std::string> filter(std::string_view body) const {
    const auto& hidden = scope_->hidden_labels;
    switch (s_->endpoint) {
      case Endpoint::kFederate: return response::strip_hidden_labels_text(body, hidden);
      case Endpoint::kRules: return response::filter_rules(body, *scope_, hidden);
      case Endpoint::kAlerts: return response::filter_alerts(body, *scope_, hidden);
      case Endpoint::kMetadata:
        return response::filter_metadata(body, visible_names_, metadata_limit_);
      default: break;
    }
    if (auto kind = response_kind(s_->endpoint)) {
      return response::strip_hidden_labels_prometheus(body, *kind, hidden);
    }
    return Status::internal("no response filter for this endpoint");
  }

  // Some Prometheus errors quote whole label sets ("found duplicate series for the match group
  // {...}"): an error that names a hidden label is replaced, keeping its status.
  Action redact_error(Request& r, ResponseHead& head, std::string_view body) {
    if (!query_api::names_hidden_label(body, scope_->hidden_labels)) {
      return Action::kContinue;
    }
    s_->metrics->rewrite_error(RewriteError::kRedactedError);
    return respond(r, head.result_int(), std::string(query_api::kWithheld), "redacted_error");
  }

  Action respond(Request& r, unsigned status, std::string message, std::string_view reason) {
    state_ = State::kDone;
    query_api::set_error_reply(r, status, std::move(message), "prometheus", reason);
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
  // Set with kForwarded (restricted principals only): the policy's scope, or owned_scope_.
  const filters::Scope* scope_ = nullptr;
  std::shared_ptr<const filters::Scope> owned_scope_;  // a union of several tenants' scopes
  std::set<std::string> visible_names_;
  size_t metadata_limit_ = 0;  // 0: none (applied after the scope, never by Prometheus)
};


}  // namespace

Result<StepFactoryPtr> make_prometheus_step(const config::Config& cfg, const config::Route& route,
                                            Services& services, PrometheusStepOptions options) {
  const std::string where = "route '" + route.name + "': enforcer 'prometheus': ";
  auto endpoint = endpoint_for_path(route.path);
  if (!endpoint) {
    return Status::invalid_argument(
        where + "path '" + route.path +
        "' is not a Prometheus API endpoint this enforcer serves (query, query_range, "
        "query_exemplars, series, labels, label/{name}/values, federate, rules, alerts, "
        "metadata, status/buildinfo)");
  }
  if (route.auth != config::AuthMode::kRequired && *endpoint != Endpoint::kBuildinfo) {
    return Status::invalid_argument(where + "needs auth: required (a tenant scope comes from "
                                            "the principal)");
  }
  auto shared = std::make_shared<Shared>();
  shared->endpoint = *endpoint;
  shared->label_param = label_param_name(route.path);
  shared->options = std::move(options);
  if (!shared->options.visible_names && *endpoint == Endpoint::kMetadata) {
    shared->options.visible_names = upstream_visible_names();
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
  return StepFactoryPtr(std::make_shared<SharedStateFactory<PrometheusStep, Shared>>(
      std::move(shared)));
}

}  // namespace obsgate::gateway::prom_api
