"""Shared fixtures: where the built program is."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("ICL_BUILD_DIR", ROOT / "build"))


@pytest.fixture(scope="session")
def icl_study():
    binary = BUILD / "bin" / "icl-study"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: build first (tests/run.sh does)")

    def run(*args, check=True):
        result = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"icl-study {' '.join(map(str, args))} exited "
                                 f"{result.returncode}: {result.stderr}")
        return result

    return run
