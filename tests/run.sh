#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds into build/, runs every CTest label
# (unit, mpi, statistical, e2e, slurm) and the Python tests. Exits non-zero on any failure.
#
#   tests/run.sh [-L LABEL]      only the CTest tests with that label (pytest still runs)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ctest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -L) ctest_args+=(-L "$2"); shift 2 ;;
    *) echo "tests/run.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

"$root/jobs/setup.sh" --tests

# Open MPI refuses to run as root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

status=0
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)" "${ctest_args[@]}") || status=1

# Debian's interpreter: the python3 on PATH may be another one that cannot see python3-h5py.
ICL_BUILD_DIR="$root/build" /usr/bin/python3 -m pytest -q "$root/tests/python" || status=1

exit $status
