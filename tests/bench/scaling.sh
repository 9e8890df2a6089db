#!/usr/bin/env bash
# Whole-program scaling on a fixed grid (issue 4): OpenMP 1 -> 2 threads and MPI 1 -> 2 ranks,
# measured side by side in one run, with rank 0's share of wall time in HDF5 writes and MPI
# message handling. Efficiency = t(1) / (2 t(2)).
#
#   tests/bench/scaling.sh [CONFIG]     default: tests/bench/configs/scaling.toml
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
config=${1:-$root/tests/bench/configs/scaling.toml}
study="$root/build/bin/icl-study"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {  # run NAME RANKS THREADS -> prints seconds; keeps rank 0's timing line
  local name=$1 ranks=$2 threads=$3 start end
  start=$(date +%s.%N)
  mpirun -n "$ranks" --bind-to none "$study" run "$config" -o "$work/$name.h5" --threads "$threads" \
    --progress on 2>"$work/$name.log" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

t11=$(run serial 1 1)
t12=$(run threads 1 2)
t21=$(run ranks 2 1)
printf '%-22s %10s %12s\n' layout seconds efficiency
printf '%-22s %10.2f %12s\n' "1 rank x 1 thread" "$t11" "-"
efficiency() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / (2 * b) }'; }
printf '%-22s %10.2f %12s\n' "1 rank x 2 threads" "$t12" "$(efficiency "$t11" "$t12")"
printf '%-22s %10.2f %12s\n' "2 ranks x 1 thread" "$t21" "$(efficiency "$t11" "$t21")"
for name in serial threads ranks; do
  printf '%-8s ' "$name"; grep "rank 0 time" "$work/$name.log"
done
cmp <("$study" export "$work/serial.h5") <("$study" export "$work/ranks.h5") &&
  cmp <("$study" export "$work/serial.h5") <("$study" export "$work/threads.h5") &&
  echo "exports identical across layouts"
