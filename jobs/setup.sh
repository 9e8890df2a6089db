#!/usr/bin/env bash
# Set-up shared by jobs/local.sh and tests/run.sh: install the Debian packages that are missing
# (apt is skipped entirely when all are present), then configure and build into build/.
# Idempotent: a second run only rebuilds what changed.
#
#   jobs/setup.sh [--build-dir DIR] [--build-type Release|Debug|RelWithDebInfo] [--tests] [--bench]
#   --tests also installs what only the test suite needs (a local Slurm cluster: slurm-wlm, munge;
#           Lmod and pip, which the installation test uses; Jupyter for the starter notebook's;
#           Chromium, which renders the HTML report)
#   --bench also installs PyTorch (python3-torch), the reference of tests/bench/torch_compare.py
#   --sanitizers also installs clang and its runtimes (libFuzzer, OpenMP) for tests/run.sh --sanitize
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
build_type=Release
extra_cmake=()
with_tests=0
with_sanitizers=0
with_bench=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --build-type) build_type=$2; shift 2 ;;
    --cmake-arg) extra_cmake+=("$2"); shift 2 ;;
    --tests) with_tests=1; shift ;;
    --sanitizers) with_sanitizers=1; shift ;;
    --bench) with_bench=1; shift ;;
    *) echo "jobs/setup.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config
  libopenmpi-dev openmpi-bin
  libeigen3-dev libhdf5-openmpi-dev hdf5-tools zlib1g-dev
  libboost-dev libboost-test-dev librandom123-dev libcli11-dev libtomlplusplus-dev libbenchmark-dev
  python3-h5py python3-numpy python3-scipy python3-matplotlib python3-pytest
  python3-pandas python3-xarray python3-h5netcdf python3-markdown help2man
)

[[ $with_tests == 1 ]] && packages+=(slurm-wlm slurmctld slurmd slurm-client munge
  lmod python3-pip python3-setuptools python3-wheel jupyter-nbconvert python3-ipykernel chromium)
[[ $with_sanitizers == 1 ]] && packages+=(clang libclang-rt-14-dev libomp-14-dev)
[[ $with_bench == 1 ]] && packages+=(python3-torch)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Warnings are errors in CI (CI=true); a user's newer compiler only warns. Outside CI the cached
# choice is left alone, so alternating between the two does not rebuild everything.
[[ "${CI:-}" == "true" ]] && extra_cmake+=(-DICL_WARNINGS_AS_ERRORS=ON)

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "${extra_cmake[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
