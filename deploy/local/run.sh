#!/usr/bin/env bash
# The local profile: obsgate in front of a real Prometheus on loopback, with data of three
# tenants. Installs and builds what it needs on first use.
#
#   deploy/local/run.sh           run until Ctrl-C, printing how to query through obsgate
#   deploy/local/run.sh --smoke   start everything, query through obsgate, check, stop
#
# Set OBSGATE_BIN to use an already built binary (skips set-up and build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mode="${1:-run}"

if [ -z "${OBSGATE_BIN:-}" ]; then
  "$root/scripts/setup.sh"
  OBSGATE_WERROR=OFF "$root/scripts/build.sh" --target obsgate
  OBSGATE_BIN="$root/build/gateway/cli/obsgate"
fi

state="$(mktemp -d /tmp/obsgate-local.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

wait_http() {  # url, seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    if ((SECONDS > deadline)); then echo "timed out waiting for $1" >&2; return 1; fi
    sleep 0.2
  done
}

prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$state/prometheus" \
  --web.listen-address=127.0.0.1:19090 --web.enable-remote-write-receiver \
  --log.level=warn >"$state/prometheus.log" 2>&1 &
pids+=($!)
"$OBSGATE_BIN" --check-config "$here/obsgate.yaml"
"$OBSGATE_BIN" --config "$here/obsgate.yaml" >"$state/obsgate-access.log" 2>"$state/obsgate.log" &
pids+=($!)
wait_http http://127.0.0.1:19090/-/ready 30
wait_http http://127.0.0.1:19081/readyz 30

# Wait for the first scrapes so the three tenants' series exist.
deadline=$((SECONDS + 30))
until curl -fsS 'http://127.0.0.1:19080/api/v1/query?query=count(up)' | grep -q '"3"'; do
  if ((SECONDS > deadline)); then echo "no data after 30s" >&2; exit 1; fi
  sleep 0.5
done

if [ "$mode" = "--smoke" ]; then
  out=$(curl -fsS 'http://127.0.0.1:19080/api/v1/query?query=up')
  for ns in team-a team-b platform; do
    grep -q "\"namespace\":\"$ns\"" <<<"$out" || { echo "smoke: no $ns series" >&2; exit 1; }
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:19080/api/v1/admin/tsdb/snapshot' -X POST)
  [ "$code" = 404 ] || { echo "smoke: admin API reachable ($code)" >&2; exit 1; }
  echo "smoke: ok (three tenants' series through obsgate; admin API denied)"
  exit 0
fi

cat <<MSG

obsgate local profile is up:
  obsgate            http://127.0.0.1:19080   (access log: $state/obsgate-access.log)
  obsgate admin      http://127.0.0.1:19081   (/healthz /readyz /metrics)
  Prometheus         http://127.0.0.1:19090   (the backend; scraping itself as 3 tenants)

Query through obsgate:
  curl -s 'http://127.0.0.1:19080/api/v1/query?query=up'
  curl -s 'http://127.0.0.1:19080/api/v1/query?query=sum%20by%20(namespace)(up)'
  curl -s 'http://127.0.0.1:19080/api/v1/label/namespace/values'
What obsgate refuses (default deny):
  curl -si -X POST 'http://127.0.0.1:19080/api/v1/admin/tsdb/snapshot'   # 404: no route
  curl -si 'http://127.0.0.1:19080/api/v1/query?query=up&foo=1'           # 400: unknown parameter
Self-metrics:
  curl -s http://127.0.0.1:19081/metrics | grep obsgate_http_requests_total

Ctrl-C stops everything.
MSG
wait "${pids[1]}"
