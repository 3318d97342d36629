#!/usr/bin/env bash
# Configures and builds obsgate into build/ (RelWithDebInfo). Extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOBSGATE_WERROR=${OBSGATE_WERROR:-ON} "$@" >/dev/null
cmake --build build -j"$JOBS"
