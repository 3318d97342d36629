// `obsgate verify-token`: answers "why is my token refused?" by running the gateway's token
// verification (authz/jwt) on one token, with the same defaults a configured provider has.
//
//   obsgate verify-token --issuer ISS --audience AUD (--jwks FILE | --discover) [--alg ALG]...
//                        [--typ at+jwt] [--clock-skew 60s] [--max-lifetime 24h]
//                        [--cert FILE.pem] [--mapping FILE.yaml] TOKEN
//
// TOKEN may carry a leading "Bearer ". --discover fetches ISS/.well-known/openid-configuration
// and then its jwks_uri (HTTP or HTTPS with the system trust store; 5 s, 1 MiB each).
// Exit 0: the verified header and claims (pretty JSON) and the mapped principal, on stdout.
// Exit 1: the rejection ("<name>: <message>") or the fetch/load error, on stderr.
// Exit 2: usage error.
#pragma once

namespace obsgate::cli {

int run_verify_token(int argc, char** argv);  // argv[0] is "verify-token"

}  // namespace obsgate::cli
