// The `enforcer: loki_push` step (see ingest.h): /loki/api/v1/push through filters/loki_push,
// one tenant per request, audit streams writable by the audit shipper only.
#include <boost/beast/http/field.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "config/config.h"
#include "filters/loki_push/loki_push.h"
#include "gateway/steps/ingest/common.h"
#include "gateway/steps/ingest/ingest.h"

namespace obsgate::gateway::ingest {

namespace {

namespace http = boost::beast::http;
namespace lp = filters::loki_push;

// One tenant's push enforcers: the audit shipper's may write audit streams.
struct TenantEnforcers {
  std::optional<lp::Enforcer> writer;
  std::optional<lp::Enforcer> shipper;
};

struct Shared {
  std::shared_ptr<const Common> common;
  std::map<std::string, TenantEnforcers, std::less<>> tenants;
};

// The tenant's `write:` section (a remote-write WritePolicy) as a push policy. Rules,
// forbidden labels, tenant label and violation mode carry over; the request-size caps map to
// the body caps; per-stream caps keep Loki's defaults.
lp::PushPolicy push_policy(const config::Tenant& t, const config::TenantsConfig& tenants,
                           bool shipper) {
  const auto& w = t.write->policy;
  lp::PushPolicy p;
  p.tenant_label = w.tenant_label;
  // The config defaults tenant_value to the tenant's name only when a tenant_label is set; a
  // value without a label would fail the push policy, so no fallback here.
  p.tenant_value = w.tenant_value;
  if (w.write_scope.empty()) {
    p.write_scope.unrestricted = true;
  } else {
    p.write_scope.rules = w.write_scope;
  }
  p.forbidden_labels = w.forbidden_labels;
  p.audit_streams = tenants.audit.streams;
  p.may_write_audit = shipper;
  p.limits.max_body_bytes = w.limits.max_compressed_bytes;
  p.limits.max_decompressed_bytes = w.limits.max_uncompressed_bytes;
  p.on_violation = w.on_violation == filters::remote_write::WritePolicy::OnViolation::kDrop
                       ? lp::PushPolicy::OnViolation::kDrop
                       : lp::PushPolicy::OnViolation::kReject;
  return p;
}

class LokiPushStep final : public Step {
 public:
  explicit LokiPushStep(std::shared_ptr<const Shared> s) : s_(std::move(s)) {}

  // The callbacks do their work in plain functions: GCC 12 miscompiles some temporaries in
  // return expressions (double destruction), so nothing non-trivial lives in a coroutine.
  boost::asio::awaitable<Action> on_request(Request& r) override { co_return head(r); }

  boost::asio::awaitable<Action> on_request_body(Request& r) override { co_return body(r); }

  Action head(Request& r) {
    const Common& c = *s_->common;
    auto type = lp::detect_body_type(r.head[http::field::content_type],
                                     r.head[http::field::content_encoding]);
    if (!type.ok()) {
      return deny(r, 415, type.status().message(), "unsupported_media_type");
    }
    type_ = *type;
    auto access = resolve_tenant(r, c);
    if (!access) {
      state_ = State::kDone;
      return Action::kRespond;
    }
    tenant_ = access->tenant;
    auto it = s_->tenants.find(tenant_);
    if (it == s_->tenants.end()) {  // Policy::write() only returns tenants with a write section
      return deny(r, 403, "tenant '" + tenant_ + "' has no write policy", "no_write_policy");
    }
    const bool shipper = access->audit_shipper;
    enforcer_ = shipper ? &*it->second.shipper : &*it->second.writer;
    if (!set_tenant_header(r, c, tenant_)) {
      state_ = State::kDone;
      return Action::kRespond;
    }
    if (shipper) {
      r.decision.extra.emplace_back("audit_shipper", "true");
    }
    state_ = State::kNeedBody;
    return Action::kContinue;
  }

  [[nodiscard]] bool wants_request_body(const Request& /*r*/) const override {
    return state_ == State::kNeedBody;
  }

  Action body(Request& r) {
    if (state_ != State::kNeedBody || r.body == nullptr) {
      return Action::kContinue;
    }
    const IngestMetrics& m = *s_->common->metrics;
    m.observe_request_bytes(Api::kLokiPush, r.body->size());
    auto out = enforcer_->enforce(*r.body, type_.format, type_.encoding);
    if (!out.ok()) {
      const bool big = out.status().code() == Code::kResourceExhausted;
      const std::string_view reason = big ? "too_large" : "malformed";
      m.count(Api::kLokiPush, tenant_, WriteResult::kRejected, reason, 0, 0);
      return deny(r, http_status(out.status()), out.status().message(), reason);
    }
    // Rejected: the whole request is refused and counted once, as rejected (the enforcer
    // also lists the offending series under dropped; counting both doubled it).
    if (out->rejected) {
      const Status st = out->status();
      const lp::Reason why = out->violations.front().reason;
      m.count(Api::kLokiPush, tenant_, WriteResult::kRejected, lp::reason_name(why),
              out->accepted.streams + 1, out->accepted.entries);
      return deny(r, http_status(st), st.message(), lp::reason_name(why));
    }
    uint64_t dropped = 0;
    for (size_t i = 0; i < lp::kReasonCount; ++i) {
      const lp::Counts& d = out->dropped[i];
      if (d.streams > 0) {
        m.count(Api::kLokiPush, tenant_, WriteResult::kDropped,
                lp::reason_name(static_cast<lp::Reason>(i)), d.streams, d.entries);
        dropped += d.streams;
      }
    }
    accepted_ = out->accepted;
    r.decision.recorded = true;
    r.decision.allow = true;
    r.decision.reason = dropped > 0 ? "dropped" : "ok";
    r.decision.extra.emplace_back("write_tenant", tenant_);
    r.decision.extra.emplace_back("streams_accepted", std::to_string(out->accepted.streams));
    r.decision.extra.emplace_back("streams_dropped", std::to_string(dropped));
    if (dropped > 0) {
      r.decision.extra.emplace_back("drop_reason",
                                    std::string(lp::reason_name(out->violations.front().reason)));
    }
    // The enforcer's output is never compressed beyond the format's own snappy framing.
    r.forward_body = std::move(out->body);
    r.head.erase(http::field::content_encoding);
    state_ = State::kForwarded;
    return Action::kContinue;
  }

  Action on_response_head(Request& /*r*/, ResponseHead& head) override {
    if (state_ != State::kForwarded) {
      return Action::kContinue;
    }
    state_ = State::kDone;
    const unsigned status = head.result_int();
    const bool ok = status >= 200 && status < 300;
    s_->common->metrics->count(
        Api::kLokiPush, tenant_, ok ? WriteResult::kAccepted : WriteResult::kBackendError,
        ok ? "ok" : status == 429 ? "backend_429" : status >= 500 ? "backend_5xx" : "backend_4xx",
        accepted_.streams, accepted_.entries);
    return Action::kContinue;
  }

  void on_destroy() override {
    if (state_ == State::kForwarded) {
      s_->common->metrics->count(Api::kLokiPush, tenant_, WriteResult::kBackendError,
                                 "backend_unreachable", accepted_.streams, accepted_.entries);
    }
    state_ = State::kDone;
  }

 private:
  enum class State { kStart, kNeedBody, kForwarded, kDone };

  Action deny(Request& r, unsigned status, std::string message, std::string_view reason) {
    state_ = State::kDone;
    r.decision.recorded = true;
    r.decision.allow = false;
    r.decision.reason = std::string(reason);
    if (!tenant_.empty()) {
      r.decision.extra.emplace_back("write_tenant", tenant_);
    }
    return respond(r, Api::kLokiPush, status, std::move(message), reason);
  }

  std::shared_ptr<const Shared> s_;
  State state_ = State::kStart;
  lp::BodyType type_;
  std::string tenant_;
  const lp::Enforcer* enforcer_ = nullptr;
  lp::Counts accepted_;
};

}  // namespace

Result<StepFactoryPtr> make_loki_push_step(const config::Config& cfg, const config::Route& route,
                                           Services& services) {
  auto c = Common::build(cfg, route, services, Api::kLokiPush);
  if (!c.ok()) {
    return c.status();
  }
  auto shared = std::make_shared<Shared>();
  shared->common = std::move(c).value();
  for (const config::Tenant& t : cfg.tenants.tenants) {
    if (!t.write) {
      continue;
    }
    TenantEnforcers te;
    for (bool shipper : {false, true}) {
      auto e = lp::Enforcer::create(push_policy(t, cfg.tenants, shipper));
      if (!e.ok()) {
        return Status::invalid_argument("route '" + route.name + "': enforcer 'loki_push': "
                                        "tenant '" + t.name + "': write: " +
                                        e.status().message());
      }
      (shipper ? te.shipper : te.writer).emplace(std::move(e).value());
    }
    shared->tenants.emplace(t.name, std::move(te));
  }
  return StepFactoryPtr(
      std::make_shared<SharedStateFactory<LokiPushStep, Shared>>(std::move(shared)));
}

}  // namespace obsgate::gateway::ingest
