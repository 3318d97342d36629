// obsgate: the gateway process and its operator commands.
//
//   obsgate --config FILE          serve
//   obsgate --check-config FILE    validate FILE, print every error, exit 1 if any
//   obsgate --version
//   obsgate rewrite (--promql Q | --logql Q) [--scope SELECTOR]... [--hidden LABEL]...
//   obsgate verify-token --issuer ISS --audience AUD (--jwks FILE | --discover) ... TOKEN
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "config/config.h"
#include "gateway/core/runtime.h"
#include "gateway/cli/rewrite.h"
#include "gateway/cli/verify_token.h"
#include "gateway/core/server.h"
#include "gateway/identity/key_registry.h"
#include "gateway/steps/authn/authn.h"
#include "gateway/steps/services.h"

#ifndef OBSGATE_VERSION
#define OBSGATE_VERSION "dev"
#endif

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: obsgate --config FILE\n"
               "       obsgate --check-config FILE\n"
               "       obsgate --version\n"
               "       obsgate rewrite (--promql Q | --logql Q) [--scope SELECTOR]... "
               "[--hidden LABEL]...\n"
               "       obsgate verify-token --issuer ISS --audience AUD "
               "(--jwks FILE | --discover) ... TOKEN\n");
}

// Full validation: the YAML schema and everything the runtime build checks (routes, TLS).
int check_config(const std::string& path) {
  auto cfg = obsgate::config::load_file(path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  prometheus::Registry scratch;
  obsgate::gateway::GatewayMetrics metrics(scratch);
  // The key registry is built and synced (so provider settings are checked) but its executor
  // never runs: checking a config fetches nothing.
  boost::asio::io_context idle;
  obsgate::gateway::identity::KeyRegistry keys(idle.get_executor(), scratch);
  keys.sync(obsgate::gateway::authn::key_configs((*cfg)->identity));
  obsgate::gateway::Services services;
  services.registry = &scratch;
  services.keys = &keys;
  auto rt = obsgate::gateway::Runtime::build(*cfg, metrics, 1, services);
  if (!rt.ok()) {
    std::fprintf(stderr, "%s\n", rt.status().message().c_str());
    return 1;
  }
  std::printf("%s: ok (%zu listener(s), %zu upstream(s), %zu route(s))\n", path.c_str(),
              (*cfg)->server.listeners.size(), (*cfg)->upstreams.size(), (*cfg)->routes.size());
  return 0;
}

int serve(const std::string& path) {
  auto cfg = obsgate::config::load_file(path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  auto server = obsgate::gateway::Server::create(path, *cfg);
  if (!server.ok()) {
    std::fprintf(stderr, "obsgate: %s\n", server.status().message().c_str());
    return 1;
  }
  return (*server)->run();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::printf("obsgate %s\n", OBSGATE_VERSION);
    return 0;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "rewrite") {
    return obsgate::cli::run_rewrite(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "verify-token") {
    return obsgate::cli::run_verify_token(argc - 1, argv + 1);
  }
  if (argc == 3 && std::string_view(argv[1]) == "--check-config") {
    return check_config(argv[2]);
  }
  if (argc == 3 && std::string_view(argv[1]) == "--config") {
    return serve(argv[2]);
  }
  usage();
  return 2;
}
