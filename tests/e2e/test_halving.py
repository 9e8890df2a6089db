"""Successive halving (issue 17): candidates train rung by rung, the best 1/eta of each group's
variants by validation loss continue from their saved weights and optimiser state; the winner is
the grid search's, bit for bit, at a fraction of its training; any rank count, and a SIGKILL at
any rung followed by --resume, give the same file."""
import csv
import io
import os
import signal
import subprocess

import h5py
import pytest

import icl_analysis

from conftest import BINARY, CONFIGS, MPI_ENV, SANITIZED, export, icl, sized

HALVING = CONFIGS / "halving.toml"
HALVING_KEYS = [("strategy = \"halving\"\n", ""), ("eta = 2\n", ""), ("min_steps = 50\n", ""),
                ("max_steps = 200\n", "")]


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def run(config, out, *extra, ranks=None):
    icl("run", config, "-o", out, "--progress", "off", "--force", *extra, ranks=ranks)
    return out


def models(path):
    """{key: (attributes, {dataset: values})} of every model in the file."""
    with h5py.File(path) as f:
        return {key: (dict(group.attrs), {name: group[name][()] for name in group})
                for key, group in f["models"].items()}


def winners(path):
    return {(r["model"], r["training"]) for r in csv.DictReader(io.StringIO(icl("select", path).stdout))
            if r["selected"] == "1"}


@pytest.fixture(scope="module")
def halved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("halving")
    return run(sized(HALVING, folder), folder / "halving.h5")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """The same sweep by full grid search: every candidate trained for max_steps."""
    folder = tmp_path_factory.mktemp("grid")
    config = sized(HALVING, folder, replace=HALVING_KEYS + [("batch = 64", "batch = 64\nsteps = 200")])
    return run(config, folder / "grid.h5")


def test_halving_picks_the_grid_searchs_winner_bit_for_bit_at_half_its_cost(halved, searched):
    assert winners(halved) == winners(searched)
    halving_models, grid_models = models(halved), models(searched)
    finished = [key for key, (attrs, _) in halving_models.items()
                if "eliminated_at_steps" not in attrs and text(attrs["model"]) == "lsa-1"]
    assert len(finished) == 2  # the winner's two replicates
    for key in finished:
        attrs, data = halving_models[key]
        grid_attrs, grid_data = grid_models[key]
        for name in ("W_PV", "W_KQ", "loss", "step"):
            assert (data[name] == grid_data[name]).all(), name  # the same bits
        assert attrs["validation_loss"] == grid_attrs["validation_loss"]
        assert "state_first" not in data  # a finished model keeps no optimiser state
    # The cost: steps trained by halving against every candidate trained for max_steps.
    steps = {key: attrs["trained_steps"] for key, (attrs, _) in halving_models.items()
             if text(attrs["model"]) == "lsa-1"}
    fraction = sum(steps.values()) / (len(steps) * 200)
    assert fraction == pytest.approx((8 * 50 + 4 * 50 + 2 * 100) / (8 * 200))
    print(f"halving trained {fraction:.0%} of the grid search's steps")


def test_every_candidate_records_its_loss_at_every_rung_it_reached(halved):
    reached = {}
    for key, (attrs, data) in models(halved).items():
        if text(attrs["model"]) != "lsa-1":
            continue
        rungs = list(data["rung_steps"])
        assert rungs == [50, 100, 200][:len(rungs)]
        assert len(data["rung_validation_loss"]) == len(data["rung_validation_stderr"]) == len(rungs)
        assert data["rung_validation_loss"][-1] == attrs["validation_loss"]
        if "eliminated_at_steps" in attrs:
            assert attrs["eliminated_at_steps"] == rungs[-1] < 200
            assert "state_first" not in data
        reached.setdefault(text(attrs["training"]), set()).add(len(rungs))
    # 4 variants -> 2 -> 1, each variant with both replicates.
    assert sorted(min(v) for v in reached.values()) == [1, 1, 2, 3]
    assert all(len(v) == 1 for v in reached.values())


def test_points_of_dropped_candidates_are_not_evaluated_or_exported(halved):
    with h5py.File(halved) as f:
        status = f["points/status"][()]
        keys = [text(k) for k in f["points/model_key"][()]]
        eliminated = {key for key, group in f["models"].items()
                      if "eliminated_at_steps" in group.attrs}
    assert {keys[i] for i in range(len(keys)) if status[i] == 2} == eliminated
    assert all(s == 1 for i, s in enumerate(status) if keys[i] not in eliminated)
    exported = {line.split(",")[0] for line in export(halved).splitlines()[1:]}
    assert exported == {str(i) for i, s in enumerate(status) if s == 1}
    info = icl("info", halved).stdout
    assert "not evaluated" in info and "(complete)" in info


def test_the_same_file_from_two_ranks_and_one_thread(tmp_path, halved):
    config = sized(HALVING, tmp_path)
    two = run(config, tmp_path / "two.h5", "--threads", "1", ranks=2)
    assert export(two) == export(halved)
    ours, theirs = models(two), models(halved)
    assert ours.keys() == theirs.keys()
    for key in ours:
        for name, values in theirs[key][1].items():
            if name != "seconds":
                assert (ours[key][1][name] == values).all(), (key, name)


# Slow enough to be killed in the middle of a rung: lsa-2 at d = 5, four learning rates.
KILLED = """[study]
name = "killed"
seed = 5
prompts = 500

[grid]
d = [5]
N = [10]
M = [10]
covariance = ["diag:2,1,1,0.5,0.5"]
model = ["lsa-2"]

[models]
batch = 128
learning_rate = [0.002, 0.005, 0.01, 0.02]

[sweep]
strategy = "halving"
eta = 2
min_steps = {min_steps}
max_steps = {max_steps}

[evaluation]
predictors = ["lsa", "zero"]
"""


@pytest.mark.parametrize("rung", [2, 3])
def test_sigkill_during_a_rung_and_resume_give_the_uninterrupted_file(tmp_path, rung):
    config = tmp_path / "killed.toml"
    steps = (20, 80) if SANITIZED else (100, 400)
    config.write_text(KILLED.format(min_steps=steps[0], max_steps=steps[1]))
    out = tmp_path / "killed.h5"
    process = subprocess.Popen([str(BINARY), "run", str(config), "-o", str(out), "--threads", "1",
                                "--progress", "on"], env=MPI_ENV, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    lines = []
    while True:  # kill as the rung's first candidate finishes
        line = process.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
        if f"halving rung {rung} of 3" in "".join(lines[-3:]) and " (1 of " in line:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    partial = out.with_name(out.name + ".partial")
    assert partial.exists() and not out.exists()
    with h5py.File(partial) as f:  # the rungs before are there, with their optimiser state
        reached = [group.attrs["trained_steps"] for group in f["models"].values()]
        assert max(reached) >= steps[0] * 2 ** (rung - 2)
    resumed = icl("run", config, "-o", out, "--resume", "--progress", "on", "--threads", 1)
    whole = tmp_path / "whole.h5"
    uninterrupted = icl("run", config, "-o", whole, "--progress", "on")
    # The resumed run trains what was missing, not the rungs the partial file holds.
    assert 0 < resumed.stderr.count(" to step ") < uninterrupted.stderr.count(" to step ")
    assert export(out) == export(whole)
    ours, theirs = models(out), models(whole)
    assert ours.keys() == theirs.keys()
    for key in ours:
        for name, values in theirs[key][1].items():
            assert (ours[key][1][name] == values).all(), (key, name)


@pytest.mark.parametrize("replace,key,expected", [
    (("eta = 2", "eta = 1"), "[sweep] eta", "expected an integer in [2, 1000]"),
    (("min_steps = 50", "min_steps = 300"), "[sweep] min_steps", "expected at most max_steps = 200"),
    (("strategy = \"halving\"", "strategy = \"random\""), "[sweep] strategy", "expected one of"),
    (("batch = 64", "batch = 64\nsteps = 100"), "[sweep] strategy", "remove [models] steps"),
    (("max_steps = 200\n", ""), "[sweep] max_steps", "missing"),
    (("model = [\"lsa\", \"lsa-1\"]", "model = [\"lsa\"]"), "[sweep] strategy",
     "needs models trained by sgd or adam"),
])
def test_bad_halving_input_exits_2_naming_the_key_and_writes_nothing(tmp_path, replace, key,
                                                                     expected):
    config = sized(HALVING, tmp_path, replace=[replace])
    out = tmp_path / "out.h5"
    result = icl("run", config, "-o", out, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and expected in lines[0], lines
    assert not list(tmp_path.glob("out.h5*"))


def test_eta_without_halving_and_train_under_halving_are_refused(tmp_path):
    config = sized(HALVING, tmp_path, replace=[("strategy = \"halving\"\n", "")])
    result = icl("validate", config, check=False)
    assert result.returncode == 2 and "[sweep] eta" in result.stderr
    assert "only with strategy" in result.stderr
    config = sized(HALVING, tmp_path)
    result = icl("train", config, "-o", tmp_path / "t.h5", check=False)
    assert result.returncode == 2 and "use `icl-study run`" in result.stderr
    assert not (tmp_path / "t.h5").exists()


@pytest.mark.parametrize("rates,dropped_at", [("[0.003, 30.0]", 50), ("[30.0, 100.0]", 50)])
def test_a_diverging_candidate_is_dropped_not_fatal(tmp_path, rates, dropped_at):
    """A learning rate that diverges is a finding of the sweep: the run completes (exit 0), the
    candidate is dropped at its rung with validation loss +inf and the divergence message, its
    points are not evaluated; when every candidate of a group diverges the group has no winner
    and the other groups go on."""
    config = sized(HALVING, tmp_path, replace=[("learning_rate = [0.001, 0.003, 0.01, 0.03]",
                                                f"learning_rate = {rates}")])
    out = run(config, tmp_path / "diverging.h5")
    found = models(out)
    deep = {key: attrs for key, (attrs, _) in found.items() if "model=lsa-1" in key}
    diverged = {key: attrs for key, attrs in deep.items() if "diverged" in attrs}
    assert diverged and all(float(a["learning_rate"]) >= 30 for a in diverged.values())
    for attrs in diverged.values():
        assert attrs["eliminated_at_steps"] == dropped_at and attrs["validation_loss"] == float("inf")
        assert "diverged" in text(attrs["diverged"])
    survivors = {key for key, attrs in deep.items() if "eliminated_at_steps" not in attrs}
    assert survivors == set(deep) - set(diverged) - {k for k, a in deep.items() if "eliminated_at_steps" in a}
    with h5py.File(out) as f:
        status = f["points/status"][()]
        keys = [text(k) for k in f["points/model_key"][()]]
    assert all(status[i] == 2 for i, key in enumerate(keys) if key in diverged)
    assert all(status[i] == 1 for i, key in enumerate(keys) if "model=lsa-1" not in key)  # ZFB's lsa
    if rates == "[30.0, 100.0]":
        assert not survivors and not any(r[0] == "lsa-1" for r in winners(out))
    else:
        assert survivors and ("lsa-1", "learning_rate=0.003") in winners(out)


def test_the_report_describes_the_sweep_as_select_ranks_it(tmp_path, halved):
    """The report's sweep section: every candidate in the order and with the winners of `icl-study
    select` (computed independently in Python), and the winners' test risk; also as CSV."""
    from conftest import ROOT
    result = subprocess.run([str(ROOT / "analysis" / "report"), str(halved), "-o", str(tmp_path / "report")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "report" / "report.md").read_text()
    assert "## Training sweep" in text and "test risk never selects" in text
    with open(tmp_path / "report" / "candidates.csv") as f:
        python = [(r["group"].split("model=")[1], r["training"], r["selected"]) for r in csv.DictReader(f)]
    cpp = [(r["model"], r["training"], "True" if r["selected"] == "1" else "False")
           for r in csv.DictReader(io.StringIO(icl("select", halved).stdout))]
    assert python == cpp
    with open(tmp_path / "report" / "winners.csv") as f:
        winners_rows = list(csv.DictReader(f))
    assert winners_rows and all(float(r["low"]) <= float(r["mean"]) <= float(r["high"]) for r in winners_rows)
    # Not the paper's grid: the grid itself is described, with the risk against each varying
    # numeric axis, every estimate in grid.csv, figures that pass their checks.
    assert "## The grid" in text and "Axes that vary: " in text
    with open(tmp_path / "report" / "grid.csv") as f:
        grid_rows = list(csv.DictReader(f))
    finished = icl_analysis.tidy(icl_analysis.load(str(halved)))
    assert len(grid_rows) == len(finished["risk"])
    assert (tmp_path / "report" / "grid_M.png").exists()
    assert "Figure checks: all " in text, text[text.index("## Figures"):][:800]
