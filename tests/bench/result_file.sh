#!/usr/bin/env bash
# The result file at scale (issue 17): commits that cost what they add, and a 10^6-point grid.
#   1. build/bench/bench_result_file: one commit of 1000 points, journal against whole-file
#      rewrite, at grids of 10^3 ... 10^6 points (side by side, with the ratio).
#   2. A 10^6-point cheap grid on one rank (the sufficient sampler, 256 prompts per point, d = 5,
#      two threads): rank 0's share of the run in result-file writes, and the journal's commit
#      times over the run.
#   3. info, export, merge and the Python loader on that file, timed.
#
#   tests/bench/result_file.sh [POINTS]     default 1000000 (about 4 minutes on 2 cores)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
points=${1:-1000000}
study="$root/build/bin/icl-study"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$root/build/bench/bench_result_file" --benchmark_min_time=0.2 2>/dev/null | sed -n '/^commit of/,$p'

# d = 5, N in {10, 20}, two covariances, 250 values of M and points / 1000 task scales.
/usr/bin/python3 - "$points" >"$work/grid.toml" <<'PY'
import sys
points = int(sys.argv[1])
scales = ", ".join(f'"task-scale={1 + i / 1000:g}"' for i in range(max(1, points // 1000)))
print(f"""[study]
name = "result-file-scale"
seed = 1
prompts = 256
sampler = "sufficient"

[grid]
d = [5]
N = [10, 20]
M = {list(range(10, 260))}
shift = [{scales}]
covariance = ["identity", "power:1"]

[training]
method = "closed-form"

[evaluation]
predictors = ["lsa", "zero"]""")
PY
"$study" validate "$work/grid.toml"
timed() {  # timed LABEL COMMAND...: wall seconds of the command, its output discarded
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v l="$label" -v a="$start" -v b="$end" 'BEGIN { printf "%-28s %8.2f s\n", l, b - a }'
}
echo
timed "run (1 rank, 2 threads)" "$study" run "$work/grid.toml" -o "$work/grid.h5" --threads 2 \
  --progress on 2>"$work/run.log"
tr '\r' '\n' <"$work/run.log" | grep "rank 0 time"
ls -l "$work/grid.h5" | awk '{ printf "file size %.0f MB\n", $5 / 1e6 }'
timed "info" "$study" info "$work/grid.h5"
timed "export (csv to a file)" sh -c "'$study' export '$work/grid.h5' > '$work/grid.csv'"
timed "merge (one shard)" "$study" merge "$work/grid.h5" -o "$work/merged.h5"
cd "$root/analysis"
timed "Python load()" /usr/bin/python3 -c "import icl_analysis; icl_analysis.load('$work/grid.h5')"
timed "Python load() + tidy()" /usr/bin/python3 -c \
  "import icl_analysis as a; a.tidy(a.load('$work/grid.h5'))"
