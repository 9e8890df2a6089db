"""Result files as the scientific Python world reads them: xarray through h5netcdf opens /points,
/estimates/<predictor> and /theory as datasets over one labelled `point` dimension, every variable
carries long_name and description (units where they apply), strings decode to str, model counts
are integers; and icl_analysis.load offers the same as a pandas DataFrame and an xarray Dataset."""
import h5py
import numpy as np
import pytest

import icl_analysis
from conftest import CONFIGS, icl, sized

xarray = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xarray")
    out = folder / "small.h5"
    icl("run", sized(CONFIGS / "small.toml", folder), "-o", out, "--progress", "off")
    return out


def open_group(path, group):
    return xarray.open_dataset(path, engine="h5netcdf", group=group)


def test_points_and_estimates_line_up_on_one_dimension(result):
    data = icl_analysis.load(str(result))
    points = open_group(result, "points")
    assert set(points.dims) == {"point"}
    count = len(data["points"]["status"])
    assert points.sizes["point"] == count
    for name in ("d", "N", "M", "status", "replicate", "batch", "steps"):
        assert points[name].dtype.kind in "iu", (name, points[name].dtype)
        np.testing.assert_array_equal(points[name].values, data["points"][name])
    # Strings decode to str, equal to what the loader reads.
    assert list(points["shift"].values) == list(data["points"]["shift"])
    assert isinstance(points["covariance"].values[0], str)
    for predictor in data["predictors"]:
        estimates = open_group(result, f"estimates/{predictor}")
        assert estimates.sizes == points.sizes
        merged = xarray.merge([points, estimates])  # aligned: no phony dimensions
        np.testing.assert_array_equal(merged["risk"].values, data["estimates"][predictor]["risk"])
        np.testing.assert_array_equal(merged["prompts"].values,
                                      data["estimates"][predictor]["prompts"])
    theory = open_group(result, "theory")
    assert set(theory.data_vars) == set(data["predictors"])
    assert theory.sizes == points.sizes


def test_every_variable_is_described(result):
    for group in ["points", "theory"] + [f"estimates/{p}" for p in
                                         icl_analysis.load(str(result))["predictors"]]:
        dataset = open_group(result, group)
        for name, variable in dataset.data_vars.items():
            assert variable.attrs.get("long_name"), (group, name)
            assert variable.attrs.get("description"), (group, name)
    points = open_group(result, "points")
    assert points["seconds"].attrs["units"] == "s"
    assert points["status"].attrs["flag_meanings"] == "pending done eliminated"
    root = xarray.open_dataset(result, engine="h5netcdf")
    assert list(root["predictors"].values) == icl_analysis.load(str(result))["predictors"]


def test_model_counts_are_integers_and_settings_are_attributes(result):
    with h5py.File(result, "r") as f:
        for key, group in f["models"].items():
            assert np.issubdtype(type(group.attrs["converged"]), np.integer), key
            assert group.attrs["method"] in ("flow", b"flow")


def test_load_as_dataframe_and_dataset(result):
    data = icl_analysis.load(str(result))
    frame = icl_analysis.load(str(result), form="dataframe")
    table = icl_analysis.tidy(data)
    assert len(frame) == len(table["risk"])
    np.testing.assert_array_equal(frame["risk"].to_numpy(), table["risk"])
    dataset = icl_analysis.load(str(result), form="xarray")
    assert dict(dataset.sizes) == {"predictor": len(data["predictors"]),
                                   "point": len(data["points"]["status"])}
    lsa = dataset["risk"].sel(predictor=data["predictors"][0]).values
    np.testing.assert_array_equal(lsa, data["estimates"][data["predictors"][0]]["risk"])
    assert dataset.attrs["study"] == data["attrs"]["study"]
    with pytest.raises(ValueError):
        icl_analysis.load(str(result), form="parquet")
