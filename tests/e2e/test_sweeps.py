"""Training sweeps (issue 17): lists in [training]/[models] and [sweep] replicates multiply the
grid; every model carries its hyperparameters and a validation loss on held-out prompts; `select`
ranks variants by it; `--set` overrides config values from the command line."""
import csv
import io
import pathlib

import h5py
import pytest

from conftest import CONFIGS, STATISTICS, export, icl, sized

SWEEP = CONFIGS / "sweep.toml"


def text(value):
    """An HDF5 string attribute as str (h5py gives bytes for fixed-length strings)."""
    return value.decode() if isinstance(value, bytes) else value


def rows_of(table):
    return list(csv.DictReader(io.StringIO(table)))


def run(config, folder, *extra, name="out.h5"):
    out = pathlib.Path(folder) / name
    icl("run", config, "-o", out, "--progress", "off", "--force", *extra)
    return out


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    return run(sized(SWEEP, folder), folder)


def test_lists_and_replicates_multiply_the_grid_and_each_point_names_its_model(swept):
    rows = rows_of(export(swept))
    points = {r["point"]: r for r in rows}
    # 2 M x (lsa: 1 variant + lsa-1: 2 learning rates) x 2 replicates.
    assert len(points) == 2 * (1 + 2) * 2
    with h5py.File(swept) as f:
        models = f["models"]
        for row in points.values():
            group = models[row["model_key"]]  # the link is a column, not a parsed name
            assert group.attrs["replicate"] == int(row["replicate"])
            assert text(group.attrs["training"]) == row["training"]
            assert row["optimiser"] == ("flow" if row["model"] == "lsa" else "adam")
            if row["model"] == "lsa-1":
                assert float(group.attrs["learning_rate"]) == float(row["learning_rate"])
                assert row["training"] == f"learning_rate={row['learning_rate']}"
                assert int(row["batch"]) == 64 and int(row["steps"]) == 200
            else:
                assert row["learning_rate"] == "" and float(row["sigma"]) > 0
    assert {r["replicate"] for r in points.values()} == {"0", "1"}


def test_variants_share_streams_and_replicates_do_not(tmp_path, swept):
    """Replicate 0 of every variant uses the unswept setting's streams (common random numbers), so
    a config with one learning rate reproduces its variant of the sweep bit for bit; replicates
    differ. Negative control: the other learning rate differs."""
    single = sized(SWEEP, tmp_path, replace=[("learning_rate = [0.003, 0.01]",
                                              "learning_rate = 0.01"),
                                             ("replicates = 2", "replicates = 1")])
    alone = {(r["M"], r["model"], r["predictor"]): r["risk"] for r in rows_of(export(run(single, tmp_path)))}
    swept_rows = rows_of(export(swept))

    def risks(learning_rate, replicate):
        return {(r["M"], r["model"], r["predictor"]): r["risk"] for r in swept_rows
                if r["model"] == "lsa-1" and r["learning_rate"] == learning_rate
                and r["replicate"] == replicate}

    same = risks("0.01", "0")
    assert same and all(alone[key] == value for key, value in same.items())
    other = risks("0.003", "0")
    assert any(alone[key] != value for key, value in other.items() if key[2] == "lsa")
    replicate = risks("0.01", "1")
    assert any(same[key] != value for key, value in replicate.items() if key[2] == "lsa")
    # The test prompts are shared too: predictors that do not depend on the model agree.
    assert all(same[key] == value for key, value in replicate.items() if key[2] == "ols")


def test_validation_loss_of_the_flow_model_is_half_its_risk_at_M_equal_N(swept):
    """ZFB's one layer at the flow's limit predicts like Γ⁻¹: on prompts of its training law (length
    N) its E½(ŷ − y)² is half the closed-form risk of lsa-theory at M = N. Negative control: half
    the risk at M = 2N is rejected."""
    if not STATISTICS:
        pytest.skip("statistics are judged in the optimised build")
    theory = {}
    for m in (6, 12):
        for r in rows_of(icl("theory", "--d", 3, "--N", 6, "--M", m, "--covariance",
                             "diag:2,1,0.5").stdout):
            if r["predictor"] == "lsa-theory":
                theory[m] = float(r["theory"])
    with h5py.File(swept) as f:
        flow = [g for g in f["models"].values() if text(g.attrs["model"]) == "lsa"]
        assert len(flow) == 2
        for group in flow:
            loss, se = group.attrs["validation_loss"], group.attrs["validation_stderr"]
            assert abs(loss - theory[6] / 2) < 4 * se, (loss, theory[6] / 2, se)
            assert abs(loss - theory[12] / 2) > 4 * se


def test_select_ranks_variants_by_mean_validation_loss(swept):
    candidates = rows_of(icl("select", swept).stdout)
    with h5py.File(swept) as f:
        losses = {}
        for group in f["models"].values():
            losses.setdefault((text(group.attrs["model"]), text(group.attrs["training"])),
                              []).append(group.attrs["validation_loss"])
    for row in candidates:
        values = losses[(row["model"], row["training"])]
        assert int(row["replicates"]) == len(values) == 2
        assert float(row["validation_loss"]) == pytest.approx(sum(values) / len(values), rel=1e-9)
    deep = sorted((r for r in candidates if r["model"] == "lsa-1"), key=lambda r: int(r["rank"]))
    assert [r["selected"] for r in deep] == ["1", "0"]
    assert float(deep[0]["validation_loss"]) <= float(deep[1]["validation_loss"])
    # export --selected keeps exactly the winners' points (all replicates), and every lsa point.
    kept = rows_of(icl("export", swept, "--selected").stdout)
    assert {r["training"] for r in kept if r["model"] == "lsa-1"} == {deep[0]["training"]}
    assert {r["replicate"] for r in kept if r["model"] == "lsa-1"} == {"0", "1"}
    assert any(r["model"] == "lsa" for r in kept)
    # Test risk never selects.
    refused = icl("select", swept, "--by", "test", check=False)
    assert refused.returncode == 2 and "--by" in refused.stderr


def test_set_overrides_equal_the_edited_config_and_are_recorded(tmp_path):
    config = sized(SWEEP, tmp_path)
    by_flag = run(config, tmp_path, "--set", "models.learning_rate=0.01", "--set",
                  "sweep.replicates=1", name="flag.h5")
    edited = tmp_path / "edited.toml"
    edited.write_text(config.read_text().replace("learning_rate = [0.003, 0.01]",
                                                 "learning_rate = 0.01")
                      .replace("replicates = 2", "replicates = 1"))
    by_file = run(edited, tmp_path, name="file.h5")
    assert rows_of(export(by_flag)) == rows_of(export(by_file))
    with h5py.File(by_flag) as f:
        assert "--set models.learning_rate=0.01" in text(f.attrs["config"])
    # --resume with the same overrides continues the same study; other overrides do not.
    icl("run", config, "-o", by_flag, "--resume", "--progress", "off", "--set",
        "models.learning_rate=0.01", "--set", "sweep.replicates=1")
    other = icl("run", config, "-o", by_flag, "--resume", "--progress", "off", "--set",
                "models.learning_rate=0.003", check=False)
    assert other.returncode == 2 and "another config" in other.stderr


BAD_SWEEPS = [
    ("[models] learning_rate", "learning_rate = [0.003, 0.01]", "learning_rate = []",
     "non-empty list"),
    ("[models] learning_rate", "learning_rate = [0.003, 0.01]", "learning_rate = [0.01, 0.01]",
     "duplicate"),
    ("[models] learning_rate", "learning_rate = [0.003, 0.01]", "learning_rate = [0.01, -1]",
     "expected a number"),
    ("[models] steps", "steps = 200", "steps = [[200]]", "expected an integer"),
    ("[study] prompts", "prompts = 3000", "prompts = [3000, 6000]", "expected an integer"),
    ("[sweep] replicates", "replicates = 2", "replicates = 0", "expected an integer in [1"),
    ("[sweep] replicates", "replicates = 2", "replicates = [2, 3]", "expected an integer"),
    ("[sweep] rungs", "replicates = 2", "replicates = 2\nrungs = 3", "unknown key"),
    ("[models] steps", "steps = 200", "steps = [200, 400000000]", "expected an integer in"),
]


@pytest.mark.parametrize("where,old,new,expected", BAD_SWEEPS, ids=[b[2] for b in BAD_SWEEPS])
def test_bad_sweep_input_exits_2_naming_the_key_and_writes_nothing(tmp_path, where, old, new,
                                                                   expected):
    # Refused before any work: the prompts are left as they are (one case replaces them).
    config = sized(SWEEP, tmp_path, divisor=1, replace=[(old, new)])
    out = tmp_path / "out.h5"
    result = icl("run", config, "-o", out, "--progress", "off", check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and expected in lines[0], result.stderr
    assert not out.exists() and not pathlib.Path(str(out) + ".partial").exists()


BAD_SETS = [
    ("models.learning_rat=0.01", "learning_rat (from --set): unknown key"),
    ("models.learning_rate=-1", "learning_rate (from --set): expected a number"),
    ("models.learning_rate=[", "malformed value"),
    ("grid", "expected section.key=value"),
    ("grid.N=[]", "N (from --set): expected a non-empty list"),
    ("nosuch.key=1", "unknown section [nosuch]"),
]


@pytest.mark.parametrize("item,expected", BAD_SETS, ids=[b[0] for b in BAD_SETS])
def test_bad_set_exits_2_naming_the_override_and_writes_nothing(tmp_path, item, expected):
    out = tmp_path / "out.h5"
    result = icl("run", SWEEP, "-o", out, "--progress", "off", "--set", item, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not out.exists()


def test_a_sweep_of_flow_and_adam_methods_is_refused(tmp_path):
    config = sized(SWEEP, tmp_path, replace=[("[sweep]", "[training]\nmethod = [\"flow\", \"adam\"]\n\n[sweep]")])
    result = icl("validate", config, check=False)
    assert result.returncode == 2 and "[training] method" in result.stderr
    assert "mix sgd and adam only" in result.stderr


def test_select_refuses_a_file_without_validation_losses(tmp_path, swept):
    old = tmp_path / "old.h5"
    old.write_bytes(swept.read_bytes())
    from icl_analysis.load import seal
    with h5py.File(old, "r+") as f:
        for group in f["models"].values():
            del group.attrs["validation_loss"]
    seal(old)
    result = icl("select", old, check=False)
    assert result.returncode == 2 and "no validation loss" in result.stderr


def test_analysis_reports_the_winners_test_risk_over_replicates(tmp_path, swept):
    """`python3 -m icl_analysis sweep`: the same winner as `icl-study select`, the mean and spread of
    the winner's test risk over its replicates, and a bootstrap interval around the mean. Negative
    control: with the losing variant's validation losses lowered, both pick the other variant."""
    from icl_analysis.load import seal
    from icl_analysis.sweep import winners

    def selected(path):
        rows = rows_of(icl("select", path).stdout)
        return {r["training"] for r in rows if r["model"] == "lsa-1" and r["selected"] == "1"}

    def analysed(path):
        return [r for r in winners(path, predictor="lsa", bootstrap=500) if r["model"] == "lsa-1"]

    exported = rows_of(export(swept))
    rows = analysed(swept)
    assert {r["training"] for r in rows} == selected(swept) and len(rows) == 2  # one per M
    for row in rows:
        risks = [float(r["risk"]) for r in exported if r["model"] == "lsa-1" and
                 r["predictor"] == "lsa" and r["training"] == row["training"] and
                 int(r["M"]) == row["M"]]
        assert row["replicates"] == len(risks) == 2
        assert row["mean"] == pytest.approx(sum(risks) / 2, rel=1e-9)
        assert row["spread"] == pytest.approx(abs(risks[0] - risks[1]) / 2**0.5, rel=1e-9)
        assert row["low"] < row["mean"] < row["high"]

    flipped = tmp_path / "flipped.h5"
    flipped.write_bytes(swept.read_bytes())
    winner = rows[0]["training"]
    with h5py.File(flipped, "r+") as f:
        for group in f["models"].values():
            if text(group.attrs["model"]) == "lsa-1" and text(group.attrs["training"]) != winner:
                group.attrs["validation_loss"] = 0.0
    seal(flipped)
    assert selected(flipped) == {r["training"] for r in analysed(flipped)} != {winner}
