"""icl-study as an HPC package: `cmake --install build --prefix P` installs the program, its man
page, the analysis package with the icl-report command, the configs, the Slurm scripts and an Lmod
module file; loading the module gives a shell that runs all of it from the prefix. The analysis
package also installs with pip from its pyproject.toml (no index, no build isolation)."""
import os
import shutil
import subprocess

import pytest

from conftest import BINARY, BUILD, CONFIGS, ROOT, SANITIZED, icl

LMOD_INIT = "/usr/share/lmod/lmod/init/bash"

# The instrumented build has no man page (help2man would run it) and its program needs the
# sanitizer's options in the environment; what is installed is the same either way.
pytestmark = pytest.mark.skipif(SANITIZED, reason="installation is tested on the optimised build")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(prefix)], check=True,
                   capture_output=True, text=True, timeout=120)
    return prefix


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("result") / "small.h5"
    icl("run", CONFIGS / "small.toml", "-o", out, "--progress", "off")
    return out


def test_install_lays_out_the_package(prefix):
    for path in ("bin/icl-study", "bin/icl-report", "share/man/man1/icl-study.1",
                 "share/icl-study/python/icl_analysis/load.py",
                 "share/icl-study/configs/paper.toml", "share/icl-study/slurm/submit.sh",
                 "share/icl-study/slurm/study.sbatch", "share/modulefiles/icl-study/0.1.0.lua"):
        assert (prefix / path).is_file(), path
    assert os.access(prefix / "bin/icl-study", os.X_OK)
    page = (prefix / "share/man/man1/icl-study.1").read_text()
    # Every command's options are in the page, not only the top-level help.
    for command in ("validate", "run", "merge", "export", "select", "theory"):
        assert f".SS {command}" in page, command
    assert "--commit-every" in page


def test_the_module_runs_the_installed_program_and_report(prefix, result, tmp_path):
    assert os.path.isfile(LMOD_INIT), "Lmod is missing: jobs/setup.sh --tests installs lmod"
    script = f"""
set -e
source {LMOD_INIT}
module use {prefix}/share/modulefiles
module load icl-study
command -v icl-study
icl-study --version
test "$ICL_STUDY" = "$(command -v icl-study)"
case ":$MANPATH:" in *":{prefix}/share/man:"*) ;; *) echo "MANPATH lacks the prefix" >&2; exit 1 ;; esac
icl-study validate "$ICL_STUDY_SHARE/configs/quick.toml"
icl-report {result} -o {tmp_path}/report
"""
    # A clean environment: nothing of the build or the checkout on the paths.
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "MANPATH": ""}
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0] == f"{prefix}/bin/icl-study"
    built = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True).stdout
    assert lines[1] == built.strip() and "(commit " in lines[1]
    assert (tmp_path / "report" / "report.md").is_file()


def test_the_analysis_package_installs_with_pip(result, tmp_path):
    pip = subprocess.run(["/usr/bin/python3", "-m", "pip", "--version"], capture_output=True)
    assert pip.returncode == 0, "python3-pip is missing: jobs/setup.sh --tests installs it"
    source = tmp_path / "analysis"
    shutil.copytree(ROOT / "analysis", source, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    subprocess.run(["/usr/bin/python3", "-m", "pip", "install", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    env = dict(os.environ, PYTHONPATH=str(target), MPLBACKEND="Agg")
    run = subprocess.run([str(target / "bin" / "icl-report"), str(result), "-o",
                          str(tmp_path / "report")], env=env, capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "report" / "report.md").is_file()
