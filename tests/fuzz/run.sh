#!/usr/bin/env bash
# Fuzz the study-config parser with libFuzzer for a bounded time (default 60 s), seeded with every
# config in the repository and the bad-input corpus of tests/e2e/test_bad_input.py. Builds the
# target with clang into build-fuzz/ (AddressSanitizer + UndefinedBehaviorSanitizer). Exits
# non-zero when the fuzzer finds a crash, a sanitizer report, an unexpected exception or a hang.
#
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-60}
build="$root/build-fuzz"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DICL_FUZZ=ON \
  -DICL_BUILD_TESTS=OFF -DICL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_config

work=$(mktemp -d /tmp/icl-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/seeds" "$work/corpus" "$work/findings"
cp "$root"/jobs/configs/*.toml "$root"/tests/e2e/configs/*.toml "$root"/tests/bench/configs/*.toml \
  "$work/seeds/"
# The bad-input corpus, one file per broken config.
(cd "$root/tests/e2e" && /usr/bin/python3 - "$work/seeds" <<'PY'
import pathlib, sys
import test_bad_input
for i, (name, text, _) in enumerate(test_bad_input.BROKEN):
    pathlib.Path(sys.argv[1], f"broken-{i:02d}.toml").write_text(text)
PY
)
echo "fuzz: $(ls "$work/seeds" | wc -l) seeds, ${seconds} s"
export ASAN_OPTIONS=detect_leaks=1
"$build/bin/fuzz_config" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/findings/" \
  2>"$work/log" || {
  tail -40 "$work/log" >&2
  mkdir -p "$root/build-fuzz/findings" && cp -r "$work/findings/." "$root/build-fuzz/findings/"
  echo "fuzz: FAILED; reproducers in build-fuzz/findings/" >&2
  exit 1
}
grep -E "stat::number_of_executed_units|stat::new_units_added|cov:" "$work/log" | tail -3
echo "fuzz: no findings"
