"""Reading result files (schema 1, src/io/schema.md) into tidy columns."""
import os
import re
import zlib

import h5py
import numpy as np

SCHEMA_VERSION = 1
POINT_COLUMNS = ("d", "N", "M", "shift", "covariance", "task")
# How each point's model was trained (training sweeps); files from before sweeps hold the
# defaults throughout: one unnamed variant, replicate 0, hyperparameters only in the config text.
TRAINING_COLUMNS = {"training": "", "replicate": 0, "optimiser": "", "learning_rate": np.nan,
                    "batch": 0, "steps": 0, "warmup_fraction": np.nan, "schedule": "",
                    "decay_every": 0, "decay_factor": np.nan, "sigma": np.nan, "init": "",
                    "model_key": ""}


MOMENTS = ("skewness", "excess_kurtosis")


def heavy_tailed(prompts, skewness):
    """Cochran's rule: the mean of n values with skewness g1 is close enough to normal for a z-score
    only when n > 25 g1². Estimates on fewer prompts are heavy-tailed: their standard errors
    understate the uncertainty (and their means are more often low than high)."""
    skewness = np.asarray(skewness, dtype=float)
    needed = np.where(np.isfinite(skewness), 25.0 * skewness**2, 0.0)
    return np.asarray(prompts, dtype=float) < needed


class SchemaError(Exception):
    """The file is not an icl-study result file this package can read."""


# The seal (src/io/schema.md): the file's first 512 bytes, an HDF5 user block, hold this text,
# then the CRC-32 and length of everything after the block, then zeros.
SEAL_BYTES = 512
SEAL_MAGIC = b"icl-study result file\n"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _seal_text(crc, length):
    return SEAL_MAGIC + b"crc32 %08x\nbytes %d\n" % (crc, length)


def verify_seal(path):
    """Raise SchemaError unless the file's seal matches its contents. Files written before seals
    existed (they start with HDF5's signature) pass unverified. Returns True for a sealed file."""
    return _seal_identity(path) is not None


def _seal_identity(path):
    """verify_seal's work: the seal's (CRC-32, length), None for an unsealed (older) file."""
    with open(path, "rb") as f:
        head = f.read(SEAL_BYTES)
        if head.startswith(HDF5_SIGNATURE):
            return None
        if not head.startswith(SEAL_MAGIC):
            raise SchemaError(f"{path}: not an icl-study result file (no seal, not HDF5)")
        match = re.match(rb"crc32 ([0-9a-f]{8})\nbytes (\d+)\n", head[len(SEAL_MAGIC):])
        if not match:
            raise SchemaError(f"{path}: damaged result file (its seal cannot be read)")
        crc, length = int(match[1], 16), int(match[2])
        if head != _seal_text(crc, length).ljust(SEAL_BYTES, b"\0"):
            raise SchemaError(f"{path}: damaged result file (its seal is not intact)")
        running, size = 0, 0
        while chunk := f.read(1 << 22):
            running = zlib.crc32(chunk, running)
            size += len(chunk)
    if size != length:
        raise SchemaError(f"{path}: damaged result file ({size + SEAL_BYTES} bytes, its seal says "
                          f"{length + SEAL_BYTES}; truncated or extended)")
    if running != crc:
        raise SchemaError(f"{path}: damaged result file (its CRC-32 does not match its seal)")
    return crc, length


# The journal of a run in progress (src/io/schema.md, "The journal"): a 128-byte header naming the
# snapshot it extends, then records "ICLR", CRC-32 (of what follows), point count, rows.
JOURNAL_HEADER_BYTES = 128


def _journal_rows(predictors):
    fields = [("index", "<u8"), ("status", "u1"), ("seconds", "<f8")]
    for k in range(predictors):
        fields += [(f"risk{k}", "<f8"), (f"stderr{k}", "<f8"), (f"prompts{k}", "<i8"),
                   (f"skewness{k}", "<f8"), (f"excess_kurtosis{k}", "<f8")]
    return np.dtype(fields)


def _replay_journal(path, identity, points, predictors, estimates):
    """Apply the commits of `path`.journal, when it extends this snapshot, as icl-study does:
    a record cut short or damaged ends the replay (its points stay pending)."""
    journal = os.fspath(path) + ".journal"
    if identity is None or not os.path.isfile(journal):
        return 0
    with open(journal, "rb") as f:
        data = f.read()
    count = len(points["status"])
    header = (b"icl-study journal 1\nsnapshot crc32 %08x bytes %d\npoints %d predictors %d\n"
              % (identity[0], identity[1], count, len(predictors))).ljust(JOURNAL_HEADER_BYTES, b"\0")
    if data[:JOURNAL_HEADER_BYTES] != header:
        return 0  # another snapshot's journal (or one cut short as it was begun)
    rows = _journal_rows(len(predictors))
    offset, records = JOURNAL_HEADER_BYTES, 0
    while offset + 12 <= len(data) and data[offset:offset + 4] == b"ICLR":
        crc, n = np.frombuffer(data, dtype="<u4", count=2, offset=offset + 4)
        end = offset + 12 + int(n) * rows.itemsize
        if end > len(data) or zlib.crc32(data[offset + 8:end]) != crc:
            break
        record = np.frombuffer(data, dtype=rows, count=int(n), offset=offset + 12)
        if (record["index"] >= count).any() or (record["status"] > 2).any():
            break
        index = record["index"].astype(np.int64)
        points["status"][index] = record["status"]
        points["seconds"][index] = record["seconds"]
        for k, p in enumerate(predictors):
            for name in ("risk", "stderr", "prompts", *MOMENTS):
                estimates[p][name][index] = record[f"{name}{k}"]
        offset, records = end, records + 1
    return records


def seal(path):
    """Seal a result file again after a deliberate change (h5py in "r+" mode, say): icl-study
    refuses a file whose seal does not match, as it would a damaged one. The file must have been
    written by icl-study with its 512-byte user block."""
    with open(path, "r+b") as f:
        f.seek(SEAL_BYTES)
        if f.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
            raise SchemaError(f"{path}: has no 512-byte user block to seal")
        f.seek(SEAL_BYTES)
        running, size = 0, 0
        while chunk := f.read(1 << 22):
            running = zlib.crc32(chunk, running)
            size += len(chunk)
        f.seek(0)
        f.write(_seal_text(running, size).ljust(SEAL_BYTES, b"\0"))


def _text(values):
    # A plain loop: 3-4x faster than np.char.decode on a million fixed-length strings.
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _check(f, path):
    program = f.attrs.get("program")
    if program != "icl-study":
        raise SchemaError(f"{path}: not an icl-study result file (program attribute is {program!r})")
    version = int(f.attrs.get("schema_version", -1))
    if version > SCHEMA_VERSION:
        raise SchemaError(f"{path}: schema_version {version} is newer than this analysis reads "
                          f"({SCHEMA_VERSION}); update the analysis")
    if version != SCHEMA_VERSION:
        raise SchemaError(f"{path}: schema_version {version} is not {SCHEMA_VERSION}")
    for group in ("points", "estimates", "theory", "models", "predictors"):
        if group not in f:
            raise SchemaError(f"{path}: /{group} is missing (damaged or foreign file)")


def load(path, form="dict"):
    """The whole file (a partial file with its journal's commits). `form`:

    - "dict" (default): 'attrs', 'points' (dict of arrays), 'predictors' (list), 'estimates'
      {predictor: {'risk', 'stderr', 'prompts', 'skewness', 'excess_kurtosis'}}, 'theory'
      {predictor: array};
    - "dataframe": a pandas DataFrame, one row per finished (point, predictor) (see `tidy`);
    - "xarray": an xarray Dataset over the dimensions point and predictor (see `to_xarray`).
    """
    if form not in ("dict", "dataframe", "xarray"):
        raise ValueError(f"form must be 'dict', 'dataframe' or 'xarray', not {form!r}")
    data = _load_dict(path)
    if form == "dataframe":
        return to_dataframe(data)
    if form == "xarray":
        return to_xarray(data)
    return data


def to_dataframe(data):
    """`tidy(data)` as a pandas DataFrame (one row per finished point and predictor)."""
    import pandas
    return pandas.DataFrame(tidy(data))


def to_xarray(data):
    """The file as an xarray Dataset: the /points columns as coordinates over `point`, and risk,
    stderr, prompts, skewness, excess_kurtosis and theory as variables over (predictor, point);
    the file's attributes as the Dataset's. Works for every file `load` reads, old ones included
    (icl-study's own files can also be opened directly: xarray.open_dataset(path,
    engine="h5netcdf", group="points"))."""
    import xarray
    predictors = data["predictors"]
    coordinates = {name: ("point", np.asarray(values)) for name, values in data["points"].items()}
    coordinates["point"] = np.arange(len(data["points"]["status"]))
    coordinates["predictor"] = np.array(predictors, dtype=object)
    variables = {name: (("predictor", "point"),
                        np.stack([data["estimates"][p][name] for p in predictors]))
                 for name in ("risk", "stderr", "prompts", *MOMENTS)}
    variables["theory"] = (("predictor", "point"), np.stack([data["theory"][p] for p in predictors]))
    attrs = {k: v for k, v in data["attrs"].items() if isinstance(v, (str, int, float, np.number))}
    return xarray.Dataset(variables, coords=coordinates, attrs=attrs)


def _load_dict(path):
    if not os.path.exists(path):
        raise OSError(f"{path}: no such file")
    identity = _seal_identity(path)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise SchemaError(f"{path}: not a readable HDF5 file ({error})") from None
    with f:
        _check(f, path)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        points = {}
        for name in POINT_COLUMNS:
            data = f["points"][name][()]
            points[name] = _text(data) if data.dtype.kind in "OS" else np.asarray(data)
        # The model axis (absent in files written before it existed: ZFB's one layer throughout).
        count = len(points["d"])
        points["model"] = (_text(f["points/model"][()]) if "model" in f["points"]
                           else np.array(["lsa"] * count, dtype=object))
        for name, default in TRAINING_COLUMNS.items():
            if name in f["points"]:
                data = f["points"][name][()]
                points[name] = _text(data) if data.dtype.kind in "OS" else np.asarray(data)
            else:
                points[name] = np.array([default] * count,
                                        dtype=object if isinstance(default, str) else None)
        points["status"] = np.array(f["points/status"][()])
        points["seconds"] = (np.array(f["points/seconds"][()]) if "seconds" in f["points"]
                             else np.zeros(len(points["status"])))
        predictors = list(_text(f["predictors"][()]))
        estimates = {p: {k: np.array(f["estimates"][p][k][()]) for k in ("risk", "stderr", "prompts")}
                     for p in predictors}
        # The squared errors' skewness and excess kurtosis (NaN in files from before they were kept).
        for p in predictors:
            for k in MOMENTS:
                group = f["estimates"][p]
                estimates[p][k] = (np.array(group[k][()]) if k in group
                                   else np.full(len(estimates[p]["risk"]), np.nan))
        theory = {p: np.asarray(f["theory"][p][()]) for p in predictors}
    # A run in progress: the commits since its snapshot (a finished file has no journal).
    _replay_journal(path, identity, points, predictors, estimates)
    return {"attrs": attrs, "points": points, "predictors": predictors, "estimates": estimates,
            "theory": theory}


def depth_of(model):
    """0 for ZFB's one layer ("lsa"), L for "lsa-L"."""
    return 0 if model == "lsa" else int(model.split("-")[1])


def _row_name(predictor, model):
    """The name a predictor's row gets: the trained model of an lsa-L point is "lsa-L"; gd-L and
    pgd-L become "gd-k" and "pgd-k" with k = L (1 for the one layer)."""
    if predictor == "lsa" and model != "lsa":
        return model
    if predictor in ("gd-L", "pgd-L"):
        return f"{predictor[:-2]}-{max(depth_of(model), 1)}"
    return predictor


def tidy(data):
    """One row per (point, predictor) of the finished points: a dict of equal-length numpy arrays
    with the point columns, 'model', 'point', 'predictor', 'risk', 'stderr', 'prompts', 'theory'.

    Rows are named by what they measure (see _row_name), so that every series is one predictor. At
    an lsa-L point the model-independent predictors (ols, lsa-theory, zero, ...) are dropped when a
    one-layer point with the same d, N, M, shift, covariance and task has them already."""
    points = data["points"]
    done = np.flatnonzero(points["status"] == 1)
    models = points["model"]
    base = {tuple(points[c][i] for c in POINT_COLUMNS) for i in done if models[i] == "lsa"}
    columns = {name: [] for name in ("point", *POINT_COLUMNS, "model", "training", "replicate",
                                     "predictor", "risk", "stderr", "prompts", "theory", *MOMENTS)}
    for predictor in data["predictors"]:
        model_specific = predictor in ("lsa", "gd-L", "pgd-L")
        keep = np.array([models[i] == "lsa" or model_specific or
                         tuple(points[c][i] for c in POINT_COLUMNS) not in base for i in done],
                        dtype=bool)
        rows = done[keep] if len(done) else done
        # A predictor a [grid] block does not evaluate has 0 prompts at its points: no row.
        rows = rows[data["estimates"][predictor]["prompts"][rows] > 0]
        columns["point"].append(rows)
        for name in (*POINT_COLUMNS, "model", "training", "replicate"):
            columns[name].append(points[name][rows])
        columns["predictor"].append(np.array([_row_name(predictor, models[i]) for i in rows],
                                             dtype=object))
        for name in ("risk", "stderr", "prompts", *MOMENTS):
            columns[name].append(data["estimates"][predictor][name][rows])
        columns["theory"].append(data["theory"][predictor][rows])
    table = {k: (np.concatenate(v) if v else np.array([])) for k, v in columns.items()}
    table["heavy_tailed"] = heavy_tailed(table["prompts"], table["skewness"])
    return table


def load_models(path):
    """Trained models: {key: {'attrs': dict, 'W_PV', 'W_KQ', curves...}}."""
    verify_seal(path)
    models = {}
    with h5py.File(path, "r") as f:
        for key, group in f["models"].items():
            entry = {"attrs": {k: (v.decode() if isinstance(v, bytes) else v)
                               for k, v in group.attrs.items()}}
            for name, dataset in group.items():
                entry[name] = dataset[()]
            models[key] = entry
    return models
