// The `enforcer: remote_write` step (see ingest.h): Prometheus remote-write 1.0 through
// filters/remote_write, one tenant per request.
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "config/config.h"
#include "filters/remote_write/remote_write.h"
#include "gateway/steps/ingest/common.h"
#include "gateway/steps/ingest/ingest.h"

namespace obsgate::gateway::ingest {

namespace {

namespace http = boost::beast::http;
namespace rw = filters::remote_write;

// The 1.0 specification's version header value.
constexpr std::string_view kVersionValue = "0.1.0";
constexpr std::string_view kVersionHeader = "X-Prometheus-Remote-Write-Version";

std::string_view backend_reason(unsigned status) {
  if (status == 429) {
    return "backend_429";
  }
  return status >= 500 ? "backend_5xx" : "backend_4xx";
}

uint64_t samples_of(const rw::Counts& c) { return c.samples + c.histograms; }

class RemoteWriteStep final : public Step {
 public:
  explicit RemoteWriteStep(std::shared_ptr<const Common> c) : c_(std::move(c)) {}

  // The callbacks do their work in plain functions: GCC 12 miscompiles some temporaries in
  // return expressions (double destruction), so nothing non-trivial lives in a coroutine.
  boost::asio::awaitable<Action> on_request(Request& r) override { co_return head(r); }

  boost::asio::awaitable<Action> on_request_body(Request& r) override { co_return body(r); }

  Action head(Request& r) {
    auto version = rw::detect_version(r.head[http::field::content_type], r.head[kVersionHeader]);
    if (!version.ok() || *version == rw::Version::kV2) {
      // The specification: a receiver that does not support the sender's version answers 415.
      return deny(r, 415,
                     version.ok() ? std::string(rw::kUnsupportedVersionMessage)
                                  : version.status().message() + "; send remote-write 1.0 "
                                                                 "(Content-Type: "
                                                                 "application/x-protobuf)",
                     version.ok() ? "unsupported_version" : "unsupported_media_type");
    }
    const auto enc = r.head[http::field::content_encoding];
    if (!enc.empty() && !boost::beast::iequals(enc, "snappy")) {
      return deny(r, 415,
                     "remote-write bodies are snappy-compressed (Content-Encoding: snappy), not '" +
                         std::string(enc.substr(0, 64)) + "'",
                     "unsupported_encoding");
    }
    auto access = resolve_tenant(r, *c_);
    if (!access) {
      state_ = State::kDone;
      return Action::kRespond;
    }
    access_ = std::move(*access);
    if (!set_tenant_header(r, *c_, access_.tenant)) {
      state_ = State::kDone;
      return Action::kRespond;
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
    c_->metrics->observe_request_bytes(Api::kRemoteWrite, r.body->size());
    auto out = access_.enforcer->enforce(*r.body);
    if (!out.ok()) {
      const bool big = out.status().code() == Code::kResourceExhausted;
      const std::string_view reason = big ? "too_large" : "malformed";
      c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kRejected, reason, 0, 0);
      return deny(r, http_status(out.status()), out.status().message(), reason);
    }
    // Rejected: the whole request is refused and counted once, as rejected (the enforcer
    // also lists the offending series under dropped; counting both doubled it).
    if (out->rejected) {
      const Status st = out->status();
      const rw::Reason why = out->violations.front().reason;
      // The request as far as the enforcer read it, plus the offending series itself.
      c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kRejected,
                         rw::reason_name(why), out->accepted.series + 1,
                         samples_of(out->accepted));
      return deny(r, http_status(st), st.message(), rw::reason_name(why));
    }
    for (size_t i = 0; i < rw::kReasonCount; ++i) {
      const rw::Counts& d = out->dropped[i];
      if (d.series > 0) {
        c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kDropped,
                           rw::reason_name(static_cast<rw::Reason>(i)), d.series, samples_of(d));
      }
    }
    uint64_t dropped = 0;
    for (const rw::Counts& d : out->dropped) {
      dropped += d.series;
    }
    accepted_ = out->accepted;
    r.decision.recorded = true;
    r.decision.allow = true;
    r.decision.reason = dropped > 0 ? "dropped" : "ok";
    r.decision.extra = {{"write_tenant", access_.tenant},
                        {"series_accepted", std::to_string(out->accepted.series)},
                        {"series_dropped", std::to_string(dropped)}};
    if (dropped > 0) {
      r.decision.extra.emplace_back("drop_reason",
                                    std::string(rw::reason_name(out->violations.front().reason)));
    }
    if (out->modified) {
      r.forward_body = std::move(out->body);
    }
    // What the 1.0 specification requires of a sender, whatever the client wrote.
    r.head.set(http::field::content_type, "application/x-protobuf");
    r.head.set(http::field::content_encoding, "snappy");
    r.head.set(kVersionHeader, kVersionValue);
    state_ = State::kForwarded;
    return Action::kContinue;
  }

  Action on_response_head(Request& /*r*/, ResponseHead& head) override {
    if (state_ != State::kForwarded) {
      return Action::kContinue;
    }
    state_ = State::kDone;
    const unsigned status = head.result_int();
    // The answer itself is relayed untouched: 5xx/429 (with Retry-After) stay retryable.
    if (status >= 200 && status < 300) {
      c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kAccepted, "ok",
                         accepted_.series, samples_of(accepted_));
    } else {
      c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kBackendError,
                         backend_reason(status), accepted_.series, samples_of(accepted_));
    }
    return Action::kContinue;
  }

  void on_destroy() override {
    if (state_ == State::kForwarded) {  // forwarded, and no answer came back
      c_->metrics->count(Api::kRemoteWrite, access_.tenant, WriteResult::kBackendError,
                         "backend_unreachable", accepted_.series, samples_of(accepted_));
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
    if (!access_.tenant.empty()) {
      r.decision.extra = {{"write_tenant", access_.tenant}};
    }
    return respond(r, Api::kRemoteWrite, status, std::move(message), reason);
  }

  std::shared_ptr<const Common> c_;
  State state_ = State::kStart;
  authz::WriteAccess access_;
  rw::Counts accepted_;
};

}  // namespace

Result<StepFactoryPtr> make_remote_write_step(const config::Config& cfg,
                                              const config::Route& route, Services& services) {
  auto c = Common::build(cfg, route, services, Api::kRemoteWrite);
  if (!c.ok()) {
    return c.status();
  }
  return StepFactoryPtr(
      std::make_shared<SharedStateFactory<RemoteWriteStep, Common>>(std::move(c).value()));
}

}  // namespace obsgate::gateway::ingest
