// The three OpenBao steps. Each does its node I/O in on_request and answers locally
// (kRespond): the session never forwards these routes to their upstream.
#include "gateway/steps/openbao/openbao.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <limits>
#include <optional>

#include "config/config.h"
#include "filters/exposition/merge.h"
#include "gateway/steps/openbao/fetch.h"
#include "gateway/steps/openbao/node_state.h"
#include "gateway/steps/services.h"

namespace obsgate::gateway::openbao {

namespace {

namespace asio = boost::asio;
namespace ex = filters::exposition;

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// Per config generation, shared read-only by every request of the route.
struct Shared {
  config::Enforcer kind = config::Enforcer::kNone;
  const config::OpenBaoConfig* cfg = nullptr;
  std::vector<NodeTarget> nodes;
  NodeState* state = nullptr;
  std::shared_ptr<NodeState> owned;  // when the server provides none
  size_t max_body = 0;

  [[nodiscard]] size_t index_of(std::string_view name) const {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].cfg->name == name) {
        return i;
      }
    }
    return kNone;
  }
  [[nodiscard]] const std::string& name(size_t i) const { return nodes[i].cfg->name; }
};
using SharedPtr = std::shared_ptr<const Shared>;

Action fail(Request& r, unsigned status, std::string message, std::string_view reason) {
  r.reply.status = status;
  r.reply.message = std::move(message);
  r.reply.reason = "openbao_denied{" + std::string(reason) + "}";
  return Action::kRespond;
}

Action answer(Request& r, std::string content_type, std::string body) {
  r.reply.status = 200;
  r.reply.raw = true;
  r.reply.content_type = std::move(content_type);
  r.reply.body = std::move(body);
  r.reply.headers.emplace_back("Cache-Control", "no-store");
  return Action::kRespond;
}

// The client-facing error for a node request that did not give a 200.
Action node_failure(Request& r, const std::string& node, const ScrapeAnswer& a) {
  switch (a.result) {
    case ScrapeResult::kTimeout:
      return fail(r, 504, "OpenBao node '" + node + "' did not answer in time", "timeout");
    case ScrapeResult::kBadStatus:
      return fail(r, 502,
                  "OpenBao node '" + node + "' answered status " + std::to_string(a.status),
                  "bad_status");
    case ScrapeResult::kTooLarge:
      return fail(r, 502, "OpenBao node '" + node + "' sent more than obsgate buffers",
                  "too_large");
    case ScrapeResult::kOk:
    case ScrapeResult::kInvalid:
    case ScrapeResult::kUnreachable: break;
  }
  return fail(r, 502, "OpenBao node '" + node + "' is unreachable", "unreachable");
}

// Sweeps /v1/sys/health on every node in parallel; records health; returns the active node.
asio::awaitable<size_t> find_active(SharedPtr s) {
  std::vector<asio::awaitable<HealthAnswer>> jobs;
  jobs.reserve(s->nodes.size());
  for (const NodeTarget& n : s->nodes) {
    jobs.push_back(check_health(n, s->cfg->scrape_timeout));
  }
  const std::vector<HealthAnswer> answers = co_await all_of(std::move(jobs));
  size_t active = kNone;
  for (size_t i = 0; i < answers.size(); ++i) {
    s->state->set_health(s->name(i), answers[i].health);
    if (answers[i].health == Health::kActive && active == kNone) {
      active = i;
    }
  }
  s->state->count_active_lookup(active != kNone);
  if (active != kNone) {
    s->state->set_active(s->name(active));
  }
  co_return active;
}

class ActiveStep final : public Step {
 public:
  explicit ActiveStep(SharedPtr s) : s_(std::move(s)) {}

  asio::awaitable<Action> on_request(Request& r) override {
    const auto format = r.query.first("format");
    if (r.query.count("format") > 1 || (format && *format != "prometheus")) {
      co_return fail(r, 400, "only format=prometheus is served", "format");
    }
    auto token = s_->state->token(s_->cfg->token_file);
    if (!token.ok()) {
      co_return fail(r, 502, "the OpenBao token is unavailable", "token_unavailable");
    }
    ScrapeAnswer last;
    std::string last_node;
    // The cached active node may have stepped down since (a standby answers 400 to
    // sys/metrics, a sealed node 503, a dead one not at all): after any failure with a cached
    // node, sweep again and retry once. An answer from a node found by this request's own
    // sweep stands.
    for (int attempt = 0; attempt < 2; ++attempt) {
      size_t idx = kNone;
      if (auto cached = s_->state->cached_active(s_->cfg->health_cache)) {
        idx = s_->index_of(*cached);
      }
      const bool swept = idx == kNone;
      if (swept) {
        idx = co_await find_active(s_);
      }
      if (idx == kNone) {
        co_return fail(r, 502, "no active OpenBao node", "no_active_node");
      }
      last = co_await scrape(s_->nodes[idx], token.value(), s_->cfg->scrape_timeout,
                             s_->max_body);
      last_node = s_->name(idx);
      s_->state->count_scrape(last_node, last.result);
      if (last.result == ScrapeResult::kOk) {
        co_return answer(r, std::move(last.content_type), std::move(last.body));
      }
      s_->state->forget_active();
      if (swept) {
        break;
      }
    }
    co_return node_failure(r, last_node, last);
  }

 private:
  SharedPtr s_;
};

class NodeStep final : public Step {
 public:
  explicit NodeStep(SharedPtr s) : s_(std::move(s)) {}

  asio::awaitable<Action> on_request(Request& r) override {
    const auto name = r.path_params.get("node");
    const size_t idx = name ? s_->index_of(*name) : kNone;
    if (idx == kNone) {
      co_return fail(r, 404, "unknown OpenBao node", "unknown_node");
    }
    std::optional<std::string> token;
    if (!s_->nodes[idx].cfg->unauthenticated_metrics) {
      auto t = s_->state->token(s_->cfg->token_file);
      if (!t.ok()) {
        co_return fail(r, 502, "the OpenBao token is unavailable", "token_unavailable");
      }
      token = std::move(t).value();
    }
    ScrapeAnswer a =
        co_await scrape(s_->nodes[idx], token, s_->cfg->scrape_timeout, s_->max_body);
    s_->state->count_scrape(s_->name(idx), a.result);
    if (a.result != ScrapeResult::kOk) {
      co_return node_failure(r, s_->name(idx), a);
    }
    co_return answer(r, std::move(a.content_type), std::move(a.body));
  }

 private:
  SharedPtr s_;
};

struct NodeOutcome {
  HealthAnswer health;
  ScrapeAnswer scrape;
};

// One node of the fan-out: health and metrics at the same time, each within the timeout.
asio::awaitable<NodeOutcome> scrape_node(NodeTarget node, std::optional<std::string> token,
                                         bool token_missing, std::chrono::milliseconds timeout,
                                         size_t max_body) {
  using namespace asio::experimental::awaitable_operators;  // NOLINT(google-build-using-namespace)
  if (token_missing) {
    NodeOutcome o;
    o.health = co_await check_health(node, timeout);
    o.scrape.result = ScrapeResult::kUnreachable;
    o.scrape.detail = "token unavailable";
    co_return o;
  }
  auto [h, s] = co_await (check_health(node, timeout) &&
                          scrape(node, std::move(token), timeout, max_body));
  co_return NodeOutcome{std::move(h), std::move(s)};
}

class FanoutStep final : public Step {
 public:
  explicit FanoutStep(SharedPtr s) : s_(std::move(s)) {}

  asio::awaitable<Action> on_request(Request& r) override {
    std::optional<Result<std::string>> token;
    std::vector<asio::awaitable<NodeOutcome>> jobs;
    jobs.reserve(s_->nodes.size());
    for (const NodeTarget& n : s_->nodes) {
      std::optional<std::string> t;
      bool missing = false;
      if (!n.cfg->unauthenticated_metrics) {
        if (!token) {
          token = s_->state->token(s_->cfg->token_file);
        }
        missing = !token->ok();
        if (!missing) {
          t = token->value();
        }
      }
      jobs.push_back(scrape_node(n, std::move(t), missing, s_->cfg->scrape_timeout,
                                 s_->max_body));
    }
    std::vector<NodeOutcome> outcomes = co_await all_of(std::move(jobs));

    std::vector<ex::NodeScrape> scrapes;
    scrapes.reserve(outcomes.size());
    ex::Limits limits;
    limits.max_bytes = s_->max_body;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      NodeOutcome& o = outcomes[i];
      const std::string& name = s_->name(i);
      s_->state->set_health(name, o.health.health);
      if (o.health.health == Health::kActive) {
        s_->state->set_active(name);
      }
      ex::NodeScrape ns{name, std::nullopt, std::string(health_name(o.health.health))};
      if (o.scrape.result == ScrapeResult::kOk) {
        auto parsed = ex::parse(o.scrape.body, limits);
        if (parsed.ok()) {
          ns.exposition = std::move(parsed).value();
        } else {
          o.scrape.result = ScrapeResult::kInvalid;
        }
      }
      if (o.scrape.detail != "token unavailable") {
        s_->state->count_scrape(name, o.scrape.result);
      }
      scrapes.push_back(std::move(ns));
    }
    ex::MergeResult merged = ex::merge(std::move(scrapes));
    co_return answer(r, std::string(ex::kTextContentType), std::move(merged.body));
  }

 private:
  SharedPtr s_;
};

class Factory final : public StepFactory {
 public:
  explicit Factory(SharedPtr s) : s_(std::move(s)) {}

  [[nodiscard]] std::unique_ptr<Step> create() const override {
    switch (s_->kind) {
      case config::Enforcer::kOpenBaoActive: return std::make_unique<ActiveStep>(s_);
      case config::Enforcer::kOpenBaoNode: return std::make_unique<NodeStep>(s_);
      default: return std::make_unique<FanoutStep>(s_);
    }
  }

 private:
  SharedPtr s_;
};

}  // namespace

Result<StepFactoryPtr> make_openbao_step(const config::Config& cfg, const config::Route& route,
                                         Services& services) {
  const std::string where = "route '" + route.name + "': enforcer '" +
                            std::string(config::enforcer_name(route.enforcer)) + "'";
  if (route.enforcer != config::Enforcer::kOpenBaoActive &&
      route.enforcer != config::Enforcer::kOpenBaoNode &&
      route.enforcer != config::Enforcer::kOpenBaoFanout) {
    return Status::internal(where + " is not an OpenBao enforcer");
  }
  if (!cfg.openbao.configured()) {
    return Status::invalid_argument(where + " needs the openbao: section with its nodes");
  }
  for (const std::string& m : route.methods) {
    if (m != "GET" && m != "HEAD") {
      return Status::invalid_argument(where + " serves GET and HEAD only, not " + m);
    }
  }
  if (route.enforcer == config::Enforcer::kOpenBaoActive && cfg.openbao.token_file.empty()) {
    return Status::invalid_argument(where + " needs openbao.token_file");
  }
  if (route.enforcer == config::Enforcer::kOpenBaoNode &&
      route.path.find("{node}") == std::string::npos) {
    return Status::invalid_argument(where + " needs a {node} parameter in its path, e.g. " +
                                    "/openbao/nodes/{node}/metrics");
  }
  auto targets = make_targets(cfg.openbao);
  if (!targets.ok()) {
    return Status::invalid_argument(where + ": " + targets.status().message());
  }
  auto s = std::make_shared<Shared>();
  s->kind = route.enforcer;
  s->cfg = &cfg.openbao;
  s->nodes = std::move(targets).value();
  s->max_body = cfg.server.limits.max_buffered_body_bytes;
  if (services.openbao != nullptr) {
    s->state = services.openbao;
  } else {
    s->owned = NodeState::create(services.registry);
    s->state = s->owned.get();
  }
  return StepFactoryPtr(std::make_shared<Factory>(std::move(s)));
}

}  // namespace obsgate::gateway::openbao
