"""The analysis package: loader and schema checks, rate fits on synthetic files with known exponents,
and the whole report on a file made by the C++ program during the test run."""
import csv
import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import BUILD, ROOT

sys.path.insert(0, str(ROOT / "analysis"))
from icl_analysis import SchemaError, load, tidy  # noqa: E402
from icl_analysis.fit import fit_power_law, log_log_slope  # noqa: E402


def synthetic_file(path, m_values, risk_of_m, stderr_fraction=0.01, seed=0, program="icl-study",
                   version=1):
    """A schema-1 file with one predictor whose risk follows risk_of_m, with Gaussian noise."""
    rng = np.random.default_rng(seed)
    m = np.asarray(m_values)
    truth = risk_of_m(m)
    stderr = stderr_fraction * truth
    with h5py.File(path, "w") as f:
        f.attrs.update({"program": program, "schema_version": version, "study": "synthetic", "seed": 1,
                        "config": "", "version": "test", "git_commit": "none", "created": "now",
                        "mpi_ranks": 1, "omp_threads": 1, "rng": "-", "hostname": "-", "shift": "0/1"})
        p = f.create_group("points")
        n = len(m)
        p["d"], p["N"], p["M"] = np.full(n, 5), np.full(n, 10), m
        for name, value in (("shift", "none"), ("covariance", "identity"), ("task", "linear")):
            p.create_dataset(name, data=[value] * n, dtype=h5py.string_dtype())
        p["status"] = np.ones(n, dtype=np.uint8)
        p["seconds"] = np.zeros(n)
        f.create_dataset("predictors", data=["lsa-theory"], dtype=h5py.string_dtype())
        e = f.create_group("estimates/lsa-theory")
        e["risk"] = truth + rng.normal(0.0, stderr)
        e["stderr"], e["prompts"] = stderr, np.full(n, 10000)
        f.create_group("theory")["lsa-theory"] = truth
        f.create_group("models")
    return path


@pytest.mark.parametrize("alpha,b", [(1.0, 0.2), (0.5, 1.0), (2.0, 0.05)])
def test_fit_recovers_known_exponents(tmp_path, alpha, b):
    # 95% intervals: over 10 synthetic files (fixed seeds) the true alpha and b must fall inside at
    # least 8 times (a correct interval fails that with probability about 1%).
    m = np.array([5, 10, 20, 40, 80, 160, 320, 640])
    covered_alpha = covered_b = 0
    for replicate in range(10):
        path = synthetic_file(tmp_path / f"s{replicate}.h5", m, lambda x: 3.0 * x**-alpha + b,
                              seed=replicate)
        t = tidy(load(path))
        fit = fit_power_law(t["M"], t["risk"], t["stderr"], bootstrap=150, seed=replicate)
        covered_alpha += fit["alpha_lo"] <= alpha <= fit["alpha_hi"]
        covered_b += fit["b_lo"] <= b <= fit["b_hi"]
        assert abs(fit["alpha"] - alpha) < 0.25 * alpha
    assert covered_alpha >= 8 and covered_b >= 8, (covered_alpha, covered_b)


def test_log_log_slope():
    x = np.array([10, 20, 40, 80, 160])
    slope, lo, hi = log_log_slope(x, 7.0 * x**-2.0, 0.01 * 7.0 * x**-2.0)
    assert abs(slope + 2) < 1e-9 and lo <= -2 <= hi


def test_schema_errors(tmp_path):
    foreign = synthetic_file(tmp_path / "foreign.h5", [1, 2], lambda m: 1.0 / m, program="other")
    with pytest.raises(SchemaError, match="not an icl-study result file"):
        load(foreign)
    newer = synthetic_file(tmp_path / "newer.h5", [1, 2], lambda m: 1.0 / m, version=2)
    with pytest.raises(SchemaError, match="newer"):
        load(newer)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(SchemaError):
        load(text)
    result = subprocess.run([str(ROOT / "analysis" / "report"), str(newer), "-o", str(tmp_path / "r")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "newer" in result.stderr


CONFIG = """
[study]
name = "analysis-test"
seed = 2
prompts = 3000

[grid]
d = [4]
N = [8, 16, 32]
M = [4, 8, 16, 32, 64]
shift = ["none", "scale-x=2", "task-scale=2"]
covariance = ["diag:2,1,0.5,0.25"]

[training]
method = "flow"

[evaluation]
predictors = ["lsa", "lsa-theory", "ols", "gd1", "zero"]
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    config = folder / "c.toml"
    config.write_text(CONFIG)
    out = folder / "r.h5"
    subprocess.run([str(BUILD / "bin" / "icl-study"), "run", str(config), "-o", str(out), "--progress",
                    "off"], check=True)
    result = subprocess.run([str(ROOT / "analysis" / "report"), str(out), "-o", str(folder / "report")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return folder / "report", out


def test_report_outputs(report):
    folder, _ = report
    for name in ("report.md", "report.html", "rates.csv", "agreement.csv", "agreement.png",
                 "agreement.pdf", "training.png", "shifts.png", "shifts.pdf"):
        assert (folder / name).exists(), name
    assert list(folder.glob("risk_vs_M_*.png")) and list(folder.glob("risk_vs_N_*.png"))
    text = (folder / "report.md").read_text()
    assert text.index("Claims") < text.index("Agreement")
    for claim in ("Theorem 4.1", "Theorem 4.2", "A/M", "1/N²", "task shift", "covariate shift"):
        assert claim in text
    html = (folder / "report.html").read_text()
    assert "<table>" in html and "<img" in html
    # Every figure of the report passed the checks for the obvious failures.
    assert "Figure checks: all " in text, text[text.index("## Figures"):][:800]


def test_report_renders_in_a_browser(report, tmp_path):
    """Headless Chromium opens report.html: every image loads (the page's own check), the title and
    the coloured verdicts are there, and a screenshot of the page is not blank."""
    import shutil
    import matplotlib.image
    folder, _ = report
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: jobs/setup.sh --tests installs it"
    page = (folder / "report.html").resolve().as_uri()
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
               f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(browser + ["--dump-dom", page], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    images = html.count("<img")
    assert images >= 3
    assert f'data-images-settled="{images}" data-broken-images="0"' in html, html[-500:]
    assert "<title>icl-study report:" in html and 'class="verdict agrees"' in html
    assert '<a href="rates.csv">' in html and '<a href="agreement.csv">' in html
    shot = tmp_path / "page.png"
    run = subprocess.run(browser + [f"--screenshot={shot}", "--window-size=1000,1600", page],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.std() > 0.05 and (pixels < 0.5).mean() > 0.005  # text and figures, not blank


def test_a_broken_image_is_seen_by_the_browser_check(report, tmp_path):
    """Negative control for the check above: a page whose image is missing reports it."""
    import shutil
    folder, _ = report
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    page = copy / "report.html"
    page.write_text(page.read_text().replace('src="agreement.png"', 'src="missing.png"'))
    dom = subprocess.run([shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}",
                          "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert 'data-broken-images="1"' in dom.stdout, dom.stdout[-500:]


def test_report_verdicts_and_tables(report):
    folder, _ = report
    text = (folder / "report.md").read_text()
    rows = {line.split(" | ")[0].strip("| ").split(":")[0]: line for line in text.splitlines()
            if line.startswith("| ")}
    assert rows["Theorem 4.1"].rstrip(" |").endswith("agrees")
    assert rows["covariate shift fails"].rstrip(" |").endswith("agrees")
    with open(folder / "agreement.csv") as f:
        agreement = list(csv.DictReader(f))
    assert agreement and all(abs(float(r["z"])) < 5 for r in agreement)
    with open(folder / "rates.csv") as f:
        rates = list(csv.DictReader(f))
    lsa = [r for r in rates if r["fit"] == "M" and r["predictor"] == "lsa-theory" and r["shift"] == "none"]
    assert len(lsa) == 3 and all(r["alpha_theory"] == "1" for r in lsa)
