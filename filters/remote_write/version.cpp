// Remote-write protocol version detection from request headers.
#include <algorithm>
#include <cctype>

#include "filters/remote_write/remote_write.h"

namespace obsgate::filters::remote_write {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<Version> detect_version(std::string_view content_type, std::string_view version_header) {
  content_type = trim(content_type);
  version_header = trim(version_header);
  const bool header_v2 = version_header.starts_with("2.");
  if (content_type.empty()) {
    return header_v2 ? Version::kV2 : Version::kV1;
  }
  const size_t semi = content_type.find(';');
  const std::string_view media = trim(content_type.substr(0, semi));
  if (!iequals(media, "application/x-protobuf")) {
    return Status::invalid_argument("remote_write: unsupported Content-Type '" +
                                    std::string(content_type) +
                                    "'; remote-write 1.0 is application/x-protobuf");
  }
  std::optional<std::string_view> proto;
  std::string_view params = semi == std::string_view::npos ? "" : content_type.substr(semi + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? "" : params.substr(next + 1);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    if (iequals(trim(param.substr(0, eq)), "proto")) {
      std::string_view v = trim(param.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      proto = v;
    }
  }
  if (!proto) {
    return header_v2 ? Version::kV2 : Version::kV1;
  }
  if (*proto == "prometheus.WriteRequest") {
    return Version::kV1;
  }
  if (*proto == "io.prometheus.write.v2.Request") {
    return Version::kV2;
  }
  return Status::invalid_argument("remote_write: unsupported proto '" + std::string(*proto) +
                                  "'; remote-write 1.0 is proto=prometheus.WriteRequest");
}

}  // namespace obsgate::filters::remote_write
