#!/usr/bin/env bash
# Print an access token (JWT) from the local IdP via the client_credentials grant.
# Usage: get-token.sh CLIENT_ID [RESOURCE]
#   CLIENT_ID  one of tenant-a-reader, tenant-b-reader, auditor, metrics-collector, tenant-a-writer
#   RESOURCE   resource indicator (default urn:obsgate; the token's aud is "obsgate")
# Env: IDP_URL (default http://127.0.0.1:${PORT:-19070}), CLIENT_SECRET (default CLIENT_ID-secret)
#      CERT, KEY: client certificate and key to present (RFC 8705 bound tokens: IDP_URL is then
#      the HTTPS listener, https://127.0.0.1:${TLS_PORT}); CACERT: CA file for the IdP's server
#      certificate (https only)
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 CLIENT_ID [RESOURCE]" >&2
  exit 2
fi
client_id=$1
resource=${2:-urn:obsgate}
idp_url=${IDP_URL:-http://127.0.0.1:${PORT:-19070}}
secret=${CLIENT_SECRET:-${client_id}-secret}
tls=()
if [[ -n ${CACERT:-} ]]; then tls+=(--cacert "$CACERT"); fi
if [[ -n ${CERT:-} ]]; then tls+=(--cert "$CERT" --key "${KEY:?KEY must be set with CERT}"); fi
body=$(curl -sS --max-time 10 ${tls[@]+"${tls[@]}"} -u "${client_id}:${secret}" \
  --data-urlencode grant_type=client_credentials --data-urlencode "resource=${resource}" \
  "${idp_url}/token")
token=$(printf '%s' "$body" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    let j; try { j = JSON.parse(s); } catch { j = {}; }
    if (!j.access_token) { process.stderr.write(`token request failed: ${s}\n`); process.exit(1); }
    process.stdout.write(j.access_token);
  });')
printf '%s\n' "$token"
