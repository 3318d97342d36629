#include "gateway/core/local_reply.h"

#include "gateway/core/log.h"

namespace obsgate::gateway {

std::string_view prometheus_error_type(unsigned status) noexcept {
  switch (status) {
    case 400: return "bad_data";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 422: return "execution";
    case 429: return "too_many_requests";
    case 431: return "bad_data";
    case 502: return "unavailable";
    case 503: return "unavailable";
    case 504: return "timeout";
    default: return status >= 500 ? "internal" : "bad_data";
  }
}

LocalReply make_local_reply(config::ApiFlavor flavor, unsigned status, std::string_view message,
                            std::string_view reason, bool expose_reason) {
  LocalReply r;
  r.status = status;
  switch (flavor) {
    case config::ApiFlavor::kPrometheus: {
      r.content_type = "application/json";
      r.body = "{\"status\":\"error\",\"errorType\":\"";
      r.body += prometheus_error_type(status);
      r.body += "\",\"error\":\"";
      JsonLine::escape_into(r.body, message);
      r.body += '"';
      if (expose_reason && !reason.empty()) {
        r.body += ",\"reason\":\"";
        JsonLine::escape_into(r.body, reason);
        r.body += '"';
      }
      r.body += "}";
      break;
    }
    case config::ApiFlavor::kLoki: {
      // Loki answers errors as text/plain: the message and a newline.
      r.content_type = "text/plain; charset=utf-8";
      r.body.assign(message);
      if (expose_reason && !reason.empty()) {
        r.body += " (";
        r.body += reason;
        r.body += ')';
      }
      r.body += '\n';
      break;
    }
    case config::ApiFlavor::kOpenBao: {
      r.content_type = "application/json";
      r.body = "{\"errors\":[\"";
      JsonLine::escape_into(r.body, message);
      r.body += "\"]}";
      break;
    }
    case config::ApiFlavor::kGeneric: {
      r.content_type = "application/json";
      r.body = "{\"error\":\"";
      JsonLine::escape_into(r.body, message);
      r.body += '"';
      if (expose_reason && !reason.empty()) {
        r.body += ",\"reason\":\"";
        JsonLine::escape_into(r.body, reason);
        r.body += '"';
      }
      r.body += "}";
      break;
    }
  }
  return r;
}

}  // namespace obsgate::gateway
