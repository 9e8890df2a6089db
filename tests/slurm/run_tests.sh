#!/usr/bin/env bash
# The Slurm tests, on a real local cluster (munged, slurmctld, two slurmd as node1 and node2 on this
# host). Every daemon is stopped by PID in a trap, also when a test fails. Prints one line per test and
# "N passed, N failed"; exits non-zero on any failure.
#
#   tests/slurm/run_tests.sh [BUILD_DIR]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
study="$build/bin/icl-study"
here="$root/tests/slurm"
source "$here/cluster.sh"

work=$(mktemp -d /tmp/icl-slurm.XXXXXX)
chmod 755 "$work"
trap 'stop_cluster "$work/cluster"; rm -rf "$work"' EXIT
start_cluster "$work/cluster" || { echo "could not start the local Slurm cluster"; exit 1; }
export ICL_STUDY="$study" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# wait_jobs ID... : until none of them is pending or running (10 minutes at most).
wait_jobs() {
  local deadline=$((SECONDS + 600)) ids
  ids=$(IFS=,; echo "$*")
  while [[ $SECONDS -lt $deadline ]]; do
    [[ -z $(squeue -h -j "$ids" -t PENDING,RUNNING,REQUEUED,SUSPENDED,COMPLETING 2>/dev/null) ]] && return 0
    sleep 1
  done
  return 1
}
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2; exit}'; }
export_of() { "$study" export "$1"; }

config="$here/configs/slurm.toml"
mpirun -n 2 --bind-to none "$study" run "$config" -o "$work/local.h5" --progress off --threads 1 || exit 1
expected=$(export_of "$work/local.h5")

# 1. One MPI job across the two nodes.
cd "$work"
out=$("$root/jobs/slurm/submit.sh" "$config" "$work/mpi.h5" --mode mpi --ranks 2 --nodes 2 --time 10:00)
id=$(echo "$out" | awk '/submitted MPI job/ {print $4}')
if wait_jobs "$id" && [[ $(job_field "$id" JobState) == COMPLETED ]]; then
  nodes=$(job_field "$id" NodeList)
  if [[ $(export_of "$work/mpi.h5") == "$expected" && $nodes == "node[1-2]" ]]; then
    pass "mpi job on $nodes gives the local export byte for byte"
  else
    fail "mpi job" "export differs or wrong nodes ($nodes)"
  fi
else
  fail "mpi job" "state $(job_field "$id" JobState); log: $(cat "$work"/mpi.slurm-*.out 2>/dev/null | tail -5)"
fi

# 2. A job array of four shards, throttled to two at a time, and the merge after it.
out=$("$root/jobs/slurm/submit.sh" "$config" "$work/array.h5" --mode array --shards 4 --throttle 2 --time 10:00)
array=$(echo "$out" | awk '/submitted array job/ {print $4}')
merge=$(echo "$out" | awk '/submitted array job/ {print $10}')
if wait_jobs "$array" "$merge" && [[ $(job_field "$merge" JobState) == COMPLETED ]] &&
   [[ $(export_of "$work/array.h5") == "$expected" ]]; then
  pass "array of 4 shards + merge gives the local export byte for byte"
else
  fail "array + merge" "merge state $(job_field "$merge" JobState); $(tail -3 "$work"/array.slurm-merge-*.out 2>/dev/null)"
fi

# 3. A time limit too short: SIGUSR1 before the limit, exit 75, requeue, --resume, same export.
slow="$here/configs/slow.toml"
mpirun -n 2 --bind-to none "$study" run "$slow" -o "$work/slow-local.h5" --progress off --threads 1 || exit 1
id=$(sbatch --parsable --time=1 --signal=B:USR1@40 --ntasks=1 --cpus-per-task=1 \
  --output="$work/slow-%j.out" "$root/jobs/slurm/study.sbatch" "$slow" "$work/slow.h5")
if wait_jobs "$id" && [[ $(job_field "$id" JobState) == COMPLETED ]]; then
  restarts=$(job_field "$id" Restarts)
  if [[ $restarts -ge 1 ]] && grep -q "requeueing" "$work"/slow-*.out &&
     [[ $(export_of "$work/slow.h5") == $(export_of "$work/slow-local.h5") ]]; then
    pass "time-limited job was signalled, exited 75, requeued $restarts time(s) and completed with the same export"
  else
    fail "time limit" "restarts=$restarts; $(tail -5 "$work"/slow-*.out)"
  fi
else
  fail "time limit" "state $(job_field "$id" JobState); $(tail -5 "$work"/slow-*.out 2>/dev/null)"
fi

# 4. A failing shard keeps the merge from running, and the failure shows.
cat > "$work/failing-study" <<WRAP
#!/usr/bin/env bash
[[ "\${SLURM_ARRAY_TASK_ID:-}" == 1 ]] && { echo "injected failure in shard 1" >&2; exit 1; }
exec "$study" "\$@"
WRAP
chmod +x "$work/failing-study"
out=$(ICL_STUDY="$work/failing-study" "$root/jobs/slurm/submit.sh" "$config" "$work/broken.h5" \
  --mode array --shards 3 --time 10:00)
array=$(echo "$out" | awk '/submitted array job/ {print $4}')
merge=$(echo "$out" | awk '/submitted array job/ {print $10}')
wait_jobs "$array" "$merge"
shard_state=$(job_field "${array}_1" JobState)
merge_state=$(job_field "$merge" JobState)
if [[ $shard_state == FAILED && $merge_state != COMPLETED && ! -e "$work/broken.h5" ]] &&
   grep -q "injected failure" "$work"/broken.slurm-"${array}"_1.out; then
  pass "failing shard: shard 1 $shard_state, merge $merge_state ($(job_field "$merge" Reason)), no merged file"
else
  fail "failing shard" "shard 1 $shard_state, merge $merge_state"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
