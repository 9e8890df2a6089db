"""Heavy tails: with few prompts a squared-error mean and its standard error are both low more often
than high, so z-scores mislead. The result file keeps the skewness and excess kurtosis of every
estimate's squared errors; an estimate on fewer prompts than 25·skewness² (Cochran's rule) is
heavy-tailed, and `info`, the report and the claims explain it instead of judging it. Files from
before the moments were kept still load."""
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import BUILD, ROOT

sys.path.insert(0, str(ROOT / "analysis"))
from icl_analysis import load, seal, tidy  # noqa: E402
from icl_analysis.report import agreement  # noqa: E402

CONFIG = """
[study]
name = "tails"
seed = 3
prompts = {prompts}

[grid]
d = [20]
N = {n}
M = {m}
covariance = ["random-exp", "identity"]
shift = ["random-cov-scale=1", "random-cov-scale=4", "random-cov-scale=9", "test-cov=identity"]

[training]
method = "flow"

[evaluation]
predictors = ["lsa-theory", "zero", "gd1"]
"""


def run(tmp_path, name, **values):
    config = tmp_path / f"{name}.toml"
    config.write_text(CONFIG.format(**values))
    out = tmp_path / f"{name}.h5"
    subprocess.run([str(BUILD / "bin" / "icl-study"), "run", str(config), "-o", str(out), "--progress", "off"],
                   check=True)
    info = subprocess.run([str(BUILD / "bin" / "icl-study"), "info", str(out)], capture_output=True, text=True,
                          check=True).stdout
    return out, info


def z_scores(t):
    keep = np.isfinite(t["theory"]) & (t["theory"] > 0) & (t["stderr"] > 0)
    return (t["risk"][keep] - t["theory"][keep]) / t["stderr"][keep], t["heavy_tailed"][keep]


def test_few_prompts_are_flagged_and_their_z_scores_are_lopsided(tmp_path):
    out, info = run(tmp_path, "few", prompts=64, n="[20, 40, 70, 100, 150]",
                    m="[5, 10, 20, 40, 80, 160, 320, 640]")
    t = tidy(load(out))
    z, heavy = z_scores(t)
    assert heavy.sum() > 100
    # What the standard error hides: heavy-tailed estimates fall below their closed form by more
    # than two standard errors far more often than above it (a normal z is symmetric).
    assert np.mean(z[heavy] < -2) > 3 * np.mean(z[heavy] > 2), (np.mean(z[heavy] < -2), np.mean(z[heavy] > 2))
    assert f"{heavy.sum()} estimates are heavy-tailed" in info and "Cochran" in info
    rows, _ = agreement(t)
    assert sum(r["heavy_tailed"] for r in rows) == heavy.sum()
    assert not any(r["flagged"] and r["heavy_tailed"] for r in rows)
    with h5py.File(out, "r") as f:
        skewness = f["estimates/lsa-theory/skewness"][()]
        kurtosis = f["estimates/lsa-theory/excess_kurtosis"][()]
    assert np.nanmedian(skewness) > 1 and np.nanmedian(kurtosis) > 1


def test_enough_prompts_are_not_flagged(tmp_path):
    out, info = run(tmp_path, "many", prompts=20000, n="[40]", m="[5, 40]")
    _, heavy = z_scores(tidy(load(out)))
    assert not heavy.any()
    assert "heavy-tailed:" not in info and "estimates are heavy-tailed" not in info


def test_files_without_the_moments_still_load(tmp_path):
    out, _ = run(tmp_path, "old", prompts=64, n="[40]", m="[5, 40]")
    with h5py.File(out, "r+") as f:
        for predictor in f["estimates"]:
            del f["estimates"][predictor]["skewness"]
            del f["estimates"][predictor]["excess_kurtosis"]
    seal(out)
    t = tidy(load(out))
    assert np.isnan(t["skewness"]).all() and not t["heavy_tailed"].any()
    info = subprocess.run([str(BUILD / "bin" / "icl-study"), "info", str(out)], capture_output=True, text=True)
    assert info.returncode == 0 and "heavy-tailed" in info.stdout  # the column, with nothing in it
    export = subprocess.run([str(BUILD / "bin" / "icl-study"), "export", str(out)], capture_output=True,
                            text=True)
    assert export.returncode == 0 and export.stdout.count("\n") > 10


@pytest.mark.parametrize("prompts,expected", [(99, True), (100, False)])
def test_cochrans_rule(prompts, expected):
    from icl_analysis.load import heavy_tailed
    assert heavy_tailed([prompts], [2.0])[0] == expected
    assert not heavy_tailed([5], [np.nan])[0]
