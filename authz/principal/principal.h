// Principal: who a request is, as the policy layer sees it.
//
// Produced by map_claims() (a verified bearer token) or map_certificate() (an mTLS client
// certificate). Plain value; copy freely; thread-safe to read.
#pragma once

#include <string>
#include <vector>

namespace obsgate::authz {

struct Principal {
  std::string issuer;                // token issuer; empty for certificate principals
  std::string subject;               // token sub, or the certificate rule's name
  std::vector<std::string> tenants;  // sorted, unique; empty = no tenant (default deny)
  std::vector<std::string> roles;    // sorted, unique; empty = no gateway role
  std::string cert_identity;         // "uri:spiffe://...", "dns:...", "cn:..." or empty

  friend bool operator==(const Principal&, const Principal&) = default;
};

}  // namespace obsgate::authz
