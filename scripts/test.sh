#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, builds with warnings as errors,
# runs every unit, fuzz-replay, integration and end-to-end test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
OBSGATE_WERROR=ON ./scripts/build.sh
cd build
ctest --output-on-failure -j"${JOBS:-2}" --timeout 900
