// TLS settings towards a backend: the `tls:` block of an upstream and of an OpenBao node.
#pragma once

#include <string>

namespace obsgate::config {

struct UpstreamTls {
  std::string ca_file;      // empty: the system trust store
  std::string server_name;  // SNI and the name verified; default: the URL's host
  std::string cert_file;    // optional client certificate (cert_file and key_file together)
  std::string key_file;
};

}  // namespace obsgate::config
