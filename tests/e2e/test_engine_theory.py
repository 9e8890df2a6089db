"""Every point of a small grid agrees with the closed forms within 4 standard errors (under
--sanitize: the same grid on fewer prompts, every estimate finite)."""
import csv
import io
import math

from conftest import CONFIGS, STATISTICS, icl, sized


def test_small_grid_matches_theory(binary, tmp_path):
    out = tmp_path / "small.h5"
    icl("run", sized(CONFIGS / "small.toml", tmp_path), "-o", out, "--progress", "off")
    rows = list(csv.DictReader(io.StringIO(icl("export", out).stdout)))
    checked = 0
    for row in rows:
        if row["predictor"] not in ("lsa-theory", "gd1", "zero", "lsa"):
            continue
        risk, stderr, theory = float(row["risk"]), float(row["stderr"]), float(row["theory"])
        assert math.isfinite(risk) and stderr > 0, row
        z = (risk - theory) / stderr
        assert abs(z) <= 4 or not STATISTICS, f"point {row['point']} {row['predictor']}: {risk} ± {stderr}, theory {theory}"
        checked += 1
    assert checked == 12 * 4


BLOCKS = """
[study]
name = "blocks"
seed = 11
prompts = 4000

[[grid]]
d = [3]
N = [10]
M = [4, 8]
covariance = ["toeplitz:0.5"]

# The long prompts: knn3 is not evaluated here, so the sufficient-statistic sampler serves them.
[[grid]]
d = [3]
N = [10, 40]
M = [8, 1000000]
covariance = ["toeplitz:0.5"]
predictors = ["lsa", "zero"]

[training]
method = "flow"

[evaluation]
predictors = ["lsa", "gd1", "knn3", "zero"]
"""


def test_a_block_evaluates_only_its_predictors(binary, tmp_path):
    """A [grid] block's `predictors`: the others have NaN and 0 prompts at its points (no export
    row); its points use the sufficient sampler although knn3 is evaluated elsewhere; a point two
    blocks share is evaluated once with the predictors of both; the long points match the theory."""
    import h5py

    config = tmp_path / "blocks.toml"
    config.write_text(BLOCKS)
    out = tmp_path / "blocks.h5"
    icl("run", config, "-o", out, "--progress", "off")
    with h5py.File(out, "r") as f:
        m = f["points/M"][()]
        n = f["points/N"][()]
        sampler = [s.decode() for s in f["points/sampler"][()]]
        prompts = {p: f[f"estimates/{p}/prompts"][()] for p in ("lsa", "gd1", "knn3", "zero")}
        knn_risk = f["estimates/knn3/risk"][()]
    assert len(m) == 5  # (N=10, M=8) is in both blocks: once
    for i in range(len(m)):
        shared_or_first = n[i] == 10 and m[i] in (4, 8)
        assert prompts["lsa"][i] == prompts["zero"][i] == 4000
        if shared_or_first:
            assert prompts["knn3"][i] == prompts["gd1"][i] == 4000 and sampler[i] == "plain"
        else:
            assert prompts["knn3"][i] == prompts["gd1"][i] == 0 and math.isnan(knn_risk[i])
            assert sampler[i] == "sufficient"
    rows = list(csv.DictReader(io.StringIO(icl("export", out).stdout)))
    assert len(rows) == 2 * 4 + 3 * 2
    for row in rows:
        if row["predictor"] in ("lsa", "zero") and int(row["M"]) == 1000000:
            z = (float(row["risk"]) - float(row["theory"])) / max(float(row["stderr"]), 1e-300)
            assert abs(z) <= 4 or not STATISTICS or float(row["stderr"]) == 0, row
    info = icl("info", out).stdout
    assert "5 of 5 done" in info
