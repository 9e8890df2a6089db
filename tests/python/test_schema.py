"""Result files read back with h5py (an independent reader) match the documented schema 1."""
import pathlib
import subprocess

import h5py
import numpy as np
import pytest

from conftest import BUILD

CONFIG = """
[study]
name = "schema"
seed = 3
prompts = 500

[grid]
d = [3]
N = [6]
M = [2, 5]
covariance = ["identity", "diag:2,1,0.5"]

[training]
method = "adam"
steps = 50
batch = 32
learning_rate = 0.01

[evaluation]
predictors = ["lsa", "gd1", "zero", "knn3"]
"""


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema")
    config = folder / "schema.toml"
    config.write_text(CONFIG)
    out = folder / "schema.h5"
    subprocess.run([str(BUILD / "bin" / "icl-study"), "run", str(config), "-o", str(out),
                    "--progress", "off"], check=True)
    return out, CONFIG


def test_root_attributes(result_file):
    path, config = result_file
    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["schema_version"] == 1 and a["program"] == "icl-study"
        assert a["config"] == config and a["seed"] == 3 and a["study"] == "schema"
        for key in ("version", "git_commit", "created", "rng", "hostname", "shard"):
            assert isinstance(a[key], str) and a[key]
        assert a["mpi_ranks"] == 1 and a["omp_threads"] >= 1


def test_points_and_estimates(result_file):
    path, _ = result_file
    with h5py.File(path, "r") as f:
        assert list(f["points/d"][()]) == [3, 3, 3, 3]
        assert list(f["points/M"][()]) == [2, 2, 5, 5]
        covariances = [c.decode() for c in f["points/covariance"][()]]
        assert covariances == ["identity", "diag:2,1,0.5"] * 2
        assert list(f["points/status"][()]) == [1, 1, 1, 1]
        assert [t.decode() for t in f["points/task"][()]] == ["linear"] * 4
        assert [p.decode() for p in f["predictors"][()]] == ["lsa", "gd1", "zero", "knn3"]
        for name in ("lsa", "gd1", "zero", "knn3"):
            group = f["estimates"][name]
            assert group["risk"].shape == (4,) and group["risk"].dtype == np.float64
            assert np.all(group["stderr"][()] > 0)
            assert list(group["prompts"][()]) == [500] * 4
        assert np.all(np.isnan(f["theory/knn3"][()]))
        assert np.allclose(f["theory/zero"][()], [3.0, 3.5, 3.0, 3.5])


def test_models_are_row_major(result_file):
    path, _ = result_file
    with h5py.File(path, "r") as f:
        keys = sorted(f["models"])
        assert keys == ["d=3;N=6;covariance=diag:2,1,0.5;task=linear",
                        "d=3;N=6;covariance=identity;task=linear"]
        for key in keys:
            model = f["models"][key]
            pv, kq = model["W_PV"][()], model["W_KQ"][()]
            assert pv.shape == kq.shape == (4, 4)
            assert model.attrs["method"] == "adam" and model.attrs["d"] == 3
            # Under Assumption 3.3 only the last ROW of W_PV ever moves (p and u), and the last
            # column of W_KQ receives no gradient: a transposed write would show them swapped.
            assert np.all(pv[:3, :] == 0) and np.any(pv[3, :3] != 0) and pv[3, 3] > 0
            assert np.all(kq[:, 3] == 0)
            assert model["loss"].shape == model["distance"].shape == model["step"].shape


def test_models_store_their_input_covariance_and_merge_keeps_it(result_file, tmp_path):
    """/models/<key>/Lambda is Λ of the training inputs (the analysis computes Γ⁻¹ from it), and a
    merge of the file carries it over unchanged."""
    path, _ = result_file
    merged = tmp_path / "merged.h5"
    subprocess.run([str(BUILD / "bin" / "icl-study"), "merge", str(path), "-o", str(merged)], check=True)
    for name in (path, merged):
        with h5py.File(name, "r") as f:
            models = f["models"]
            diagonal = models["d=3;N=6;covariance=diag:2,1,0.5;task=linear/Lambda"][()]
            identity = models["d=3;N=6;covariance=identity;task=linear/Lambda"][()]
        assert np.array_equal(diagonal, np.diag([2, 1, 0.5])), diagonal
        assert np.array_equal(identity, np.eye(3))
