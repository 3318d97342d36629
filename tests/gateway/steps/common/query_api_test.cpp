// gateway/steps/query_api: the endpoint table, the shared metrics families and the request
// plumbing both query API steps use.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/steps/query_api/endpoints.h"
#include "gateway/steps/query_api/metrics.h"
#include "gateway/steps/query_api/request.h"
#include "tests/gateway/steps/common/step_exchange.h"

namespace {

namespace qa = obsgate::gateway::query_api;
namespace http = boost::beast::http;

enum class E { kA, kB, kValues };
constexpr qa::EndpointTable<E, 3> kTable{
    {{{"/x/a", E::kA, "a"}, {"/x/a2", E::kA, "a_again"}, {"/x/b", E::kB, "b"}}},
    "/x/label/{",
    E::kValues,
};

TEST_CASE("query_api: endpoint table", "[query_api]") {
  struct Case {
    std::string name;
    std::string path;
    std::optional<E> want;
    std::string param;
  };
  const std::vector<Case> cases = {
      {"exact path", "/x/a", E::kA, ""},
      {"second path of one endpoint", "/x/a2", E::kA, ""},
      {"label values pattern", "/x/label/{name}/values", E::kValues, "name"},
      {"any parameter name", "/x/label/{n}/values", E::kValues, "n"},
      {"empty parameter", "/x/label/{}/values", std::nullopt, ""},
      {"parameter with a slash", "/x/label/{a/b}/values", std::nullopt, ""},
      {"prefix only", "/x/a/", std::nullopt, ""},
      {"unknown", "/x/c", std::nullopt, ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CHECK(kTable.find(c.path) == c.want);
      CHECK(kTable.label_param_name(c.path) == c.param);
    }
  }
  CHECK(kTable.name(E::kA) == "a");  // the first entry names the endpoint
  CHECK(kTable.name(E::kValues) == "label_values");
}

TEST_CASE("query_api: metrics families", "[query_api]") {
  prometheus::Registry reg;
  qa::ApiMetrics one(reg, {"one", "One API requests", {"q", "r"}, {"ok", "bad"}, {"x", "y"}});
  qa::ApiMetrics two(reg, {"two", "Two API requests", {"q"}, {"ok"}, {"x"}});
  one.outcome(1, 1);
  one.rewrite_error(1);
  two.rewrite_error(0);
  using obsgate::test::counter_value;
  CHECK(counter_value(reg, "obsgate_one_requests_total", {{"endpoint", "r"}, {"result", "bad"}}) ==
        1);
  CHECK(counter_value(reg, "obsgate_one_requests_total", {{"endpoint", "q"}, {"result", "bad"}}) ==
        0);
  CHECK(counter_value(reg, "obsgate_rewrite_errors_total", {{"api", "one"}, {"reason", "y"}}) ==
        1);
  CHECK(counter_value(reg, "obsgate_rewrite_errors_total", {{"api", "two"}, {"reason", "x"}}) ==
        1);
  size_t families = 0;
  for (const auto& f : reg.Collect()) {
    families += f.name == "obsgate_rewrite_errors_total" ? 1 : 0;
  }
  CHECK(families == 1);  // one family for every API
}

TEST_CASE("query_api: request plumbing", "[query_api]") {
  struct Case {
    std::string name;
    http::verb method;
    std::string query;
    std::optional<std::string> form;
    std::string tenant;
    bool merged_ok;
    std::optional<std::string> fwd_query;  // what forward_params() leaves
    std::optional<std::string> fwd_body;
  };
  const std::vector<Case> cases = {
      {"GET: query string rebuilt", http::verb::get, "b=2&a=1", std::nullopt, "", true, "b=2&a=1",
       std::nullopt},
      {"POST: URL and form merged into a form body", http::verb::post, "a=1", "b=2", "t", true, "",
       "b=2&a=1"},  // the body's pairs first (routing::merge_url_and_form)
      {"single-valued key in URL and form", http::verb::post, "s=1", "s=2", "", false,
       std::nullopt, std::nullopt},
  };
  obsgate::routing::ParamPolicy single{{"s"}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      obsgate::config::Config cfg;
      obsgate::config::Route route;
      obsgate::test::StepInput in;
      in.path = "/p";
      in.method = c.method;
      in.query = c.query;
      in.form = c.form;
      in.tenant_header = c.tenant;
      // The fixture needs a factory: a step that does nothing.
      struct Noop final : obsgate::gateway::StepFactory {
        [[nodiscard]] std::unique_ptr<obsgate::gateway::Step> create() const override {
          return std::make_unique<obsgate::gateway::Step>();
        }
      };
      obsgate::test::StepExchange x(Noop{}, cfg, route, in);
      CHECK(qa::tenant_header(*x.r) ==
            (c.tenant.empty() ? std::nullopt : std::optional<std::string_view>(c.tenant)));
      auto merged = qa::merged_params(*x.r, single);
      REQUIRE(merged.ok() == c.merged_ok);
      if (!merged.ok()) {
        continue;
      }
      qa::forward_params(*x.r, *merged);
      CHECK(x.r->forward_query == c.fwd_query);
      CHECK(x.r->forward_body == c.fwd_body);
      CHECK(x.r->forward_content_type.has_value() == c.fwd_body.has_value());
    }
  }
}

TEST_CASE("query_api: replies", "[query_api]") {
  obsgate::gateway::ResponseHead h;
  CHECK_FALSE(qa::is_compressed(h));
  h.set(http::field::content_encoding, "IDENTITY");
  CHECK_FALSE(qa::is_compressed(h));
  h.set(http::field::content_encoding, "gzip");
  CHECK(qa::is_compressed(h));
  const std::vector<std::string> hidden = {"client_ip", "pod_uid"};
  CHECK(qa::names_hidden_label("duplicate series {pod_uid=\"1\"}", hidden));
  CHECK_FALSE(qa::names_hidden_label("parse error", hidden));
}

}  // namespace
