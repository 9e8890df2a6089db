#!/usr/bin/env bash
# The main job on this machine: set up if needed (install what is missing, build into build/), run a
# study under mpirun on all cores, then the analysis. By default the paper study:
# results/paper.h5 and the report in results/paper/.
#
#   jobs/local.sh [CONFIG.toml] [-o OUT.h5]
# An interrupted run continues where it stopped when started again with the same config.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config="$root/jobs/configs/paper.toml"
output=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -o) output=${2:?-o needs a file name}; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "jobs/local.sh: unknown option '$1'" >&2; exit 2 ;;
    *) config=$1; shift ;;
  esac
done
[[ -n "$output" ]] || output="$root/results/$(basename "$config" .toml).h5"
report="${output%.h5}"

"$root/jobs/setup.sh" >&2
study="$root/build/bin/icl-study"
"$study" validate "$config"
mkdir -p "$(dirname "$output")"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
# One rank per core, one thread each; --resume continues an interrupted run of the same config
# (and rewrites a finished one unchanged).
mpirun -n "$(nproc)" --bind-to none "$study" run "$config" -o "$output" --threads 1 --resume
echo "study finished in $(( $(date +%s) - start )) s" >&2

"$study" info "$output"
"$root/analysis/report" "$output" -o "$report" >/dev/null
echo
sed -n '/^## Claims/,/^## Agreement/p' "$report/report.md" | head -n -1
echo "result file: $output"
echo "report:      $report/report.md (and report.html, figures, rates.csv, agreement.csv)"
