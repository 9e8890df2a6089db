#!/usr/bin/env bash
# Fuzz with libFuzzer for a bounded time each (default 60 s): the study-config parser, seeded with
# every config in the repository and the bad-input corpora of tests/e2e (test_bad_input.py,
# test_hostile_input.py); then the result-file reader on whole files in memory, seeded with result
# files that the program writes here. Builds the targets with clang into build-fuzz/
# (AddressSanitizer + UndefinedBehaviorSanitizer). Exits non-zero when a fuzzer finds a crash, a
# sanitizer report, an unexpected exception or a hang.
#
#   tests/fuzz/run.sh [SECONDS]
#   ICL_SEED_BINARY=path/to/icl-study  the program that writes the result-file seeds (default:
#                                      build-sanitize/bin/icl-study, else build/bin/icl-study)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-60}
build="$root/build-fuzz"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DICL_FUZZ=ON \
  -DICL_BUILD_TESTS=OFF -DICL_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_config fuzz_result_file

work=$(mktemp -d /tmp/icl-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=detect_leaks=1

# fuzz TARGET SEEDS MAX_LEN TIMEOUT: one bounded libFuzzer run; findings are kept in
# build-fuzz/findings/. TIMEOUT is the seconds one input may take before it counts as a hang.
fuzz() {
  local target=$1 seeds=$2 max_len=$3 timeout=$4
  mkdir -p "$work/$target/corpus" "$work/$target/findings"
  echo "fuzz $target: $(ls "$seeds" | wc -l) seeds, ${seconds} s"
  "$build/bin/$target" "$work/$target/corpus" "$seeds" -max_total_time="$seconds" -timeout="$timeout" \
    -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$work/$target/findings/" 2>"$work/$target/log" || {
    tail -40 "$work/$target/log" >&2
    mkdir -p "$build/findings/$target" && cp -r "$work/$target/findings/." "$build/findings/$target/"
    echo "fuzz $target: FAILED; reproducers in build-fuzz/findings/$target/" >&2
    return 1
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added|cov:" "$work/$target/log" | tail -3
  echo "fuzz $target: no findings"
}

mkdir -p "$work/config-seeds"
cp "$root"/jobs/configs/*.toml "$root"/tests/e2e/configs/*.toml "$root"/tests/bench/configs/*.toml \
  "$work/config-seeds/"
# The bad-input corpora, one file per broken config.
(cd "$root/tests/e2e" && /usr/bin/python3 - "$work/config-seeds" <<'PY'
import pathlib, sys
import test_bad_input, test_hostile_input
for corpus, cases in (("broken", test_bad_input.BROKEN), ("hostile", test_hostile_input.HOSTILE)):
    for i, (name, text, _) in enumerate(cases):
        # d = 1000 and 2000 are valid but slow to validate (a d x d eigendecomposition, seconds):
        # as seeds they would cost the fuzzer most of its time.
        if "d = [1000]" in text or "d = [2000]" in text:
            continue
        pathlib.Path(sys.argv[1], f"{corpus}-{i:02d}.toml").write_text(text)
PY
)
status=0
# A config is parsed and validated in full, every covariance of the grid built and decomposed: at
# d = 2000 with a rotated covariance that takes about 30 s in the optimised build and several
# times longer instrumented. Such an input is slow, not hung; a hang is one that takes minutes.
fuzz fuzz_config "$work/config-seeds" 4096 600 || status=1

# Result files as the program writes them: a finished run, a shard, a file of trained models only.
binary=${ICL_SEED_BINARY:-}
if [[ -z "$binary" ]]; then
  binary="$root/build-sanitize/bin/icl-study"
  [[ -x "$binary" ]] || binary="$root/build/bin/icl-study"
fi
mkdir -p "$work/file-seeds"
cat >"$work/tiny.toml" <<'TOML'
[study]
name = "fuzz-seed"
seed = 1
prompts = 100

[grid]
d = [1, 2]
N = [2]
M = [1, 3]
covariance = ["identity"]

[training]
method = "flow"

[evaluation]
predictors = ["lsa", "zero"]
TOML
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
(
  export ASAN_OPTIONS=detect_leaks=0
  "$binary" run "$work/tiny.toml" -o "$work/file-seeds/run.h5" --progress off
  "$binary" run "$work/tiny.toml" -o "$work/file-seeds/shard.h5" --shard 1/2 --progress off
  "$binary" train "$work/tiny.toml" -o "$work/file-seeds/trained.h5" 2>/dev/null
)
fuzz fuzz_result_file "$work/file-seeds" 65536 10 || status=1
exit $status
