#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds into build/, runs every CTest label
# (unit, mpi, statistical, e2e, slurm) and the Python tests. Exits non-zero on any failure.
#
#   tests/run.sh [-L LABEL]      only the CTest tests with that label (pytest still runs)
#   tests/run.sh --sanitize      the same suite built with AddressSanitizer + UndefinedBehavior-
#                                Sanitizer into build-sanitize/ (the slurm label excepted: it tests
#                                the cluster integration of the normal build), then the config
#                                parser fuzzed with libFuzzer for 60 s (tests/fuzz/run.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ctest_args=()
sanitize=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -L) ctest_args+=(-L "$2"); shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    *) echo "tests/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# Open MPI refuses to run as root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

build="$root/build"
if [[ $sanitize == 1 ]]; then
  build="$root/build-sanitize"
  "$root/jobs/setup.sh" --tests --sanitizers --build-dir "$build" --build-type Release \
    --cmake-arg -DICL_SANITIZE=ON --cmake-arg -DICL_BUILD_BENCHMARKS=OFF
  # Leaks inside Open MPI, hwloc and PMIx (allocated once per process) are not ours: suppressed
  # by library; every leak in icl-study's own code still fails the run.
  export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export ICL_SANITIZE=1
  [[ ${#ctest_args[@]} -eq 0 ]] && ctest_args=(-LE slurm)
else
  "$root/jobs/setup.sh" --tests
fi

status=0
(cd "$build" && ctest --output-on-failure -j "$(nproc)" "${ctest_args[@]}") || status=1

# Debian's interpreter: the python3 on PATH may be another one that cannot see python3-h5py.
# (Sanitized: the program's MPI runs are checked for leaks once, below, not here.)
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" ICL_BUILD_DIR="$build" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider "$root/tests/python" || status=1

if [[ $sanitize == 1 ]]; then
  # Leaks of a whole MPI run (the e2e tests run without leak checking, see tests/e2e/conftest.py):
  # the slow unwinder resolves Open MPI's plugin frames, so the suppressions apply and only
  # icl-study's own leaks remain.
  leak_dir=$(mktemp -d /tmp/icl-leak.XXXXXX)
  LSAN_OPTIONS="$LSAN_OPTIONS:fast_unwind_on_malloc=0" "$build/bin/icl-study" run \
    "$root/tests/e2e/configs/small.toml" -o "$leak_dir/leak.h5" --progress off ||
    { echo "tests/run.sh: leak check of a whole run failed" >&2; status=1; }
  rm -rf "$leak_dir"
  "$root/tests/fuzz/run.sh" 60 || status=1
fi

exit $status
