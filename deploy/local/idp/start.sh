#!/usr/bin/env bash
# Starts the local IdP (server.mjs) in the background, waits until its discovery document
# answers, and prints the server's PID on stdout (nothing else), for deploy/local/run.sh and
# tests. Installs the npm dependencies first if they are missing (npm ci, pinned lockfile).
#
# Usage: start.sh [LOG_FILE]       (default: ${TMPDIR:-/tmp}/obsgate-idp-<PORT>.log)
# Env:   PORT (default 19070), ACCESS_TOKEN_ALG, KEYS_FILE, TLS_PORT, TLS_CERT_FILE, TLS_KEY_FILE:
#        passed to server.mjs (README.md); readiness is checked on the HTTP port
#        START_TIMEOUT seconds to wait for readiness (default 60); START_STALL seconds after
#        which a start that has not logged "listening" is retried (default 10)
# Exit:  0 ready (PID printed); 1 the server exited or was not ready in time (it is killed).
# Stop:  kill -TERM <PID> (exits 0 within 2 s).
set -euo pipefail
cd "$(dirname "$0")"

port=${PORT:-19070}
log=${1:-${TMPDIR:-/tmp}/obsgate-idp-${port}.log}
timeout_s=${START_TIMEOUT:-60}

if [[ ! -d node_modules/oidc-provider ]]; then
  echo "idp: installing dependencies (npm ci)" >&2
  timeout 300 npm ci --no-audit --no-fund >&2
fi

ready() {
  node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(1000) })
      .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' \
    "http://127.0.0.1:${port}/.well-known/openid-configuration"
}

# node 20 with oidc-provider sometimes stalls while loading its modules: the process sits idle
# and never reaches listen() (seen in about 1 start in 10 with the HTTPS listener on; a new
# process then starts normally in under a second). So an attempt that has not logged
# "listening" within stall_s is killed and started again, within the overall timeout.
stall_s=${START_STALL:-10}
deadline=$((SECONDS + timeout_s))
attempt=0
while ((SECONDS < deadline)); do
  attempt=$((attempt + 1))
  if ((attempt > 1)); then
    echo "idp: attempt $((attempt - 1)) stalled before listening; starting it again" >&2
  fi
  PORT=$port nohup node server.mjs >"$log" 2>&1 </dev/null &
  pid=$!
  started=$SECONDS
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "idp: server exited during start; log $log:" >&2
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    if ready; then
      echo "$pid"
      exit 0
    fi
    if ((SECONDS - started >= stall_s)) && ! grep -q '"event":"listening"' "$log"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
done
echo "idp: not ready after ${timeout_s}s; log $log:" >&2
tail -n 20 "$log" >&2 || true
kill -TERM "$pid" 2>/dev/null || true
exit 1
