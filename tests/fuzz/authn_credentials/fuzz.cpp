// Fuzzes what the authentication step reads from a client before any verification: the
// Authorization header value and the token's payload peeked for `iss`.
//
//   build-fuzz/tests/fuzz/authn_credentials/authn_credentials_fuzz
//       tests/fuzz/authn_credentials/corpus -max_total_time=60   (one command line)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/steps/authn/credentials.h"

namespace {

bool token68_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  using obsgate::gateway::authn::BearerParse;
  const auto b = obsgate::gateway::authn::parse_bearer(in);
  if (b.result == BearerParse::kBearer) {
    // The token is a non-empty token68 view into the input.
    if (b.token.empty() || b.token.data() < in.data() ||
        b.token.data() + b.token.size() > in.data() + in.size()) {
      std::abort();
    }
    for (char c : b.token) {
      if (!token68_char(c)) {
        std::abort();
      }
    }
    (void)obsgate::gateway::authn::peek_issuer(b.token);
  } else if (!b.token.empty()) {
    std::abort();
  }
  (void)obsgate::gateway::authn::peek_issuer(in);
  return 0;
}
