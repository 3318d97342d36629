#!/bin/sh
# CTest: the merged exposition of the test fixtures passes `promtool check metrics`.
# Usage: promtool_check.sh MERGE_TOOL TESTDATA_DIR
# Exit 77 (skipped) when promtool is not installed (Debian: the prometheus package ships it).
# promtool exits 1 on a parse error and 3 on lint findings. Our own families must be
# lint-clean (checked alone, exit 0 required); the fixtures copy OpenBao's real metric names,
# whose lint findings (counters without _total, ...) are OpenBao's and only printed.
set -u
tool=$1
data=$2
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: skipping"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$tool" bao-0=down:sealed bao-1=down >"$out" || exit 1
if ! promtool check metrics <"$out"; then
  echo "FAIL: synthetic families alone are not lint-clean:"
  cat "$out"
  exit 1
fi

"$tool" bao-0="$data/openbao_active.prom" bao-1="$data/openbao_standby.prom" bao-2=down \
  >"$out" || exit 1
promtool check metrics <"$out"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
  echo "FAIL: promtool could not parse the merged exposition (exit $rc):"
  cat "$out"
  exit 1
fi
echo "OK: merged exposition parses (promtool exit $rc)"
