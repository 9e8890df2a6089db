"""Helpers for the end-to-end tests: run icl-study directly or under mpirun.

Under `tests/run.sh --sanitize` (ICL_SANITIZE=1) the program is built with AddressSanitizer and
UBSan and runs several times slower. Those runs look for memory errors and undefined behaviour, not
for statistics, so the tests size their Monte Carlo work down (`sized`: the same grids, points and
code paths with fewer prompts), leave out the assertions that need the full sample (`STATISTICS`)
and the wall-clock promises that only the optimised build makes, and widen every subprocess timeout
(`HANG_GUARD`): a timeout here only guards against a hang, it never measures speed."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The analysis package (its seal helpers re-seal files that tests change on purpose with h5py).
sys.path.insert(0, str(ROOT / "analysis"))
BUILD = pathlib.Path(os.environ.get("ICL_BUILD_DIR", ROOT / "build"))
BINARY = BUILD / "bin" / "icl-study"
CONFIGS = pathlib.Path(__file__).resolve().parent / "configs"

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
SANITIZED = os.environ.get("ICL_SANITIZE") == "1"
# Statistical assertions (agreement with closed forms within k standard errors, orderings of
# risks, claim verdicts) hold on the full sample only: the optimised build checks them.
STATISTICS = not SANITIZED
# Prompts are divided by this under --sanitize (never below MINIMUM_PROMPTS).
WORK_DIVISOR = 20 if SANITIZED else 1
MINIMUM_PROMPTS = 64
# Subprocess timeouts are multiplied by this under --sanitize (instrumented runs are 3-8x slower).
HANG_GUARD = 10 if SANITIZED else 1

if SANITIZED:
    # Under tests/run.sh --sanitize the program runs with AddressSanitizer and UBSan, but without
    # leak checking here: Open MPI's plugins leak by design and their stacks only resolve with the
    # slow unwinder (7x slower). tests/run.sh checks one whole run for leaks that way instead.
    MPI_ENV["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"


def icl(*args, ranks=None, check=True, env=None, timeout=240):
    """Run icl-study (under mpirun when ranks is given); returns the CompletedProcess."""
    command = [str(BINARY), *map(str, args)]
    if ranks is not None:
        command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", *command]
    result = subprocess.run(command, capture_output=True, text=True, env=env or MPI_ENV,
                            timeout=timeout * HANG_GUARD)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result


def sized(config, folder, divisor=None, replace=()):
    """A copy of `config` in `folder` with its prompts divided by `divisor` (WORK_DIVISOR when
    None; 1 in the optimised build) and each (old, new) text replacement applied. The grid, and so
    every code path, stays the same."""
    text = pathlib.Path(config).read_text()
    for old, new in replace:
        assert old in text, (config, old)
        text = text.replace(old, new)
    divisor = WORK_DIVISOR if divisor is None else divisor
    if SANITIZED and divisor > 1:
        text, count = re.subn(r"(?m)^prompts = (\d+)$",
                              lambda m: f"prompts = {max(MINIMUM_PROMPTS, int(m[1]) // divisor)}",
                              text)
        assert count == 1, config
    path = pathlib.Path(folder) / pathlib.Path(config).name
    path.write_text(text)
    return path


def export(path):
    return icl("export", path).stdout


@pytest.fixture(scope="session")
def binary():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: build first (tests/run.sh does)")
    return BINARY
