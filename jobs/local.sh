#!/usr/bin/env bash
# The main job on this machine: set up (install what is missing, build into build/), then run a
# study under mpirun over all cores and summarise it.
#
#   jobs/local.sh [CONFIG] [-o OUT.h5]      default: jobs/configs/quick.toml -> results/quick.h5
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
config="$root/jobs/configs/quick.toml"
output=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -o) output=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) config=$1; shift ;;
  esac
done
[[ -n "$output" ]] || output="$root/results/$(basename "$config" .toml).h5"

"$root/jobs/setup.sh" >&2
study="$root/build/bin/icl-study"
"$study" validate "$config"
mkdir -p "$(dirname "$output")"

ranks=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One rank per core, one thread each; --resume continues an interrupted run of the same config.
mpirun -n "$ranks" --bind-to none "$study" run "$config" -o "$output" --threads 1 --resume

"$study" info "$output"
echo
echo "result file: $output   (table: $study export $output)"
