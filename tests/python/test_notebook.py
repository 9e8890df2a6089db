"""The starter notebook (analysis/notebooks/starter.ipynb) runs from top to bottom on a result file
written by the program: nbconvert executes it with Debian's Jupyter, every code cell gives output,
none an error, and the last draws a figure."""
import os
import subprocess

import nbformat

from conftest import BUILD, ROOT

CONFIG = """[study]
name = "notebook"
seed = 3
prompts = 2000
[grid]
d = [3]
N = [5, 10]
M = [2, 4, 8, 16]
covariance = ["power:1"]
[training]
method = "flow"
[evaluation]
predictors = ["lsa", "zero"]
"""


def test_the_starter_notebook_runs_on_a_result_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    result = tmp_path / "r.h5"
    subprocess.run([str(BUILD / "bin" / "icl-study"), "run", str(config), "-o", str(result),
                    "--progress", "off"], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel draws inline
    env["ICL_RESULT"] = str(result)
    run = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute",
                          str(ROOT / "analysis" / "notebooks" / "starter.ipynb"),
                          "--output-dir", str(tmp_path), "--output", "executed"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    notebook = nbformat.read(str(tmp_path / "executed.ipynb"), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs for cell in code)
    outputs = [output for cell in code for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert "image/png" in code[-1].outputs[-1].get("data", {})
    assert "estimates of 2 predictors" in code[0].outputs[0]["text"]
