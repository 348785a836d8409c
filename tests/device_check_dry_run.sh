#!/usr/bin/env bash
# The device check's dry run where there is no GPU (CI, the dev VMs): bundled from this build, it
# must end within its deadline, say that no GPU ran anything, and still leave its table and its
# log tarball in $OUT, and nothing else there (a device run returns at most 8 files).
# usage: tests/device_check_dry_run.sh SOURCE_DIR BUILD_DIR   (exit 77: skipped, a GPU is here)
set -euo pipefail
src=$1
build=$(realpath "$2")
if grep -q GPU <<<"$(nvidia-smi -L 2>/dev/null || true)"; then
  echo "a GPU is present: this checks the dry run, which needs none" >&2
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; sed 's/^/  check: /' "$tmp/check.log" >&2 || true; exit 1; }
CAVIAR_DEVICE_BUILD="$build" CAVIAR_BUNDLE="$tmp/bundle.tar.gz" "$src/scripts/device-prepare.sh" 2>"$tmp/prepare.log" ||
  { cat "$tmp/prepare.log" >&2; fail "device-prepare.sh failed"; }
deadline=40
start=$SECONDS
rc=0
OUT="$tmp/out" CAVIAR_BUNDLE="$tmp/bundle.tar.gz" CAVIAR_DEADLINE=$deadline "$src/scripts/device-check.sh" \
  >"$tmp/check.log" 2>&1 || rc=$?
took=$((SECONDS - start))
[ "$rc" -ne 0 ] || fail "a check with no GPU must not pass"
[ "$took" -le $((deadline + 20)) ] || fail "took ${took}s, past its ${deadline}s deadline"
[ -s "$tmp/out/table.txt" ] || fail "no table.txt"
grep -q "NO GPU" "$tmp/out/table.txt" || fail "the table does not say that there is no GPU"
grep -q "^| run | models" "$tmp/out/table.txt" || fail "the table has no benchmark table"
# The listing first: grep -q would close the pipe early and fail tar under pipefail.
listing=$(tar -tzf "$tmp/out/logs.tar.gz") || fail "logs.tar.gz does not list"
grep -q "logs/steps.txt" <<<"$listing" || fail "logs.tar.gz lacks steps.txt"
grep -q "logs/test_backend_agreement.log" <<<"$listing" || fail "logs.tar.gz lacks the tests' logs"
n=$(find "$tmp/out" -mindepth 1 | wc -l)
[ "$n" -eq 2 ] || fail "\$OUT holds $n entries, expected table.txt and logs.tar.gz"
echo "device check dry run: rc=$rc in ${took}s (deadline ${deadline}s), table and tarball written"
