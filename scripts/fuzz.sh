#!/usr/bin/env bash
# Fuzzes the readers of untrusted input for MINUTES in all (default 5: the build, then the time left
# shared evenly among the targets, each at least 5 s) with libFuzzer (clang, from Debian), or with
# AFL++ when FUZZ_ENGINE=afl (afl-clang-fast drives the same libFuzzer-style targets):
#   scripts/fuzz.sh [MINUTES] [TARGET ...]     targets: spec spec_yaml idx csv model checkpoint study (default all)
#   FUZZ_SECONDS=20 scripts/fuzz.sh 0 csv      seconds in all instead of minutes (a quick check)
#   FUZZ_PLAN=1 scripts/fuzz.sh 7              print each target's share of the time; build and fuzz nothing
# Each target starts from tests/fuzz/corpus/TARGET (seeds and every reproducer so far) and grows a
# working corpus in build-fuzz/corpus-TARGET. A crash, leak, hang or UBSan report lands in
# build-fuzz/findings-TARGET/; fix it, then copy the input into tests/fuzz/corpus/TARGET/ with a
# name saying what it reproduces: the normal test run replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-5}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec spec_yaml idx csv model checkpoint study)
engine=${FUZZ_ENGINE:-libfuzzer}
[[ "$minutes" =~ ^[0-9]+$ ]] || { echo "fuzz: MINUTES must be a whole number, got '$minutes'" >&2; exit 2; }
total=${FUZZ_SECONDS:-$((minutes * 60))}
deadline=$(($(date +%s) + total))
# Each target's share of what is left: the time to the deadline over the targets still to run.
share() { local s=$(($1 / $2)); echo $((s < 5 ? 5 : s)); } # share LEFT TARGETS
if [ "${FUZZ_PLAN:-0}" = 1 ]; then
  left=$total
  for i in "${!targets[@]}"; do
    s=$(share $left $((${#targets[@]} - i)))
    echo "${targets[$i]} $s"
    left=$((left - s))
  done
  echo "total $total"
  exit 0
fi

CAVIAR_FUZZ=ON CAVIAR_PACKAGES_ONLY=1 scripts/setup.sh # clang and libomp-dev when missing
if [ "$engine" = afl ]; then
  command -v afl-clang-fast >/dev/null || { echo "fuzz: FUZZ_ENGINE=afl needs afl-clang-fast (Debian: afl++)" >&2; exit 2; }
  cc=afl-clang-fast
else
  cc=clang
fi
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$cc" -DCAVIAR_CUDA=OFF -DCAVIAR_TESTS=OFF -DCAVIAR_FUZZ=ON \
  -DCAVIAR_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build-fuzz -j2 $(printf -- '--target fuzz_%s ' "${targets[@]}") >&2

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
status=0
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  seconds=$(share $((deadline - $(date +%s))) $((${#targets[@]} - i)))
  work=build-fuzz/corpus-$t findings=build-fuzz/findings-$t
  mkdir -p "$work" "$findings"
  echo "== fuzz: $t for $seconds s (of $total s in all)" >&2
  if [ "$engine" = afl ]; then
    AFL_NO_UI=1 afl-fuzz -i "tests/fuzz/corpus/$t" -o "$findings" -V "$seconds" -- "build-fuzz/tests/fuzz/fuzz_$t" \
      || status=1
  else
    "build-fuzz/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="$findings/" -print_final_stats=1 2>"build-fuzz/fuzz-$t.log" \
      || status=1
    tail -3 "build-fuzz/fuzz-$t.log" >&2
  fi
  if [ -n "$(ls -A "$findings" 2>/dev/null | grep -v -e '^default$')" ] && [ "$engine" != afl ]; then
    echo "fuzz: $t found something: $findings/" >&2
    status=1
  fi
done
exit $status
