"""A stop signal is answered in every phase of a run, not only during evaluation (issue 16): during
the closed forms' Monte Carlo precomputation and during training, SIGTERM ends the run with exit 75
within 10 s (timed in the optimised build), the models that finished are kept in the partial file,
and --resume trains only the rest, to the export of an uninterrupted run."""
import os
import signal
import subprocess
import time

import h5py

from conftest import BINARY, MPI_ENV, SANITIZED, export, icl

STOP_PROMISE = 10

PRECOMPUTED = """[study]
name = "precomputed"
seed = 3
prompts = 500

[grid]
d = [20]
N = [20]
M = [10]
covariance = ["power:1"]
task = ["tanh", "relu-2nn:8"]

[training]
method = "flow"

[evaluation]
predictors = ["lsa-theory", "zero"]
"""

# Two training settings (two covariances) of about 2.5 s each (9000 Adam steps of lsa-3 with the
# batched kernels), trained one after the other by
# a single process; the steps are cut under --sanitize.
TRAINED = """[study]
name = "trained"
seed = 4
prompts = 500

[grid]
d = [5]
N = [10]
M = [5]
covariance = ["identity", "diag:2,1,1,0.5,0.5"]
model = ["lsa-3"]

[training]
method = "flow"

[models]
steps = {steps}
batch = 256

[evaluation]
predictors = ["lsa", "zero"]
"""


def trained_config(tmp_path):
    config = tmp_path / "trained.toml"
    config.write_text(TRAINED.format(steps=600 if SANITIZED else 9000))
    return config


def start(config, out, ranks=None):
    command = [str(BINARY), "run", str(config), "-o", str(out), "--threads", "1", "--progress",
               "on"]
    if ranks:
        command = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", *command]
    return subprocess.Popen(command, env=MPI_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop_and_time(process, pids):
    sent = time.time()
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=600)
    elapsed = time.time() - sent
    assert process.returncode == 75, (process.returncode, stderr)
    if not SANITIZED:
        assert elapsed < STOP_PROMISE, (elapsed, stderr)
    return stderr


def test_sigterm_during_the_closed_forms_precomputation(binary, tmp_path):
    config = tmp_path / "precomputed.toml"
    config.write_text(PRECOMPUTED)
    out = tmp_path / "precomputed.h5"
    process = start(config, out)
    time.sleep(1.5)  # the task moments take tens of seconds; evaluation has not begun
    assert process.poll() is None, "the run finished before it could be stopped"
    stderr = stop_and_time(process, [process.pid])
    assert "stopped by signal during closed forms: task moments" in stderr, stderr
    assert not out.exists()


def models_in(path):
    with h5py.File(path, "r") as f:
        return sorted(f["models"])


def test_sigterm_during_training_keeps_the_finished_models(binary, tmp_path):
    config = trained_config(tmp_path)
    out = tmp_path / "trained.h5"
    process = start(config, out)
    # Wait until the first of the two settings is trained (progress says so), then stop.
    lines = []
    while True:
        line = process.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
        if "trained d=5" in line and "(1 of 2)" in line:
            break
    assert process.poll() is None, "".join(lines)
    stderr = "".join(lines) + stop_and_time(process, [process.pid])
    assert "stopped by signal during training; 1 of 2 models" in stderr, stderr
    partial = out.with_name(out.name + ".partial")
    assert len(models_in(partial)) == 1

    resumed = icl("run", config, "-o", out, "--resume", "--progress", "on", "--threads", 1)
    assert "(1 of 1)" in resumed.stderr, resumed.stderr  # only the missing model was trained
    whole = tmp_path / "whole.h5"
    icl("run", config, "-o", whole, "--progress", "off", "--threads", 1)
    assert export(out) == export(whole)


def test_sigterm_to_both_ranks_during_training(binary, tmp_path):
    config = trained_config(tmp_path)
    out = tmp_path / "ranks.h5"
    process = start(config, out, ranks=2)
    deadline = time.time() + 60
    ranks = []
    while len(ranks) < 2 and time.time() < deadline:
        ranks = subprocess.run(["pgrep", "-P", str(process.pid), "-f", "icl-study"],
                               capture_output=True, text=True).stdout.split()
        time.sleep(0.05)
    assert len(ranks) == 2, ranks
    time.sleep(1.0)  # both ranks are training their setting now
    assert process.poll() is None
    stderr = stop_and_time(process, [int(rank) for rank in ranks])
    assert "stopped by signal during training" in stderr, stderr
    icl("run", config, "-o", out, "--resume", "--progress", "off", ranks=2)
    assert "complete" in icl("info", out).stdout
