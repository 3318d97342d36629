#include "gateway/steps/query_api/request.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>

#include <utility>

namespace obsgate::gateway::query_api {

namespace http = boost::beast::http;

Result<routing::Params> merged_params(const Request& r, const routing::ParamPolicy& single) {
  static const routing::Params kNoForm;
  return routing::merge_url_and_form(r.query, r.form != nullptr ? *r.form : kNoForm, single);
}

void forward_params(Request& r, const routing::Params& params) {
  std::string encoded = routing::encode_params(params);
  if (r.head.method() == http::verb::post) {
    r.forward_body = std::move(encoded);
    r.forward_content_type = "application/x-www-form-urlencoded";
    r.forward_query = std::string();
  } else {
    r.forward_query = std::move(encoded);
  }
}

std::optional<std::string_view> tenant_header(const Request& r) {
  if (r.tenant.empty()) {
    return std::nullopt;
  }
  return std::string_view(r.tenant);
}

bool is_compressed(const ResponseHead& head) {
  const auto enc = head[http::field::content_encoding];
  return !enc.empty() && !boost::beast::iequals(enc, "identity");
}

bool names_hidden_label(std::string_view body, const std::vector<std::string>& hidden) {
  for (const std::string& label : hidden) {
    if (body.find(label) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

void set_error_reply(Request& r, unsigned status, std::string message, std::string_view module,
                     std::string_view reason) {
  r.reply = StepReply{};
  r.reply.status = status;
  r.reply.message = std::move(message);
  r.reply.reason = std::string(module) + "_denied{" + std::string(reason) + "}";
}

}  // namespace obsgate::gateway::query_api
