#!/usr/bin/env bash
# The man page icl-study.1 from the program's own help (CMake's man_page target runs this):
# help2man turns `icl-study --help` and `--version` into the page, and a COMMANDS section gets each
# command's `--help`, so that `man icl-study` documents every option.
#   jobs/man_page.sh ICL_STUDY HELP2MAN OUTPUT
set -euo pipefail
study=$1 help2man=$2 output=$3
include=$(mktemp)
trap 'rm -f "$include"' EXIT
{
  echo "[COMMANDS]"
  for command in $("$study" --help | awk '/^Subcommands:/ { on = 1; next } on && NF { print $1 }'); do
    echo ".SS $command"
    echo ".nf"
    (exec -a icl-study "$study" "$command" --help) | sed 's/\\/\\\\/g; s/^\./\\\&./'
    echo ".fi"
  done
  echo "[FILES]"
  echo "Result files are HDF5 (schema 1): see share/icl-study and the README of the project."
  echo "[SEE ALSO]"
  echo "icl-report(1) writes the analysis report of a result file."
} >"$include"
"$help2man" --no-info --no-discard-stderr --include="$include" \
  --name="in-context learning studies of trained linear transformers" --output="$output" "$study"
