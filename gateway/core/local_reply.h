// Local replies: the gateway answering by itself (404, 405, 400, 401, 403, 413, 431, 502,
// 504...). The body is in the backend API's own error format, so clients such as Grafana show
// the message: Prometheus {"status":"error","errorType":...,"error":...}, Loki plain text,
// OpenBao {"errors":[...]}, otherwise a small JSON object.
//
// The reason is a whitespace-free detail string "<module>_denied{<reason>}" (or
// "<module>_error{...}") for the access log and the local_replies metric; a config switch can
// keep it out of the body on public listeners.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"

namespace obsgate::gateway {

struct LocalReply {
  unsigned status = 500;
  std::string content_type;
  std::string body;
};

// Builds the reply for `status` with a human message and a machine-readable reason.
LocalReply make_local_reply(config::ApiFlavor flavor, unsigned status, std::string_view message,
                            std::string_view reason, bool expose_reason);

// Prometheus errorType for a status code ("bad_data", "unavailable", "timeout", ...).
std::string_view prometheus_error_type(unsigned status) noexcept;

}  // namespace obsgate::gateway
