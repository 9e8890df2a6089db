#!/usr/bin/env bash
# Submit a study to Slurm, as one MPI job or as a job array of shards followed by a merge.
#
#   jobs/slurm/submit.sh CONFIG.toml OUT.h5 [--mode mpi|array] [--shards K] [--ranks R]
#                        [--threads T] [--time T] [--partition P] [--account A] [--throttle P]
#                        [--nodes N]
#
#   --mode mpi    one job: R MPI ranks (default 4) x T threads (default 1), on --nodes N if given
#   --mode array  K array tasks (default 4), at most P at a time (default K), then a merge job
#   --time        per job, Slurm format (default 1:00:00); --partition and --account are passed on
# Prints the job ids and a command to watch them. Nothing about the cluster is assumed beyond sbatch.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() {
  echo "usage: jobs/slurm/submit.sh CONFIG.toml OUT.h5 [--mode mpi|array] [--shards K] [--ranks R] [--threads T] [--time T] [--partition P] [--account A] [--throttle P] [--nodes N]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
config=$1 output=$2
shift 2
mode=mpi shards=4 ranks=4 threads=1 time=1:00:00 partition="" account="" throttle="" nodes=""
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: $1 expects a positive integer, got '$2'" >&2; usage; }; }
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "submit.sh: $1 needs a value" >&2; usage; }
  case "$1" in
    --mode) mode=$2 ;;
    --shards) positive "$1" "$2"; shards=$2 ;;
    --ranks) positive "$1" "$2"; ranks=$2 ;;
    --threads) positive "$1" "$2"; threads=$2 ;;
    --time) time=$2 ;;
    --partition) partition=$2 ;;
    --account) account=$2 ;;
    --throttle) positive "$1" "$2"; throttle=$2 ;;
    --nodes) positive "$1" "$2"; nodes=$2 ;;
    *) echo "submit.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift 2
done
[[ $mode == mpi || $mode == array ]] || { echo "submit.sh: --mode expects mpi or array, got '$mode'" >&2; usage; }
[[ -f $config ]] || { echo "submit.sh: config '$config' not found" >&2; exit 2; }
study=${ICL_STUDY:-$(cd "$here/../.." && pwd)/build/bin/icl-study}
"$study" validate "$config" >/dev/null || exit 2
config=$(realpath "$config")
output=$(realpath -m "$output")

common=(--parsable --time="$time" --cpus-per-task="$threads" --export=ALL,ICL_STUDY="$study")
[[ -n $partition ]] && common+=(--partition="$partition")
[[ -n $account ]] && common+=(--account="$account")
mkdir -p "$(dirname "$output")"
logs="${output%.h5}.slurm"

if [[ $mode == mpi ]]; then
  id=$(sbatch "${common[@]}" --ntasks="$ranks" ${nodes:+--nodes="$nodes"} --output="$logs-%j.out" "$here/study.sbatch" "$config" "$output")
  echo "submitted MPI job $id ($ranks ranks x $threads threads)"
  echo "watch:   squeue -j $id; tail -f $logs-$id.out"
else
  max_array=$(scontrol show config 2>/dev/null | awk '/^MaxArraySize/ {print $3}')
  if [[ -n $max_array && $shards -gt $max_array ]]; then
    echo "submit.sh: --shards $shards exceeds this cluster's MaxArraySize ($max_array)" >&2
    exit 2
  fi
  array=$(sbatch "${common[@]}" --ntasks=1 --array="0-$((shards - 1))%${throttle:-$shards}" \
    --output="$logs-%A_%a.out" "$here/array.sbatch" "$config" "$output")
  merge=$(sbatch --parsable --time="$time" --ntasks=1 --dependency=afterok:"$array" \
    --kill-on-invalid-dep=yes ${partition:+--partition="$partition"} ${account:+--account="$account"} \
    --export=ALL,ICL_STUDY="$study" --output="$logs-merge-%j.out" "$here/merge.sbatch" "$output" "$shards")
  echo "submitted array job $array ($shards shards) and merge job $merge (runs after all shards succeed)"
  echo "watch:   squeue -j $array,$merge; tail -f $logs-${array}_*.out"
fi
echo "results: $output   (then: analysis/report $output -o ${output%.h5}/)"
