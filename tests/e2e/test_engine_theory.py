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
