#!/usr/bin/env bash
# End-to-end check of the local IdP: for each access-token alg (ALGS, default "RS256 ES256
# EdDSA") start server.mjs on a free port, check discovery + JWKS, get a token for every client,
# verify it against the JWKS and check iss/aud/typ/exp-iat/claims, rotate keys (SIGUSR2 and
# POST /__test/rotate) and check the new kid, then stop the server (SIGTERM, exit 0).
# Then once with a KEYS_FILE, and once with the HTTPS listener (TLS_*): certificate-bound tokens
# (cnf x5t#S256 = the client certificate's thumbprint) for bound-collector, refused without a
# certificate; other clients stay unbound. Every wait is bounded. Exit 0 on success.
set -euo pipefail
cd "$(dirname "$0")"

algs=${ALGS:-RS256 ES256 EdDSA}
checks=0
server_pid=""
workdir=$(mktemp -d)

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$workdir/server.log" ]]; then
    echo "--- server log ---" >&2
    cat "$workdir/server.log" >&2
  fi
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "  ok: $*"
}

if [[ ! -d node_modules/oidc-provider ]]; then
  echo "installing dependencies (npm ci)"
  timeout 300 npm ci --no-audit --no-fund >/dev/null
fi

free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); });'
}

# check_token TOKEN JWKS_FILE ISSUER CLIENT_ID EXPECT_KID(or "") [CERT_FILE|none]
# -> prints "alg kid" on success. With CERT_FILE the token must carry cnf["x5t#S256"] equal to
# that certificate's SHA-256 thumbprint (RFC 8705); with "none" it must carry no cnf at all.
check_token() {
  node --input-type=module -e '
    import * as crypto from "node:crypto";
    import * as fs from "node:fs";
    const [token, jwksFile, issuer, clientId, expectKid, certFile] = process.argv.slice(1);
    const expected = {
      "tenant-a-reader": { tenant: "team-a", roles: ["metrics-reader", "logs-reader"] },
      "tenant-b-reader": { tenant: "team-b", roles: ["metrics-reader", "logs-reader"] },
      auditor: { tenant: "platform", roles: ["auditor", "logs-reader"] },
      "metrics-collector": { roles: ["metrics-collector"] },
      "tenant-a-writer": { tenant: "team-a", roles: ["metrics-writer", "logs-writer"] },
      "bound-collector": { roles: ["metrics-collector"] },
    }[clientId];
    const die = (m) => { console.error(`${clientId}: ${m}`); process.exit(1); };
    const parts = token.split(".");
    if (parts.length !== 3) die("not a compact JWS");
    const dec = (p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    const header = dec(parts[0]);
    const claims = dec(parts[1]);
    if (header.typ !== "at+jwt") die(`typ ${header.typ}`);
    if (expectKid && header.kid !== expectKid) die(`kid ${header.kid}, want ${expectKid}`);
    const jwk = JSON.parse(fs.readFileSync(jwksFile, "utf8")).keys.find((k) => k.kid === header.kid);
    if (!jwk) die(`kid ${header.kid} not in JWKS`);
    if (jwk.d) die("JWKS publishes a private key");
    const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const sig = Buffer.from(parts[2], "base64url");
    const hash = { RS256: "sha256", ES256: "sha256", EdDSA: null }[header.alg];
    if (hash === undefined) die(`alg ${header.alg}`);
    if (!crypto.verify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig)) die("bad signature");
    if (claims.iss !== issuer) die(`iss ${claims.iss}`);
    if (claims.aud !== "obsgate") die(`aud ${JSON.stringify(claims.aud)}`);
    if (claims.exp - claims.iat !== 600) die(`exp-iat ${claims.exp - claims.iat}`);
    if (claims.client_id !== clientId || claims.sub !== clientId) die("client_id/sub");
    if (claims.tenant !== expected.tenant) die(`tenant ${claims.tenant}`);
    if (JSON.stringify(claims.roles) !== JSON.stringify(expected.roles)) die(`roles ${claims.roles}`);
    if (certFile === "none" && claims.cnf !== undefined) die(`unexpected cnf`);
    if (certFile && certFile !== "none") {
      const der = new crypto.X509Certificate(fs.readFileSync(certFile)).raw;
      const want = crypto.createHash("sha256").update(der).digest("base64url");
      const got = claims.cnf && claims.cnf["x5t#S256"];
      if (got !== want) die(`cnf x5t#S256 ${got}, want ${want}`);
    }
    console.log(`${header.alg} ${header.kid}`);
  ' "$@"
}

wait_ready() {  # ISSUER; discovery saved to $workdir/disc.json
  for _ in $(seq 600); do  # 60 s: node starts slowly on the shared, loaded 2-core machine
    if curl -sf --max-time 2 "$1/.well-known/openid-configuration" >"$workdir/disc.json"; then
      ok "discovery served on $1"
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || fail "server exited early"
    sleep 0.1
  done
  fail "server not ready within 60 s"
}

stop_server() {  # SIGTERM, wait up to 10 s, require exit status 0
  local rc=""
  kill -TERM "$server_pid"
  for _ in $(seq 100); do  # 10 s
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" && rc=0 || rc=$?
      break
    fi
    sleep 0.1
  done
  [[ $rc == 0 ]] || fail "server did not exit 0 on SIGTERM (rc=${rc:-still running})"
  server_pid=""
  ok "server exited 0 on SIGTERM"
}

jwks_kids() {
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(j.keys.map((k) => k.kid).join(" "));' "$1"
}

for alg in $algs; do
  echo "== ACCESS_TOKEN_ALG=$alg"
  port=$(free_port)
  issuer="http://127.0.0.1:${port}"
  PORT=$port ACCESS_TOKEN_ALG=$alg node server.mjs >"$workdir/server.log" 2>&1 &
  server_pid=$!
  wait_ready "$issuer"

  read -r disc_iss jwks_uri token_ep < <(node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(d.issuer, d.jwks_uri, d.token_endpoint);' "$workdir/disc.json")
  [[ $disc_iss == "$issuer" ]] || fail "discovery issuer $disc_iss"
  [[ $token_ep == "$issuer/token" ]] || fail "token_endpoint $token_ep"
  ok "discovery issuer=$disc_iss jwks_uri=$jwks_uri"

  curl -sf --max-time 10 "$jwks_uri" >"$workdir/jwks.json" || fail "JWKS fetch"
  kids_before=$(jwks_kids "$workdir/jwks.json")
  n_before=$(wc -w <<<"$kids_before")
  [[ $n_before -ge 2 ]] || fail "JWKS has $n_before keys"
  ok "JWKS has $n_before public keys"

  for client in tenant-a-reader tenant-b-reader auditor metrics-collector tenant-a-writer; do
    token=$(IDP_URL=$issuer ./get-token.sh "$client") || fail "get-token $client"
    got=$(check_token "$token" "$workdir/jwks.json" "$issuer" "$client" "") || fail "token $client"
    ok "$client: $got, signature, iss, aud=obsgate, typ=at+jwt, exp-iat=600, tenant/roles"
  done
  old_token=$token
  old_kid=${got#* }
  first_kid=$old_kid

  # Negative checks: wrong secret and unknown resource are refused.
  if CLIENT_SECRET=wrong IDP_URL=$issuer ./get-token.sh auditor >/dev/null 2>&1; then
    fail "wrong secret accepted"
  fi
  if IDP_URL=$issuer ./get-token.sh auditor urn:other >/dev/null 2>&1; then
    fail "unknown resource accepted"
  fi
  ok "wrong client secret and unknown resource are refused"

  # Rotation 1: SIGUSR2. Rotation 2: POST /__test/rotate.
  expect_n=$n_before
  for how in SIGUSR2 POST; do
    expect_n=$((expect_n + 1))
    if [[ $how == SIGUSR2 ]]; then
      kill -USR2 "$server_pid"
    else
      curl -sf --max-time 10 -X POST "$issuer/__test/rotate" >/dev/null || fail "POST rotate"
    fi
    n=0
    for _ in $(seq 300); do  # 30 s
      curl -sf --max-time 2 "$jwks_uri" >"$workdir/jwks.json" || fail "JWKS fetch"
      kids=$(jwks_kids "$workdir/jwks.json")
      n=$(wc -w <<<"$kids")
      [[ $n -ge $expect_n ]] && break
      sleep 0.1
    done
    [[ $n -eq $expect_n ]] || fail "after $how JWKS has $n keys, want $expect_n"
    new_kid=${kids%% *}
    [[ $new_kid != "$old_kid" ]] || fail "rotation via $how kept kid $old_kid"
    grep -qw -- "$old_kid" <<<"$kids" || fail "old kid $old_kid no longer published"
    token=$(IDP_URL=$issuer ./get-token.sh tenant-a-reader) || fail "get-token after $how"
    got=$(check_token "$token" "$workdir/jwks.json" "$issuer" tenant-a-reader "$new_kid") ||
      fail "token after $how"
    # The last pre-rotation token (tenant-a-writer) must still verify against the new JWKS.
    check_token "$old_token" "$workdir/jwks.json" "$issuer" tenant-a-writer "$first_kid" >/dev/null ||
      fail "pre-rotation token no longer verifies after $how"
    ok "rotation via $how: JWKS $n keys, new token kid=$new_kid, old kid still published"
    old_kid=$new_kid
  done

  lines=$(grep -c '"event":"token_issued"' "$workdir/server.log" || true)
  [[ $lines -eq 7 ]] || fail "server logged $lines token_issued lines, want 7"
  ok "server logged one line per token issued ($lines)"

  stop_server
done

echo "== KEYS_FILE (fixed private JWKS)"
node -e '
  const crypto = require("crypto");
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: "fixed-rs256", alg: "RS256" };
  console.log(JSON.stringify({ keys: [jwk] }));' >"$workdir/keys.json"
port=$(free_port)
issuer="http://127.0.0.1:${port}"
PORT=$port KEYS_FILE="$workdir/keys.json" node server.mjs >"$workdir/server.log" 2>&1 &
server_pid=$!
wait_ready "$issuer"
curl -sf --max-time 10 "$issuer/jwks" >"$workdir/jwks.json" || fail "JWKS fetch"
kids=$(jwks_kids "$workdir/jwks.json")
[[ $kids == fixed-rs256 ]] || fail "JWKS kids '$kids', want only fixed-rs256"
token=$(IDP_URL=$issuer ./get-token.sh metrics-collector) || fail "get-token metrics-collector"
got=$(check_token "$token" "$workdir/jwks.json" "$issuer" metrics-collector fixed-rs256) ||
  fail "token with KEYS_FILE"
ok "KEYS_FILE: JWKS publishes only its key, token signed with kid fixed-rs256"
stop_server

echo "== TLS_PORT (RFC 8705 certificate-bound access tokens)"
# A test CA, the IdP's server certificate and two client certificates, made now.
pki() { (cd "$workdir" && openssl "$@") >/dev/null 2>&1 || fail "openssl $1"; }
pki req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.crt -days 2 -subj /CN=idp-selftest-ca -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign
for name in server client other; do
  printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n' >"$workdir/$name.ext"
  pki req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" \
    -out "$name.csr" -subj "/CN=$name"
  pki x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
    -days 2 -extfile "$name.ext"
done
port=$(free_port)
tls_port=$(free_port)
issuer="http://127.0.0.1:${port}"
tls_url="https://127.0.0.1:${tls_port}"
PORT=$port TLS_PORT=$tls_port TLS_CERT_FILE="$workdir/server.crt" \
  TLS_KEY_FILE="$workdir/server.key" node server.mjs >"$workdir/server.log" 2>&1 &
server_pid=$!
wait_ready "$issuer"
read -r bound alias < <(node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(d.tls_client_certificate_bound_access_tokens,
              (d.mtls_endpoint_aliases || {}).token_endpoint);' "$workdir/disc.json")
[[ $bound == true && $alias == "$tls_url/token" ]] || fail "discovery: bound=$bound alias=$alias"
ok "discovery: tls_client_certificate_bound_access_tokens, mtls_endpoint_aliases $alias"
curl -sf --max-time 10 "$issuer/jwks" >"$workdir/jwks.json" || fail "JWKS fetch"
tls_token() {  # CLIENT_ID [CERT_NAME]
  local cert=() key=()
  if [[ $# -ge 2 ]]; then cert=("CERT=$workdir/$2.crt") key=("KEY=$workdir/$2.key"); fi
  env IDP_URL="$tls_url" CACERT="$workdir/ca.crt" ${cert[@]+"${cert[@]}"} ${key[@]+"${key[@]}"} \
    ./get-token.sh "$1"
}
for cert in client other; do
  token=$(tls_token bound-collector "$cert" 2>"$workdir/err") || fail "bound token: $(<"$workdir/err")"
  got=$(check_token "$token" "$workdir/jwks.json" "$issuer" bound-collector "" \
    "$workdir/$cert.crt") || fail "bound token ($cert)"
  ok "bound-collector with the $cert certificate: $got, cnf x5t#S256 = its thumbprint"
done
if IDP_URL=$issuer ./get-token.sh bound-collector >/dev/null 2>&1; then
  fail "bound client got a token over plain HTTP"
fi
if tls_token bound-collector >/dev/null 2>&1; then
  fail "bound client got a token without a client certificate"
fi
ok "bound-collector is refused without a client certificate (HTTP, and HTTPS without one)"
token=$(tls_token auditor client) || fail "auditor over HTTPS"
check_token "$token" "$workdir/jwks.json" "$issuer" auditor "" none >/dev/null ||
  fail "auditor token over HTTPS"
token=$(IDP_URL=$issuer ./get-token.sh auditor) || fail "auditor over HTTP"
check_token "$token" "$workdir/jwks.json" "$issuer" auditor "" none >/dev/null ||
  fail "auditor token over HTTP"
ok "other clients: unbound tokens over HTTPS (even with a certificate) and plain HTTP"
stop_server

echo "PASS: $checks checks"
