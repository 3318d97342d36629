// Request and reply plumbing shared by the query API steps (prometheus, loki), so that both
// treat parameters, the forwarded request and their error replies the same way:
//
//   - merged_params(): the URL query and the urlencoded form body (when the session read one)
//     merged once, a single-valued key given twice being InvalidArgument (parameter pollution:
//     the upstream must never see two values where the step enforced one);
//   - forward_params(): the forwarded request rebuilt from the enforced parameters alone
//     (POST: a form body with its content type and an empty query string; GET: the query
//     string), so nothing the step did not see reaches the upstream;
//   - tenant_header(): the client's X-Obsgate-Tenant, when it sent one (for authz::Policy);
//   - is_compressed(): a response body the step would read but cannot (Content-Encoding);
//   - names_hidden_label(): an upstream error body quoting a hidden label (withheld, kWithheld);
//   - set_error_reply(): a local reply with the `<module>_denied{<reason>}` detail.
// Pure functions of their arguments; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/routing/params.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::query_api {

inline constexpr std::string_view kWithheld =
    "the query failed; the backend's message mentions a hidden label and is withheld";

Result<routing::Params> merged_params(const Request& r, const routing::ParamPolicy& single);

void forward_params(Request& r, const routing::Params& params);

std::optional<std::string_view> tenant_header(const Request& r);

bool is_compressed(const ResponseHead& head);

bool names_hidden_label(std::string_view body, const std::vector<std::string>& hidden);

// r.reply becomes a (non-raw) error reply; `module` is "prometheus", "loki", ...
void set_error_reply(Request& r, unsigned status, std::string message, std::string_view module,
                     std::string_view reason);

}  // namespace obsgate::gateway::query_api
