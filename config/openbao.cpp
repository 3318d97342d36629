#include "config/openbao.h"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "config/yaml_reader.h"

namespace obsgate::config {

namespace {

bool valid_node_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

// http(s)://host[:port][/base], without credentials, query or fragment.
void parse_url(YamlReader& r, const YAML::Node& n, const std::string& p, OpenBaoNode& node) {
  auto parsed = boost::urls::parse_absolute_uri(node.url);
  if (!parsed) {
    r.error(n["url"], p + ".url", "not an absolute URL: '" + node.url + "'");
    return;
  }
  const auto& url = *parsed;
  std::string scheme(url.scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    r.error(n["url"], p + ".url", "scheme must be http or https, got '" + scheme + "'");
  }
  node.https = scheme == "https";
  node.host = std::string(url.host_address());
  if (url.host_type() == boost::urls::host_type::ipv6) {
    node.host = std::string(url.host_ipv6_address().to_string());
  }
  node.port = node.https ? 443 : 80;
  if (url.has_port()) {
    node.port = url.port_number();
    if (node.port == 0) {
      r.error(n["url"], p + ".url", "invalid port in '" + node.url + "'");
    }
  }
  if (node.host.empty()) {
    r.error(n["url"], p + ".url", "missing host in '" + node.url + "'");
  }
  if (url.has_userinfo() || url.has_query() || url.has_fragment()) {
    r.error(n["url"], p + ".url",
            "must not carry credentials, a query or a fragment: '" + node.url + "'");
  }
  node.base_path = std::string(url.encoded_path());
  while (!node.base_path.empty() && node.base_path.back() == '/') {
    node.base_path.pop_back();
  }
}

void parse_node(YamlReader& r, const YAML::Node& n, const std::string& p, OpenBaoNode& node) {
  if (!r.expect_map(n, p, {"name", "url", "tls", "unauthenticated_metrics"})) {
    return;
  }
  r.get(n, "name", p, node.name, true);
  if (!node.name.empty() && !valid_node_name(node.name)) {
    r.error(n["name"], p + ".name",
            "expected 1 to 64 of A-Z a-z 0-9 _ . -, got '" + node.name + "'");
  }
  r.get(n, "url", p, node.url, true);
  if (!node.url.empty()) {
    parse_url(r, n, p, node);
  }
  if (const YAML::Node t = n["tls"]; t.IsDefined()) {
    // An empty url was reported already: don't add a second error about its scheme.
    node.tls = r.get_upstream_tls(t, p + ".tls", node.https || node.url.empty());
  }
  r.get(n, "unauthenticated_metrics", p, node.unauthenticated_metrics);
}

}  // namespace

const OpenBaoNode* OpenBaoConfig::find_node(std::string_view name) const {
  for (const auto& n : nodes) {
    if (n.name == name) {
      return &n;
    }
  }
  return nullptr;
}

void load_openbao(YamlReader& r, const YAML::Node& n, OpenBaoConfig& out) {
  if (!n.IsDefined()) {
    return;
  }
  if (!r.expect_map(n, "openbao", {"nodes", "token_file", "health_cache", "scrape_timeout"})) {
    return;
  }
  const YAML::Node ns = n["nodes"];
  if (!ns.IsDefined() || (ns.IsSequence() && ns.size() == 0)) {
    r.error(n, "openbao.nodes", "at least one node is required");
  } else if (r.expect_seq(ns, "openbao.nodes")) {
    std::set<std::string> names;
    for (size_t i = 0; i < ns.size(); ++i) {
      const std::string p = YamlReader::index("openbao.nodes", i);
      OpenBaoNode node;
      parse_node(r, ns[i], p, node);
      if (!node.name.empty() && !names.insert(node.name).second) {
        r.error(ns[i]["name"], p + ".name", "duplicate node name '" + node.name + "'");
      }
      out.nodes.push_back(std::move(node));
    }
  }
  r.get(n, "token_file", "openbao", out.token_file);
  if (!out.token_file.empty() && !readable(out.token_file)) {
    r.error(n["token_file"], "openbao.token_file",
            "cannot read file '" + out.token_file + "'");
  }
  const auto needs_token = std::find_if(out.nodes.begin(), out.nodes.end(), [](const auto& x) {
    return !x.unauthenticated_metrics;
  });
  if (out.token_file.empty() && needs_token != out.nodes.end()) {
    r.error(n, "openbao.token_file",
            "required: node '" + needs_token->name +
                "' has no unauthenticated_metrics listener, so its metrics need a token");
  }
  r.get_duration(n, "health_cache", "openbao", out.health_cache);
  r.get_duration(n, "scrape_timeout", "openbao", out.scrape_timeout);
  if (out.scrape_timeout.count() == 0) {
    r.error(n["scrape_timeout"], "openbao.scrape_timeout", "must be greater than zero");
  }
}

}  // namespace obsgate::config
