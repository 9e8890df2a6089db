"""Hostile but plausible input (issue 16): configs that used to crash, hang, run out of memory or
fail late; outputs that used to be overwritten silently; files that are not files. Each case: exit 2
(or the code named), one line naming the key, file or argument, nothing written, and quickly."""
import os
import subprocess
import threading
import time

import pytest

from conftest import BINARY, CONFIGS, MPI_ENV, export, icl
from test_bad_input import BASE, replaced

SHIFT_AFTER = "M = [2, 4, 8]"


def with_shift(shift):
    return replaced(SHIFT_AFTER, f'{SHIFT_AFTER}\nshift = ["{shift}"]')


def with_task(task):
    return replaced(SHIFT_AFTER, f'{SHIFT_AFTER}\ntask = ["{task}"]')


def with_covariance(spec):
    return replaced('"toeplitz:0.5"', f'"{spec}"')


def two_blocks_too_large():
    """Two [[grid]] blocks, each of 0.6 of the points this machine's memory allows (so each
    passes alone) and 1.2 of it together."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    side = int((0.6 * memory / 2 / 2048) ** 0.5) + 1
    head, tail = BASE.split("[grid]")[0], "[training]" + BASE.split("[training]")[1]
    blocks = "".join(
        f"[[grid]]\nd = [{d}]\nN = [" + ",".join(map(str, range(1, side + 1))) + "]\nM = [" +
        ",".join(map(str, range(1, side + 1))) + ']\ncovariance = ["identity"]\n\n'
        for d in (2, 3))
    return head + blocks + tail


FLOW_20 = replaced("d = [3]", "d = [20]").replace('"identity", "toeplitz:0.5"', '"power:1"')

HOSTILE = [
    # Nesting that overflowed the stack (80 KB of config) and its small cousins.
    ("rotated 10000 deep", with_covariance("rotated:" * 10000 + "identity"), "nests rotated: 10000"),
    ("rotated 5 deep", with_covariance("rotated:" * 5 + "identity"), "at most 4"),
    ("test-cov rotated 10000 deep", with_shift("test-cov=" + "rotated:" * 10000 + "identity"),
     "[grid] shift"),
    # Values that passed validation and overflowed at evaluation.
    ("noisy 1e300", with_shift("noisy=1e300"), "[grid] shift"),
    ("task noise 1e300", with_task("linear+noise=1e300"), "[grid] task"),
    ("task-scale 1e200", with_shift("task-scale=1e200"), "[grid] shift"),
    ("scale-y 1e7", with_shift("scale-y=1e7"), "[grid] shift"),
    ("query-scale 1e-300", with_shift("query-scale=1e-300"), "[grid] shift"),
    ("scale-x 1e300", with_shift("scale-x=1e300"), "[grid] shift"),
    ("random-cov-scale 1e300", with_shift("random-cov-scale=1e300"), "[grid] shift"),
    ("noisy NaN", with_shift("noisy=nan"), "[grid] shift"),
    ("scale-y negative", with_shift("scale-y=-1"), "[grid] shift"),
    ("diag entry 1e300", with_covariance("diag:1e300,1,1"), "[grid] covariance"),
    ("diag entry 1e-300", with_covariance("diag:1e-300,1,1"), "[grid] covariance"),
    ("relu-2nn width 0", with_task("relu-2nn:0"), "[grid] task"),
    ("sparse beyond bound", with_task("sparse:100001"), "[grid] task"),
    # The gradient flow's initialisation condition, checked before any training.
    ("flow sigma too large", FLOW_20.replace('method = "flow"', 'method = "flow"\nsigma = 0.9'),
     "[training] sigma: 0.9 violates"),
    ("random-exp flow sigma too large",
     replaced("d = [3]", "d = [5]").replace('"identity", "toeplitz:0.5"', '"random-exp"')
     .replace('method = "flow"', 'method = "flow"\nsigma = 0.48'), "[training] sigma: 0.48 violates"),
    ("flow default sigma too large at d = 1000",
     replaced("d = [3]", "d = [1000]").replace('"identity", "toeplitz:0.5"', '"identity"'),
     "sigma not set"),
    # Control characters in strings: still one line.
    ("newline in covariance", with_covariance("diag:1,2,\\n3"), "[grid] covariance"),
    ("tab in shift", with_shift("scale-x=\\t2"), "[grid] shift"),
    ("newline in task", with_task("linear\\n"), "[grid] task"),
    ("newline in model", replaced("d = [3]", 'd = [3]\nmodel = ["lsa\\n2"]'), "[grid] model"),
    ("80 KB predictor name", replaced('"knn3"', '"' + "x" * 80000 + '"'), "more)"),
    ("80 KB covariance name", with_covariance("y" * 80000), "more)"),
    # Grids too large for memory, refused before they are formed.
    ("10^8 points", replaced("N = [5, 10]", "N = [" + ",".join(map(str, range(1, 10001))) + "]")
     .replace("M = [2, 4, 8]", "M = [" + ",".join(map(str, range(1, 10001))) + "]"), "[grid] "),
    ("points over several blocks", two_blocks_too_large(), "the study expands to"),
    ("prompt too long for memory",
     replaced("d = [3]", "d = [2000]").replace("M = [2, 4, 8]", "M = [10000000]")
     .replace('"identity", "toeplitz:0.5"', '"identity"')
     .replace('method = "flow"', 'method = "flow"\nsigma = 0.001'), "[grid] M"),
    # [models] and [training] values that used to pass.
    ("models steps zero", BASE + "\n[models]\nsteps = 0\n", "[models] steps"),
    ("models learning rate NaN", BASE + "\n[models]\nlearning_rate = nan\n",
     "[models] learning_rate"),
    ("models batch absurd", BASE + "\n[models]\nbatch = 1000000000000\n", "[models] batch"),
    ("integer overflow", replaced("seed = 7", "seed = 99999999999999999999"), "malformed TOML"),
]


@pytest.mark.parametrize("name,text,needle", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_config_exits_2_at_once(binary, tmp_path, name, text, needle):
    config = tmp_path / "broken.toml"
    config.write_text(text)
    started = time.time()
    result = icl("run", config, "-o", tmp_path / "out.h5", check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert needle in lines[0] and "broken.toml" in lines[0], lines[0][:2000]
    assert len(lines[0]) < 1000, lines[0][:2000]  # user text is elided, never echoed whole
    for crash in ("terminate called", "Segmentation", "internal error", "what():"):
        assert crash not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.toml"]
    assert icl("validate", config, check=False).returncode == 2
    assert time.time() - started < 60


def one_line(result, code, needle):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args,needle", [
    (["run", CONFIGS / "small.toml", "-o", "x.h5", "--commit-every", "nan"], "--commit-every"),
    (["run", CONFIGS / "small.toml", "-o", "x.h5", "--commit-every", "inf"], "--commit-every"),
    (["run", CONFIGS / "small.toml", "-o", "x.h5", "--shard", "0/2000000000"], "--shard"),
    (["theory", "--d", 3, "--N", 5, "--M", 2, "--covariance", "identity", "--noise", "nan"],
     "--noise"),
    (["theory", "--d", 3, "--N", 5, "--M", 2, "--covariance", "identity", "--noise", "inf"],
     "--noise"),
    (["theory", "--d", 3, "--N", 5, "--M", 2, "--covariance", "rotated:" * 5000 + "identity"],
     "nests rotated"),
    (["frobnicate", "x.toml"], "unknown command 'frobnicate'"),
])
def test_hostile_arguments(binary, tmp_path, args, needle):
    result = icl(*args, check=False)
    one_line(result, 2, needle)
    assert not (tmp_path / "x.h5").exists()


def test_non_regular_inputs_are_refused_without_blocking(binary, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for command in (["validate", fifo], ["run", fifo, "-o", tmp_path / "o.h5"], ["info", fifo],
                    ["export", fifo], ["plan", fifo, "--ranks", 2]):
        one_line(icl(*command, check=False, timeout=20), 2, "is a FIFO")
    for device in ("/dev/zero", "/dev/urandom"):
        one_line(icl("validate", device, check=False, timeout=20), 2, "character device")
        one_line(icl("info", device, check=False, timeout=20), 2, "character device")
    large = tmp_path / "large.toml"
    large.write_text(BASE + "#" * (2 << 20))
    one_line(icl("validate", large, check=False), 2, "expected at most 1048576")


def test_outputs_that_are_not_regular_files_are_never_replaced(binary, tmp_path):
    """As root, `-o /dev/null --force` used to replace /dev/null with a regular file."""
    good = tmp_path / "good.h5"
    icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    fifo = tmp_path / "out-fifo"
    os.mkfifo(fifo)
    for target in ("/dev/null", fifo):
        one_line(icl("run", CONFIGS / "small.toml", "-o", target, "--force", check=False), 2,
                 str(target))
        one_line(icl("merge", good, "-o", target, "--force", check=False), 2, str(target))
        one_line(icl("train", CONFIGS / "small.toml", "-o", target, "--force", check=False), 2,
                 str(target))
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    assert not os.path.isfile(fifo)


def test_train_and_merge_follow_the_overwrite_rule(binary, tmp_path):
    finished = tmp_path / "finished.h5"
    icl("run", CONFIGS / "small.toml", "-o", finished, "--progress", "off")
    before = finished.read_bytes()
    one_line(icl("train", CONFIGS / "small.toml", "-o", finished, check=False), 2, "--force")
    one_line(icl("merge", finished, "-o", finished, check=False), 2, "--force")
    assert finished.read_bytes() == before
    merged = tmp_path / "merged.h5"
    icl("merge", finished, "-o", merged)
    icl("merge", finished, "-o", merged, "--force")
    assert export(merged) == export(finished)


def test_merge_removes_temporaries_of_a_killed_merge(binary, tmp_path):
    finished = tmp_path / "finished.h5"
    icl("run", CONFIGS / "small.toml", "-o", finished, "--progress", "off")
    merged = tmp_path / "merged.h5"
    stale = tmp_path / "merged.h5.tmp-999999"  # no such process
    stale.write_bytes(b"half a file")
    icl("merge", finished, "-o", merged)
    assert not stale.exists()


def test_a_run_removes_the_probe_and_lock_of_a_killed_run(binary, tmp_path):
    """A run killed while it probed its output folder left `OUT.h5.probe-PID` behind (found by the
    random-kill test under --sanitize); its lock file is stale too. The next run removes both."""
    out = tmp_path / "out.h5"
    (tmp_path / "out.h5.probe-999999").write_bytes(b"\0" * 4096)  # no such process
    (tmp_path / "out.h5.lock").write_text("icl-study run on a host long gone\n")  # not locked
    icl("run", CONFIGS / "small.toml", "-o", out, "--progress", "off")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]


def test_a_second_run_on_the_same_output_is_refused_and_loses_nothing(binary, tmp_path):
    """Two runs writing one output used to both exit 0, the first one's results gone."""
    slow = tmp_path / "slow.toml"
    slow.write_text((CONFIGS / "slow.toml").read_text())
    other = tmp_path / "other.toml"
    other.write_text(slow.read_text().replace("seed = 11", "seed = 12"))
    out = tmp_path / "shared.h5"
    first = subprocess.Popen([str(BINARY), "run", str(slow), "-o", str(out), "--threads", "1",
                              "--progress", "off"], env=MPI_ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "shared.h5.lock"
    deadline = time.time() + 60
    while not lock.exists() and time.time() < deadline:
        time.sleep(0.02)
    assert lock.exists(), "the first run never took its lock"
    for command in (["run", other, "-o", out, "--force"], ["run", slow, "-o", out, "--resume"],
                    ["train", other, "-o", out, "--force"]):
        result = icl(*command, check=False)
        one_line(result, 2, "is being written by another run")
        assert f"pid {first.pid}" in result.stderr, result.stderr
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert not lock.exists()
    assert "complete" in icl("info", out).stdout
    with_lock_released = icl("run", other, "-o", out, "--force", "--progress", "off")
    assert with_lock_released.returncode == 0


def test_train_of_a_deep_model_writes_its_file(binary, tmp_path):
    """`train` on an lsa-2 config ended with 'internal error: map::at' and wrote nothing."""
    config = tmp_path / "deep.toml"
    config.write_text(replaced("d = [3]", 'd = [3]\nmodel = ["lsa-2"]') +
                      "\n[models]\nsteps = 100\nbatch = 32\n")
    out = tmp_path / "deep.h5"
    result = icl("train", config, "-o", out)
    assert "internal error" not in result.stderr and "steps 100" in result.stderr, result.stderr
    assert "points: 0 of 12 done" in icl("info", out).stdout


def test_train_then_resume_equals_a_fresh_run(binary, tmp_path):
    """`train` then `run --resume` used to leave the theory column empty."""
    trained = tmp_path / "trained.h5"
    icl("train", CONFIGS / "small.toml", "-o", trained)
    icl("run", CONFIGS / "small.toml", "-o", trained, "--resume", "--progress", "off")
    fresh = tmp_path / "fresh.h5"
    icl("run", CONFIGS / "small.toml", "-o", fresh, "--progress", "off")
    assert export(trained) == export(fresh)


def test_a_model_of_the_wrong_shape_is_named(binary, tmp_path):
    """A model of the wrong shape in a file given to --resume was reported as 'not finite'."""
    import h5py
    import numpy as np
    from icl_analysis import seal
    out = tmp_path / "wrong.h5"
    icl("train", CONFIGS / "small.toml", "-o", out)
    with h5py.File(out, "r+") as f:
        key = sorted(f["models"])[0]
        del f["models"][key]["W_KQ"]
        f["models"][key]["W_KQ"] = np.zeros((3, 3))
    seal(out)
    result = icl("run", CONFIGS / "small.toml", "-o", out, "--resume", check=False)
    one_line(result, 2, "W_KQ is 3x3, expected 4x4")


def test_a_file_open_for_writing_elsewhere_is_named_as_such(binary, tmp_path):
    """A file held open for writing by another process was reported as 'damaged'."""
    import h5py
    out = tmp_path / "busy.h5"
    icl("run", CONFIGS / "small.toml", "-o", out, "--progress", "off")
    ready, release = threading.Event(), threading.Event()

    def hold():
        with h5py.File(out, "r+"):
            ready.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert ready.wait(30)
        one_line(icl("info", out, check=False), 3, "open for writing by another process")
    finally:
        release.set()
        holder.join()
