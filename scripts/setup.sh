#!/usr/bin/env bash
# Installs everything obsgate's build, tests, local profile and benchmarks need, from Debian's
# packages and the npm registry only. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  # build
  build-essential cmake pkg-config ccache git
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev libssl-dev
  prometheus-cpp-dev libyaml-cpp-dev libre2-dev libprotobuf-dev protobuf-compiler libsnappy-dev
  libjemalloc-dev  # the obsgate executable's allocator (gateway/cli/CMakeLists.txt)
  # tests: Catch2 (unit), python3 (integration/e2e drivers), prometheus (real backend, promtool),
  # openssl (test CA), clang + its runtime (libFuzzer builds), nodejs/npm (OIDC provider)
  catch2 python3 prometheus openssl clang libclang-rt-14-dev nodejs
  python3-yaml systemd  # tests/deploy: PyYAML for Debian's python3, systemd-analyze
  # benchmarks: wrk and nginx (reference peer), Google Benchmark
  wrk nginx libbenchmark-dev
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# nginx's package may start a system instance listening on :80; the project never uses it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
echo "setup: ok"
