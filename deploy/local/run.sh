#!/usr/bin/env bash
# The local profile: the whole product in miniature, on 127.0.0.1 only. Starts
#   the OpenID provider (idp/, oidc-provider)          :19070
#   Prometheus (Debian package), three tenants' series  :19090
#   the Loki double (tests/doubles), seeded             :19100
#   three OpenBao node doubles (active/standby/sealed)  :19201 :19202 :19203
#   obsgate: plain HTTP :19080, TLS + client certificates :19443, admin :19081
# generates a throw-away CA, server and collector certificates and the OpenBao metrics token in
# a temporary state directory, and prints how to query through obsgate.
#
#   deploy/local/run.sh           run until Ctrl-C
#   deploy/local/run.sh --smoke   start everything, run the checks in smoke.py, stop; exit 1 on
#                                 any failed check
#
# Set OBSGATE_BIN to use an already built binary (skips set-up and build). Every wait is bounded;
# everything started here is stopped and the state directory removed on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mode="${1:-run}"
case "$mode" in
  run | --smoke) ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac

if [ -z "${OBSGATE_BIN:-}" ]; then
  "$root/scripts/setup.sh"
  OBSGATE_WERROR=OFF "$root/scripts/build.sh" --target obsgate
  OBSGATE_BIN="$root/build/gateway/cli/obsgate"
fi

readonly IDP_PORT=19070 PROM_PORT=19090 LOKI_PORT=19100 GW_PORT=19080 GW_TLS_PORT=19443
readonly ADMIN_PORT=19081 BAO_PORTS=(19201 19202 19203)

for p in $IDP_PORT $PROM_PORT $LOKI_PORT $GW_PORT $GW_TLS_PORT $ADMIN_PORT "${BAO_PORTS[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "local profile: port $p on 127.0.0.1 is in use (another run.sh?)" >&2
    exit 1
  fi
done

state="$(mktemp -d /tmp/obsgate-local.XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  local deadline=$((SECONDS + 10))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -n "${KEEP_STATE_ON_FAILURE:-}" ]; then
    echo "local profile: state kept in $state" >&2
  else
    rm -rf "$state"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "local profile: $*" >&2
  for log in "$state"/*.log; do
    [ -s "$log" ] && { echo "--- $(basename "$log") (last lines)" >&2; tail -n 15 "$log" >&2; }
  done
  exit 1
}

wait_http() {  # url seconds [any] [pid]: until the URL answers 2xx (with "any": at all)
  local deadline=$((SECONDS + $2)) fail=-f
  [ "${3:-}" = any ] && fail=
  until curl -sS $fail --max-time 2 -o /dev/null "$1" 2>/dev/null; do
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then die "process $4 exited"; fi
    if ((SECONDS > deadline)); then die "timed out after $2 s waiting for $1"; fi
    sleep 0.2
  done
}

# --- secrets and certificates (throw-away, in the state directory) -------------------------
mkdir -p "$state/tls"
(
  cd "$state/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=obsgate local CA" -keyout ca.key -out ca.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout server.key -out server.csr 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n') \
    -out server.crt 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=metrics-collector" \
    -keyout collector.key -out collector.csr 2>/dev/null
  openssl x509 -req -in collector.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out collector.crt 2>/dev/null
  chmod 600 ./*.key
) || die "openssl failed to generate the local certificates"
bao_token="s.local-$(openssl rand -hex 12)"
(umask 077 && printf '%s\n' "$bao_token" >"$state/openbao-metrics.token")
sed "s|@STATE@|$state|g" "$here/obsgate.yaml" >"$state/obsgate.yaml"
# Prometheus: the local tenant jobs plus the shipped jobs and alerts of deploy/prometheus/.
python3 "$here/render_prometheus.py" "$state" >"$state/prometheus.yml" ||
  die "render_prometheus.py failed"
if command -v promtool >/dev/null; then
  promtool check config "$state/prometheus.yml" >"$state/promtool.log" 2>&1 ||
    die "promtool check config failed: $(cat "$state/promtool.log")"
fi
"$OBSGATE_BIN" --check-config "$state/obsgate.yaml" >"$state/check-config.log" 2>&1 ||
  die "obsgate --check-config failed: $(cat "$state/check-config.log")"

# --- backends ------------------------------------------------------------------------------
idp_pid=$(PORT=$IDP_PORT START_TIMEOUT=60 "$here/idp/start.sh" "$state/idp.log") ||
  die "the local IdP did not start"
pids+=("$idp_pid")

python3 "$root/tests/doubles/loki_double.py" --port $LOKI_PORT \
  --data "$here/loki-seed.json" >"$state/loki.out" 2>"$state/loki.log" &
pids+=($!)

bao_states=(active standby sealed)
for i in 0 1 2; do
  extra=()
  ((i > 0)) && extra=(--unauthenticated-metrics)  # metrics-only listeners (obsgate.yaml)
  python3 "$root/tests/doubles/openbao_double.py" --port "${BAO_PORTS[$i]}" --name "bao-$i" \
    --state "${bao_states[$i]}" --token "$bao_token" --cluster-name obsgate-local \
    "${extra[@]}" >"$state/bao-$i.out" 2>"$state/bao-$i.log" &
  pids+=($!)
done

prometheus --config.file="$state/prometheus.yml" --storage.tsdb.path="$state/prometheus" \
  --web.listen-address=127.0.0.1:$PROM_PORT --web.enable-remote-write-receiver \
  --log.level=warn >"$state/prometheus.log" 2>&1 &
pids+=($!)

wait_http "http://127.0.0.1:$LOKI_PORT/ready" 30
for p in "${BAO_PORTS[@]}"; do wait_http "http://127.0.0.1:$p/v1/sys/health" 30 any; done
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 60

# --- obsgate -------------------------------------------------------------------------------
"$OBSGATE_BIN" --config "$state/obsgate.yaml" >"$state/obsgate-access.log" \
  2>"$state/obsgate.log" &
obsgate_pid=$!
pids+=("$obsgate_pid")
wait_http "http://127.0.0.1:$ADMIN_PORT/readyz" 30 "" "$obsgate_pid"  # ready once the IdP's keys are in

export IDP_URL="http://127.0.0.1:$IDP_PORT"
token() { "$here/idp/get-token.sh" "$1"; }

# Wait for the first scrapes, through obsgate, as each tenant.
tok_a=$(token tenant-a-reader) || die "no token for tenant-a-reader"
tok_b=$(token tenant-b-reader) || die "no token for tenant-b-reader"
deadline=$((SECONDS + 45))
for t in "$tok_a" "$tok_b"; do
  until curl -fsS --max-time 5 -H "Authorization: Bearer $t" \
    "http://127.0.0.1:$GW_PORT/api/v1/query?query=up" 2>/dev/null | grep -q '"namespace"'; do
    if ((SECONDS > deadline)); then die "no series through obsgate after 45 s"; fi
    sleep 0.5
  done
done

export GW="http://127.0.0.1:$GW_PORT" GW_TLS="https://127.0.0.1:$GW_TLS_PORT"
export ADMIN="http://127.0.0.1:$ADMIN_PORT" PROM="http://127.0.0.1:$PROM_PORT" STATE="$state"
export LOKI="http://127.0.0.1:$LOKI_PORT" BAO0="http://127.0.0.1:${BAO_PORTS[0]}"
export TOKEN_CMD="$here/idp/get-token.sh"

if [ "$mode" = "--smoke" ]; then
  python3 "$here/smoke.py"
  exit $?
fi

python3 "$here/side_by_side.py"
cat <<MSG

obsgate local profile is up (state, logs and certificates in $state):
  obsgate          http://127.0.0.1:$GW_PORT    tokens    (access log: $state/obsgate-access.log)
                   https://127.0.0.1:$GW_TLS_PORT   tokens or the collector's client certificate
  obsgate admin    http://127.0.0.1:$ADMIN_PORT    /healthz /readyz /metrics
  IdP              http://127.0.0.1:$IDP_PORT    clients tenant-a-reader tenant-b-reader auditor
                                              metrics-collector tenant-a-writer
  Prometheus       http://127.0.0.1:$PROM_PORT    the backend (do not query it directly)
  Loki double      http://127.0.0.1:$LOKI_PORT
  OpenBao doubles  bao-0 :${BAO_PORTS[0]} active, bao-1 :${BAO_PORTS[1]} standby, bao-2 :${BAO_PORTS[2]} sealed

Metrics as tenant A (only namespace="team-a"; the instance label is hidden from team-a):
  curl -s -H "Authorization: Bearer \$(deploy/local/idp/get-token.sh tenant-a-reader)" \\
    '$GW/api/v1/query?query=up'
Logs as tenant B, then as the auditor (audit streams {job="openbao-audit"}):
  curl -s -G -H "Authorization: Bearer \$(deploy/local/idp/get-token.sh tenant-b-reader)" \\
    '$GW/loki/api/v1/query_range' --data-urlencode 'query={app="api"}'
  curl -s -G -H "Authorization: Bearer \$(deploy/local/idp/get-token.sh auditor)" \\
    '$GW/loki/api/v1/query_range' --data-urlencode 'query={job="openbao-audit"}'
OpenBao, every node in one scrape, as the collector (client certificate):
  curl -s --cacert $state/tls/ca.crt --cert $state/tls/collector.crt \\
    --key $state/tls/collector.key '$GW_TLS/openbao/nodes/metrics' | grep openbao_node_
Write as tenant A (the namespace label is stamped):
  curl -si -H "Authorization: Bearer \$(deploy/local/idp/get-token.sh tenant-a-writer)" \\
    -H 'Content-Type: application/json' '$GW/loki/api/v1/push' \\
    -d '{"streams":[{"stream":{"app":"demo"},"values":[["'\$(date +%s%N)'","hello"]]}]}'
What obsgate refuses:
  curl -si '$GW/api/v1/query?query=up'                       # 401, WWW-Authenticate: Bearer
  curl -si -X POST '$GW/api/v1/admin/tsdb/snapshot'          # 404: no route
Self-metrics:  curl -s $ADMIN/metrics | grep obsgate_http_requests_total

Ctrl-C stops everything.
MSG
wait "$obsgate_pid"
