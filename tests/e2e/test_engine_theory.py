"""Every point of a small grid agrees with the closed forms within 4 standard errors."""
import csv
import io

from conftest import CONFIGS, icl


def test_small_grid_matches_theory(binary, tmp_path):
    out = tmp_path / "small.h5"
    icl("run", CONFIGS / "small.toml", "-o", out, "--progress", "off")
    rows = list(csv.DictReader(io.StringIO(icl("export", out).stdout)))
    checked = 0
    for row in rows:
        if row["predictor"] not in ("lsa-theory", "gd1", "zero", "lsa"):
            continue
        risk, stderr, theory = float(row["risk"]), float(row["stderr"]), float(row["theory"])
        z = (risk - theory) / stderr
        assert abs(z) <= 4, f"point {row['point']} {row['predictor']}: {risk} ± {stderr}, theory {theory}"
        checked += 1
    assert checked == 12 * 4
