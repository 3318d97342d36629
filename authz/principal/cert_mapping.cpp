#include "authz/principal/cert_mapping.h"

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <memory>

#include "authz/principal/claims_mapping.h"

namespace obsgate::authz {
namespace {

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

// An ASN1 string as std::string, refusing embedded NULs ("good.example\0.evil.example").
bool plain_string(const ASN1_STRING* s, std::string& out) {
  if (s == nullptr) {
    return false;
  }
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  const int len = ASN1_STRING_length(s);
  if (data == nullptr || len < 0 || std::memchr(data, 0, static_cast<std::size_t>(len))) {
    return false;
  }
  out.assign(data, static_cast<std::size_t>(len));
  return true;
}

std::string_view prefix(CertMatch m) {
  switch (m) {
    case CertMatch::kSubjectCn:
      return "cn:";
    case CertMatch::kDnsSan:
      return "dns:";
    case CertMatch::kUriSan:
      return "uri:";
  }
  return "";
}

Status string_list(const YAML::Node& n, const std::string& field, std::vector<std::string>& out) {
  if (!n) {
    return Status();
  }
  if (!n.IsSequence()) {
    return Status::invalid_argument(field + ": expected a list of strings");
  }
  for (const YAML::Node& e : n) {
    if (!e.IsScalar() || e.as<std::string>().empty()) {
      return Status::invalid_argument(field + ": expected non-empty strings");
    }
    out.push_back(e.as<std::string>());
  }
  sort_unique(out);
  return Status();
}

}  // namespace

Result<CertMapping> CertMapping::parse(const YAML::Node& node) {
  try {
    if (!node.IsSequence()) {
      return Status::invalid_argument("cert_principals: expected a list of rules");
    }
    CertMapping m;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string f = "cert_principals[" + std::to_string(i) + "]";
      const YAML::Node& e = node[i];
      if (!e.IsMap()) {
        return Status::invalid_argument(f + ": expected a map");
      }
      CertRule r;
      int matchers = 0;
      for (const auto& kv : e) {
        const std::string key = kv.first.as<std::string>();
        if (key == "subject_cn" || key == "dns_san" || key == "uri_san") {
          ++matchers;
          r.match = key == "subject_cn" ? CertMatch::kSubjectCn
                    : key == "dns_san"  ? CertMatch::kDnsSan
                                        : CertMatch::kUriSan;
          r.value = kv.second.as<std::string>("");
        } else if (key != "name" && key != "roles" && key != "tenants") {
          return Status::invalid_argument(f + ": unknown field \"" + key + "\"");
        }
      }
      if (matchers != 1) {
        return Status::invalid_argument(f + ": exactly one of subject_cn, dns_san, uri_san");
      }
      if (r.value.empty()) {
        return Status::invalid_argument(f + ": empty match value");
      }
      r.name = e["name"].as<std::string>("");
      if (r.name.empty()) {
        return Status::invalid_argument(f + ".name: required");
      }
      if (Status s = string_list(e["roles"], f + ".roles", r.roles); !s.ok()) {
        return s;
      }
      if (Status s = string_list(e["tenants"], f + ".tenants", r.tenants); !s.ok()) {
        return s;
      }
      m.rules.push_back(std::move(r));
    }
    return m;
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(std::string("cert_principals: ") + e.what());
  }
}

std::optional<Principal> map_certificate(const CertMapping& mapping, const CertFields& fields) {
  for (const CertRule& r : mapping.rules) {
    bool hit = false;
    switch (r.match) {
      case CertMatch::kSubjectCn:
        hit = !fields.subject_cn.empty() && fields.subject_cn == r.value;
        break;
      case CertMatch::kDnsSan:
        for (const std::string& s : fields.dns_sans) {
          hit = hit || s == r.value;
        }
        break;
      case CertMatch::kUriSan:
        for (const std::string& s : fields.uri_sans) {
          hit = hit || s == r.value;
        }
        break;
    }
    if (hit) {
      Principal p;
      p.subject = r.name;
      p.roles = r.roles;  // sorted/unique at parse
      p.tenants = r.tenants;
      sort_unique(p.roles);  // and again for hand-built mappings
      sort_unique(p.tenants);
      p.cert_identity = std::string(prefix(r.match)) + r.value;
      return p;
    }
  }
  return std::nullopt;
}

Result<CertFields> extract_cert_fields(X509* cert) {
  if (cert == nullptr) {
    return Status::invalid_argument("no certificate");
  }
  CertFields out;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (first >= 0) {
    if (X509_NAME_get_index_by_NID(subject, NID_commonName, first) >= 0) {
      return Status::invalid_argument("certificate subject has several CNs");
    }
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(subject, first);
    if (!plain_string(X509_NAME_ENTRY_get_data(e), out.subject_cn)) {
      return Status::invalid_argument("certificate CN is not a plain string");
    }
  }
  int crit = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (!sans && crit == -2) {
    return Status::invalid_argument("certificate has several SAN extensions");
  }
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans.get(), i);
      std::string v;
      if (g->type == GEN_DNS) {
        if (!plain_string(g->d.dNSName, v)) {
          return Status::invalid_argument("certificate DNS SAN is not a plain string");
        }
        out.dns_sans.push_back(std::move(v));
      } else if (g->type == GEN_URI) {
        if (!plain_string(g->d.uniformResourceIdentifier, v)) {
          return Status::invalid_argument("certificate URI SAN is not a plain string");
        }
        out.uri_sans.push_back(std::move(v));
      }
    }
  }
  return out;
}

}  // namespace obsgate::authz
