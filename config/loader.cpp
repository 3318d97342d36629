// Loads obsgate.yaml into Config. Structure and types are checked here (with positions);
// cross-references are checked at the end of load; semantic checks that need other modules
// (route patterns, overlaps) happen when the gateway builds its runtime from the Config.
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "config/config.h"
#include "config/identity.h"
#include "config/openbao.h"
#include "config/tenants.h"
#include "config/yaml_reader.h"

namespace obsgate::config {

namespace {

constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                         "OPTIONS"};
struct EnforcerName {
  std::string_view name;
  Enforcer value;
};
constexpr EnforcerName kEnforcers[] = {
    {"none", Enforcer::kNone},
    {"prometheus", Enforcer::kPrometheusQuery},
    {"loki", Enforcer::kLokiQuery},
    {"loki_tail", Enforcer::kLokiTail},
    {"loki_push", Enforcer::kLokiPush},
    {"remote_write", Enforcer::kRemoteWrite},
    {"openbao_active", Enforcer::kOpenBaoActive},
    {"openbao_node", Enforcer::kOpenBaoNode},
    {"openbao_fanout", Enforcer::kOpenBaoFanout},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                  std::string_view::npos;
  });
}

class Loader {
 public:
  explicit Loader(std::string source) : r_(std::move(source)) {}

  Result<ConfigPtr> load(const YAML::Node& root) {
    auto cfg = std::make_shared<Config>();
    if (!r_.expect_map(root, "", {"server", "admin", "logging", "upstreams", "routes", "identity",
                                  "tenants", "openbao"})) {
      return finish(cfg);
    }
    server(root["server"], cfg->server);
    admin(root["admin"], cfg->admin);
    logging(root["logging"], cfg->logging);
    upstreams(root["upstreams"], cfg->upstreams);
    load_identity(r_, root["identity"], cfg->identity);
    load_tenants(r_, root["tenants"], cfg->tenants);
    load_openbao(r_, root["openbao"], cfg->openbao);
    routes(root["routes"], *cfg);
    return finish(cfg);
  }

 private:
  Result<ConfigPtr> finish(const std::shared_ptr<Config>& cfg) {
    if (!r_.ok()) {
      std::string all;
      for (const auto& e : r_.errors()) {
        all += all.empty() ? "" : "\n";
        all += e;
      }
      return Status::invalid_argument(all);
    }
    return ConfigPtr(cfg);
  }

  void server(const YAML::Node& n, Server& s) {
    if (!n.IsDefined()) {
      r_.error(n, "server", "required section is missing");
      return;
    }
    if (!r_.expect_map(n, "server", {"worker_threads", "listeners", "limits", "timeouts",
                                     "expose_error_reasons"})) {
      return;
    }
    uint64_t threads = s.worker_threads;
    r_.get_uint(n, "worker_threads", "server", threads, 0, 256);
    s.worker_threads = static_cast<unsigned>(threads);
    r_.get(n, "expose_error_reasons", "server", s.expose_error_reasons);
    const YAML::Node ls = n["listeners"];
    if (!ls.IsDefined() || (ls.IsSequence() && ls.size() == 0)) {
      r_.error(n, "server.listeners", "at least one listener is required");
    } else if (r_.expect_seq(ls, "server.listeners")) {
      std::set<std::string> names;
      for (size_t i = 0; i < ls.size(); ++i) {
        Listener l;
        listener(ls[i], YamlReader::index("server.listeners", i), l);
        if (!names.insert(l.name).second) {
          r_.error(ls[i], YamlReader::index("server.listeners", i) + ".name",
                   "duplicate listener name '" + l.name + "'");
        }
        s.listeners.push_back(std::move(l));
      }
    }
    if (const YAML::Node l = n["limits"]; l.IsDefined()) {
      if (r_.expect_map(l, "server.limits", {"max_header_bytes", "max_header_count",
                                             "max_body_bytes", "max_buffered_body_bytes"})) {
        uint64_t v = s.limits.max_header_bytes;
        r_.get_bytes(l, "max_header_bytes", "server.limits", v);
        if (v < 1024 || v > (1U << 20)) {
          r_.error(l["max_header_bytes"], "server.limits.max_header_bytes",
                   "must be between 1KiB and 1MiB");
        }
        s.limits.max_header_bytes = v;
        v = s.limits.max_header_count;
        r_.get_uint(l, "max_header_count", "server.limits", v, 1, 10000);
        s.limits.max_header_count = v;
        r_.get_bytes(l, "max_body_bytes", "server.limits", s.limits.max_body_bytes);
        v = s.limits.max_buffered_body_bytes;
        r_.get_bytes(l, "max_buffered_body_bytes", "server.limits", v);
        s.limits.max_buffered_body_bytes = v;
      }
    }
    if (const YAML::Node t = n["timeouts"]; t.IsDefined()) {
      if (r_.expect_map(t, "server.timeouts", {"request_read", "idle", "upstream_connect",
                                               "upstream_response", "drain"})) {
        r_.get_duration(t, "request_read", "server.timeouts", s.timeouts.request_read);
        r_.get_duration(t, "idle", "server.timeouts", s.timeouts.idle);
        r_.get_duration(t, "upstream_connect", "server.timeouts", s.timeouts.upstream_connect);
        r_.get_duration(t, "upstream_response", "server.timeouts", s.timeouts.upstream_response);
        r_.get_duration(t, "drain", "server.timeouts", s.timeouts.drain);
        const std::pair<const char*, Duration*> positive[] = {
            {"request_read", &s.timeouts.request_read},
            {"idle", &s.timeouts.idle},
            {"upstream_connect", &s.timeouts.upstream_connect},
            {"upstream_response", &s.timeouts.upstream_response}};
        for (const auto& [k, d] : positive) {
          if (d->count() == 0) {
            r_.error(t[k], YamlReader::join("server.timeouts", k), "must be greater than zero");
          }
        }
      }
    }
  }

  void listener(const YAML::Node& n, const std::string& p, Listener& l) {
    if (!r_.expect_map(n, p, {"name", "address", "port", "tls"})) {
      return;
    }
    r_.get(n, "name", p, l.name, true);
    r_.get(n, "address", p, l.address);
    address(n, p, l.address);
    r_.get_port(n, "port", p, l.port, true);
    if (const YAML::Node t = n["tls"]; t.IsDefined()) {
      const std::string tp = p + ".tls";
      if (!r_.expect_map(t, tp, {"cert_file", "key_file", "client_ca_file", "client_cert"})) {
        return;
      }
      ServerTls tls;
      r_.get(t, "cert_file", tp, tls.cert_file, true);
      r_.get(t, "key_file", tp, tls.key_file, true);
      r_.get(t, "client_ca_file", tp, tls.client_ca_file);
      std::string mode = "none";
      r_.get(t, "client_cert", tp, mode);
      if (mode == "none") {
        tls.client_cert = ClientCertMode::kNone;
      } else if (mode == "optional") {
        tls.client_cert = ClientCertMode::kOptional;
      } else if (mode == "require") {
        tls.client_cert = ClientCertMode::kRequire;
      } else {
        r_.error(t["client_cert"], tp + ".client_cert",
                 "expected none, optional or require, got '" + mode + "'");
      }
      if (tls.client_cert != ClientCertMode::kNone && tls.client_ca_file.empty()) {
        r_.error(t, tp + ".client_ca_file", "required when client_cert is " + mode);
      }
      for (const auto* f : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
        if (!f->empty() && !readable(*f)) {
          r_.error(t, tp, "cannot read file '" + *f + "'");
        }
      }
      l.tls = std::move(tls);
    }
  }

  void address(const YAML::Node& n, const std::string& p, const std::string& a) {
    if (a.empty() || a.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
      r_.error(n["address"], p + ".address", "expected an IP address, got '" + a + "'");
    }
  }

  void admin(const YAML::Node& n, Admin& a) {
    if (!n.IsDefined()) {
      r_.error(n, "admin", "required section is missing");
      return;
    }
    if (!r_.expect_map(n, "admin", {"address", "port"})) {
      return;
    }
    r_.get(n, "address", "admin", a.address);
    address(n, "admin", a.address);
    r_.get_port(n, "port", "admin", a.port, true);
  }

  void logging(const YAML::Node& n, Logging& l) {
    if (!n.IsDefined()) {
      return;
    }
    if (!r_.expect_map(n, "logging", {"access_log", "decision_log"})) {
      return;
    }
    r_.get(n, "access_log", "logging", l.access_log);
    r_.get(n, "decision_log", "logging", l.decision_log);
  }

  void upstreams(const YAML::Node& n, std::vector<Upstream>& out) {
    if (!n.IsDefined()) {
      return;
    }
    if (!r_.expect_seq(n, "upstreams")) {
      return;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = YamlReader::index("upstreams", i);
      Upstream u;
      upstream(n[i], p, u);
      if (!u.name.empty() && !names.insert(u.name).second) {
        r_.error(n[i]["name"], p + ".name", "duplicate upstream name '" + u.name + "'");
      }
      out.push_back(std::move(u));
    }
  }

  void upstream(const YAML::Node& n, const std::string& p, Upstream& u) {
    if (!r_.expect_map(n, p, {"name", "url", "api", "tls", "max_idle_connections",
                              "idle_timeout", "strip_request_headers", "tenant_header"})) {
      return;
    }
    r_.get(n, "name", p, u.name, true);
    r_.get(n, "url", p, u.url, true);
    if (!u.url.empty()) {
      auto parsed = boost::urls::parse_absolute_uri(u.url);
      if (!parsed) {
        r_.error(n["url"], p + ".url", "not an absolute URL: '" + u.url + "'");
      } else {
        const auto& url = *parsed;
        const std::string scheme = lower(std::string(url.scheme()));
        if (scheme != "http" && scheme != "https") {
          r_.error(n["url"], p + ".url", "scheme must be http or https, got '" + scheme + "'");
        }
        u.https = scheme == "https";
        u.host = std::string(url.host_address());
        if (url.host_type() == boost::urls::host_type::ipv6) {
          u.host = std::string(url.host_ipv6_address().to_string());
        }
        u.port = u.https ? 443 : 80;
        if (url.has_port()) {
          u.port = url.port_number();
          if (u.port == 0) {
            r_.error(n["url"], p + ".url", "invalid port in '" + u.url + "'");
          }
        }
        if (u.host.empty()) {
          r_.error(n["url"], p + ".url", "missing host in '" + u.url + "'");
        }
        if (url.has_userinfo() || url.has_query() || url.has_fragment()) {
          r_.error(n["url"], p + ".url",
                   "must not carry credentials, a query or a fragment: '" + u.url + "'");
        }
        u.base_path = std::string(url.encoded_path());
        while (!u.base_path.empty() && u.base_path.back() == '/') {
          u.base_path.pop_back();
        }
      }
    }
    std::string api = "generic";
    r_.get(n, "api", p, api);
    if (api == "generic") {
      u.api = ApiFlavor::kGeneric;
    } else if (api == "prometheus") {
      u.api = ApiFlavor::kPrometheus;
    } else if (api == "loki") {
      u.api = ApiFlavor::kLoki;
    } else if (api == "openbao") {
      u.api = ApiFlavor::kOpenBao;
    } else {
      r_.error(n["api"], p + ".api",
               "expected generic, prometheus, loki or openbao, got '" + api + "'");
    }
    if (const YAML::Node t = n["tls"]; t.IsDefined()) {
      const std::string tp = p + ".tls";
      u.tls = r_.get_upstream_tls(t, tp, u.https);
    }
    uint64_t idle = u.max_idle_connections;
    r_.get_uint(n, "max_idle_connections", p, idle, 0, 100000);
    u.max_idle_connections = idle;
    r_.get_duration(n, "idle_timeout", p, u.idle_timeout);
    // Extra headers are added to the defaults, never replace them: configuring one more
    // header must not silently let credentials or tenant headers through.
    u.strip_request_headers = default_stripped_headers();
    std::vector<std::string> extra;
    r_.get_list(n, "strip_request_headers", p, extra);
    for (auto& h : extra) {
      if (!is_token(h)) {
        r_.error(n["strip_request_headers"], p + ".strip_request_headers",
                 "not a header name: '" + h + "'");
      }
      h = lower(h);
      if (std::find(u.strip_request_headers.begin(), u.strip_request_headers.end(), h) ==
          u.strip_request_headers.end()) {
        u.strip_request_headers.push_back(h);
      }
    }
    tenant_header(n["tenant_header"], p + ".tenant_header", u);
  }

  // tenant_header: {name: X-Scope-OrgID, values: {team-a: "1001"}}; a tenant without an entry
  // in `values` is sent under its own name.
  void tenant_header(const YAML::Node& n, const std::string& p, Upstream& u) {
    if (!n.IsDefined() || !r_.expect_map(n, p, {"name", "values"})) {
      return;
    }
    r_.get(n, "name", p, u.tenant_header, true);
    if (!u.tenant_header.empty() && !is_token(u.tenant_header)) {
      r_.error(n["name"], p + ".name", "not a header name: '" + u.tenant_header + "'");
    }
    const std::string lname = lower(u.tenant_header);
    if (!lname.empty() && std::find(u.strip_request_headers.begin(), u.strip_request_headers.end(),
                                    lname) == u.strip_request_headers.end()) {
      // The client's value never passes: the gateway owns this header.
      u.strip_request_headers.push_back(lname);
    }
    if (const YAML::Node v = n["values"]; v.IsDefined()) {
      if (!v.IsMap()) {
        r_.error(v, p + ".values", "expected a map of tenant to header value");
        return;
      }
      for (const auto& kv : v) {
        const auto key = kv.first.as<std::string>();
        if (!kv.second.IsScalar() || kv.second.as<std::string>().empty()) {
          r_.error(kv.second, p + ".values." + key, "expected a non-empty string");
          continue;
        }
        u.tenant_ids.emplace_back(key, kv.second.as<std::string>());
      }
    }
  }

  void routes(const YAML::Node& n, Config& cfg) {
    if (!n.IsDefined()) {
      return;
    }
    if (!r_.expect_seq(n, "routes")) {
      return;
    }
    std::set<std::string> names;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string p = YamlReader::index("routes", i);
      const YAML::Node rn = n[i];
      Route rt;
      if (!r_.expect_map(rn, p, {"name", "methods", "path", "upstream", "auth", "roles",
                                 "enforcer", "query_params", "unsafe_any_query_params", "accept",
                                 "forward_token"})) {
        continue;
      }
      r_.get(rn, "name", p, rt.name, true);
      if (!rt.name.empty() && !names.insert(rt.name).second) {
        r_.error(rn["name"], p + ".name", "duplicate route name '" + rt.name + "'");
      }
      r_.get(rn, "path", p, rt.path, true);
      if (!rt.path.empty() && rt.path.front() != '/') {
        r_.error(rn["path"], p + ".path", "must start with '/': '" + rt.path + "'");
      }
      r_.get_list(rn, "methods", p, rt.methods);
      if (rt.methods.empty()) {
        r_.error(rn, p + ".methods", "at least one method is required");
      }
      for (const auto& m : rt.methods) {
        if (std::find(std::begin(kMethods), std::end(kMethods), m) == std::end(kMethods)) {
          r_.error(rn["methods"], p + ".methods",
                   "unknown method '" + m + "' (GET HEAD POST PUT DELETE PATCH OPTIONS)");
        }
      }
      r_.get(rn, "upstream", p, rt.upstream, true);
      if (!rt.upstream.empty() && cfg.find_upstream(rt.upstream) == nullptr) {
        r_.error(rn["upstream"], p + ".upstream", "unknown upstream '" + rt.upstream + "'");
      }
      std::string auth = "required";
      r_.get(rn, "auth", p, auth);
      if (auth == "required") {
        rt.auth = AuthMode::kRequired;
        // A route that requires a principal could never be reached without a way to prove
        // one: say so now instead of answering 401 forever.
        if (cfg.identity.empty()) {
          r_.error(rn, p + ".auth",
                   "'required' needs an identity provider or certificate identity (identity: "
                   "section), and none is configured; set auth: unsafe_none to expose this "
                   "route without authentication");
        }
      } else if (auth == "unsafe_none") {
        rt.auth = AuthMode::kUnsafeNone;
      } else {
        r_.error(rn["auth"], p + ".auth", "expected required or unsafe_none, got '" + auth + "'");
      }
      r_.get_list(rn, "roles", p, rt.roles_any_of);
      if (!rt.roles_any_of.empty() && rt.auth == AuthMode::kUnsafeNone) {
        r_.error(rn["roles"], p + ".roles", "roles need auth: required");
      }
      std::string enforcer = "none";
      r_.get(rn, "enforcer", p, enforcer);
      const auto* e = std::find_if(std::begin(kEnforcers), std::end(kEnforcers),
                                   [&](const EnforcerName& x) { return x.name == enforcer; });
      if (e == std::end(kEnforcers)) {
        std::string known;
        for (const auto& k : kEnforcers) {
          known += known.empty() ? "" : " ";
          known += k.name;
        }
        r_.error(rn["enforcer"], p + ".enforcer",
                 "unknown enforcer '" + enforcer + "' (" + known + ")");
      } else {
        rt.enforcer = e->value;
      }
      if (rt.enforcer != Enforcer::kNone && rt.auth == AuthMode::kUnsafeNone) {
        r_.error(rn["enforcer"], p + ".enforcer",
                 "enforcer '" + enforcer + "' needs a principal: set auth: required");
      }
      if (const YAML::Node a = rn["accept"]; a.IsDefined()) {
        std::vector<std::string> accept;
        r_.get_list(rn, "accept", p, accept);
        rt.accept = Accept{false, false};
        for (const auto& v : accept) {
          if (v == "token") {
            rt.accept.token = true;
          } else if (v == "certificate") {
            rt.accept.certificate = true;
          } else {
            r_.error(a, p + ".accept", "expected token or certificate, got '" + v + "'");
          }
        }
        if (!rt.accept.token && !rt.accept.certificate) {
          r_.error(a, p + ".accept", "must name token, certificate or both");
        }
      }
      r_.get(rn, "forward_token", p, rt.forward_token);
      r_.get_list(rn, "query_params", p, rt.query_params);
      r_.get(rn, "unsafe_any_query_params", p, rt.unsafe_any_query_params);
      if (rt.unsafe_any_query_params && !rt.query_params.empty()) {
        r_.error(rn["query_params"], p + ".query_params",
                 "query_params and unsafe_any_query_params exclude each other");
      }
      cfg.routes.push_back(std::move(rt));
    }
  }

  YamlReader r_;
};

}  // namespace

const Upstream* Config::find_upstream(std::string_view name) const {
  for (const auto& u : upstreams) {
    if (u.name == name) {
      return &u;
    }
  }
  return nullptr;
}

const std::vector<std::string>& default_stripped_headers() {
  static const std::vector<std::string> kDefault = {
      "authorization", "proxy-authorization", "x-scope-orgid", "x-vault-token",
      "x-obsgate-tenant", "forwarded", "x-real-ip"};
  return kDefault;
}

std::string_view enforcer_name(Enforcer e) noexcept {
  for (const auto& k : kEnforcers) {
    if (k.value == e) {
      return k.name;
    }
  }
  return "unknown";
}

std::string_view api_flavor_name(ApiFlavor f) noexcept {
  switch (f) {
    case ApiFlavor::kGeneric: return "generic";
    case ApiFlavor::kPrometheus: return "prometheus";
    case ApiFlavor::kLoki: return "loki";
    case ApiFlavor::kOpenBao: return "openbao";
  }
  return "generic";
}

Result<ConfigPtr> load_string(const std::string& yaml, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                    std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  Loader loader(source_name);
  auto cfg = loader.load(root);
  if (cfg.ok()) {
    std::const_pointer_cast<Config>(*cfg)->source = source_name;
  }
  return cfg;
}

Result<ConfigPtr> load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::invalid_argument(path + ": cannot read file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path);
}

}  // namespace obsgate::config
