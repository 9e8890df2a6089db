"""`icl-study theory` against an independent NumPy implementation of docs/mathematics.md's closed forms."""
import csv
import io

import numpy as np
import pytest

# The export format: the point's axes first, how its model was trained next (empty for theory
# rows, which have no trained model), the predictor's numbers last.
AXES = ["point", "d", "N", "M", "shift", "covariance", "task", "model"]
NUMBERS = ["predictor", "risk", "stderr", "prompts", "theory"]
PREDICTOR, RISK, STDERR, PROMPTS, THEORY = range(-5, 0)


def rows(output):
    reader = csv.reader(io.StringIO(output))
    header = next(reader)
    assert header[:len(AXES)] == AXES and header[-len(NUMBERS):] == NUMBERS
    assert "training" in header and "replicate" in header
    table = {}
    for row in reader:
        assert len(row) == len(header)
        table[row[PREDICTOR]] = row
    return table


def theorem42(eigenvalues, n, m):
    """Per-eigenvalue Theorem 4.2 (docs/mathematics.md section 4)."""
    lam = np.asarray(eigenvalues, dtype=float)
    t = lam.sum()
    g = (1 + 1 / n) * lam + t / n
    return float(np.sum(lam**2 * (lam + t) / (m * g**2) + lam * (lam + t) ** 2 / (n**2 * g**2)))


def gd1(eigenvalues, m, eta):
    lam = np.asarray(eigenvalues, dtype=float)
    a = (1 + 1 / m) * np.sum(lam**3) + lam.sum() * np.sum(lam**2) / m
    return eta**2 * a - 2 * eta * np.sum(lam**2) + lam.sum(), np.sum(lam**2) / a


def toeplitz(r, d):
    i = np.arange(d)
    return r ** np.abs(i[:, None] - i[None, :])


@pytest.mark.parametrize("spec,eigenvalues", [
    ("diag:4,2,1,0.5,0.1", [4, 2, 1, 0.5, 0.1]),
    ("identity", [1] * 5),
    ("toeplitz:0.8", list(np.linalg.eigvalsh(toeplitz(0.8, 5)))),
    ("power:1", list(5 * (1 / np.arange(1, 6)) / np.sum(1 / np.arange(1, 6)))),
])
@pytest.mark.parametrize("n,m", [(10, 3), (10, 50), (40, 40), (1, 7)])
def test_theory_matches_numpy(icl_study, spec, eigenvalues, n, m):
    table = rows(icl_study("theory", "--d", 5, "--N", n, "--M", m, "--covariance", spec).stdout)
    assert float(table["lsa-theory"][THEORY]) == pytest.approx(theorem42(eigenvalues, n, m), rel=1e-10)
    assert float(table["gd1"][THEORY]) == pytest.approx(gd1(eigenvalues, m, 1.0)[0], rel=1e-10)
    risk_opt = gd1(eigenvalues, m, gd1(eigenvalues, m, 1.0)[1])[0]
    assert float(table["gd1-opt"][THEORY]) == pytest.approx(risk_opt, rel=1e-10)
    assert float(table["zero"][THEORY]) == pytest.approx(sum(eigenvalues), rel=1e-12)
    # Empty Monte Carlo columns, filled theory column.
    for row in table.values():
        assert row[RISK] == row[STDERR] == row[PROMPTS] == ""
        assert row[5] == spec


def test_issue_reference_value(icl_study):
    out = icl_study("theory", "--d", 5, "--N", 10, "--M", 3, "--covariance",
                    "diag:4,2,1,0.5,0.1").stdout
    assert f"{float(rows(out)['lsa-theory'][THEORY]):.4g}" == "5.936"


@pytest.mark.parametrize("args,needle", [
    (["--d", 0, "--N", 10, "--M", 3], "--d"),
    (["--d", 5, "--N", 10], "--M"),
    (["--d", 5, "--N", 10, "--M", 3, "--covariance", "diag:1,2"], "diag:1,2"),
    (["--d", 5, "--N", 10, "--M", 3, "--covariance", "toeplitz:1.5"], "toeplitz:1.5"),
    (["--d", 5, "--N", 10, "--M", 3, "--noise", -1], "--noise"),
    (["--d", "five", "--N", 10, "--M", 3], "--d"),
    (["--d", 5, "--N", 10, "--M", 3, "--bogus"], "--bogus"),
])
def test_bad_arguments_exit_2_with_one_line(icl_study, args, needle):
    result = icl_study("theory", *args, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
