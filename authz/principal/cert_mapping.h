// mTLS client certificate -> Principal mapping.
//
// The TLS layer (gateway) has already verified the chain; here we only name the client.
// extract_cert_fields() reads the subject CN and the DNS/URI SANs from an X509;
// map_certificate() is a pure function over those fields and an ordered rule list: the first
// rule whose field equals its value wins (exact, case-sensitive match; no wildcards).
// No rule matches -> nullopt: the certificate names nobody (default deny).
//
//   cert_principals:
//     - uri_san: spiffe://prod.example/ns/obs/sa/promtail
//       name: promtail
//       roles: [writer]
//       tenants: [team-a]
//     - dns_san: grafana.internal.example
//       name: grafana
//       roles: [reader]
//     - subject_cn: legacy-exporter
//       name: legacy
//       roles: [writer]
//
// Ownership: plain values; parse once, share as const. Thread-safe to read.
//
//   Result<CertFields> f = extract_cert_fields(SSL_get0_peer_certificate(ssl));   // gateway
//   std::optional<Principal> p = f.ok() ? map_certificate(rules, *f) : std::nullopt;
#pragma once

#include <openssl/types.h>

#include <optional>
#include <string>
#include <vector>

#include "authz/principal/principal.h"
#include "common/status.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::authz {

struct CertFields {
  std::string subject_cn;             // empty when the subject has no CN
  std::vector<std::string> dns_sans;  // in certificate order
  std::vector<std::string> uri_sans;  // e.g. SPIFFE IDs
};

enum class CertMatch { kSubjectCn, kDnsSan, kUriSan };

struct CertRule {
  CertMatch match = CertMatch::kUriSan;
  std::string value;
  std::string name;  // Principal::subject
  std::vector<std::string> roles;
  std::vector<std::string> tenants;
};

struct CertMapping {
  std::vector<CertRule> rules;  // evaluated in order

  // A YAML sequence of rules as above. InvalidArgument names the rule index and field.
  static Result<CertMapping> parse(const YAML::Node& node);
};

[[nodiscard]] std::optional<Principal> map_certificate(const CertMapping& mapping,
                                                       const CertFields& fields);

// Reads CN and DNS/URI SANs. InvalidArgument when the subject has several CNs, or a CN/SAN
// holds an embedded NUL or is not a plain string (such names are refused, not truncated).
Result<CertFields> extract_cert_fields(X509* cert);

}  // namespace obsgate::authz
