// Fuzzes what obsgate parses from an OpenID provider before any key is trusted: the discovery
// document (parse_discovery), Cache-Control (parse_max_age) and fetched URLs (parse_url,
// check_key_url). The first byte picks the parser; the rest is the input.
//
//   build: see tests/fuzz/README.md; run: oidc_documents_fuzz -max_total_time=60 corpus/
//
// clang 14 cannot compile gateway/client (Beast coroutines) with -fsanitize=function, part of
// the fuzz build's -fsanitize=undefined ("error in backend: Cannot represent a difference across
// sections", llvm/llvm-project#49689). Until the top-level fuzz flags add
// -fno-sanitize=function, build this target with a compiler wrapper that appends it, e.g.
//   printf '#!/bin/sh\nexec clang++ "$@" -fno-sanitize=function\n' >/tmp/cxx && chmod +x /tmp/cxx
//   CC=clang CXX=/tmp/cxx cmake -S . -B build-fuzz-oidc -DOBSGATE_FUZZ=ON (continued)
//       -DCMAKE_BUILD_TYPE=RelWithDebInfo
//   cmake --build build-fuzz-oidc --target oidc_documents_fuzz
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/client/http_client.h"
#include "gateway/identity/key_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  namespace id = obsgate::gateway::identity;
  switch (data[0] % 4) {
    case 0: {
      auto r = id::parse_discovery(in, "https://idp.example/realms/obs");
      if (r.ok()) {
        // Whatever is accepted must be a URL the key fetch rules allow.
        if (!id::check_key_url(*r, "https://idp.example/realms/obs").ok()) {
          __builtin_trap();
        }
      }
      break;
    }
    case 1:
      (void)id::parse_max_age(in);
      break;
    case 2: {
      auto u = obsgate::gateway::client::parse_url(in);
      if (u.ok() && (u->host.empty() || u->target.empty() || u->target[0] != '/')) {
        __builtin_trap();
      }
      if (u.ok()) {
        (void)u->host_header();
        (void)u->loopback();
      }
      break;
    }
    default: {
      const std::size_t nl = in.find('\n');
      (void)id::check_key_url(in.substr(0, nl), nl == in.npos ? "" : in.substr(nl + 1));
      break;
    }
  }
  return 0;
}
