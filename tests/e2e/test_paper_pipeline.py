"""The whole pipeline on a reduced paper config: run under mpirun, analyse, check the claims table
(every verdict "agrees" in the optimised build; under --sanitize, on fewer prompts, the table is
built but not judged)."""
import pathlib
import subprocess

from conftest import CONFIGS, HANG_GUARD, ROOT, STATISTICS, icl, sized


def test_reduced_paper_study_end_to_end(binary, tmp_path):
    out = tmp_path / "paper.h5"
    config = sized(CONFIGS / "paper-reduced.toml", tmp_path)
    icl("run", config, "-o", out, "--threads", 1, "--progress", "off", ranks=2)
    report = tmp_path / "paper"
    result = subprocess.run([str(ROOT / "analysis" / "report"), str(out), "-o", str(report)],
                            capture_output=True, text=True, timeout=300 * HANG_GUARD)
    assert result.returncode == 0, result.stderr
    text = (report / "report.md").read_text()
    table = text[text.index("## Claims"):text.index("## Agreement")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "verdict" not in line]
    assert len(rows) == 9, table
    verdicts = [row.rstrip(" |").rsplit("|", 1)[1].strip() for row in rows]
    assert all(v == "agrees" for v in verdicts) or not STATISTICS, table
    for figure in ("shifts.png", "random_covariance.png", "training.png", "agreement.png"):
        assert (report / figure).exists(), figure
    assert pathlib.Path(report / "rates.csv").read_text().count("\n") > 10
