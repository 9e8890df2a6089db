#!/usr/bin/env bash
# The main job on this machine: set up (install what is missing, build into build/), then print the
# closed-form risk table of the paper's default setting (ZFB: d = 20, training length N = 40,
# identity and anisotropic covariances, test lengths M from 5 to 1000).
#
#   jobs/local.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/jobs/setup.sh"
study="$root/build/bin/icl-study"

first=1
for covariance in identity power:1; do
  for M in 5 10 20 40 100 1000; do
    if [[ $first == 1 ]]; then
      "$study" theory --d 20 --N 40 --M "$M" --covariance "$covariance"
      first=0
    else
      "$study" theory --d 20 --N 40 --M "$M" --covariance "$covariance" | tail -n +2
    fi
  done
done
