"""Helpers for the end-to-end tests: run icl-study directly or under mpirun."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("ICL_BUILD_DIR", ROOT / "build"))
BINARY = BUILD / "bin" / "icl-study"
CONFIGS = pathlib.Path(__file__).resolve().parent / "configs"

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
if os.environ.get("ICL_SANITIZE") == "1":
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
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result


def export(path):
    return icl("export", path).stdout


@pytest.fixture(scope="session")
def binary():
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: build first (tests/run.sh does)")
    return BINARY
