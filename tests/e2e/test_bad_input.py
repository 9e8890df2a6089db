"""Broken configs and arguments: exit 2, one line naming the key (or file), and no output file."""
import pytest

from conftest import CONFIGS, icl
from icl_analysis import seal

BASE = (CONFIGS / "small.toml").read_text()


def replaced(old, new):
    assert old in BASE, old
    return BASE.replace(old, new)


BROKEN = [
    ("malformed TOML", replaced("seed = 7", "seed = = 7"), "malformed TOML"),
    ("unknown key", replaced("seed = 7", "seed = 7\nsede = 3"), "[study] sede: unknown key"),
    ("unknown section", BASE + "\n[extra]\nx = 1\n", "unknown section [extra]"),
    ("seed wrong type", replaced("seed = 7", 'seed = "seven"'), "[study] seed: expected an integer"),
    ("negative seed", replaced("seed = 7", "seed = -1"), "[study] seed"),
    ("prompts zero", replaced("prompts = 6000", "prompts = 0"), "[study] prompts"),
    ("prompts float", replaced("prompts = 6000", "prompts = 6000.5"), "[study] prompts"),
    ("missing name", replaced('name = "small"\n', ""), "[study] name: missing"),
    ("d zero", replaced("d = [3]", "d = [0]"), "[grid] d"),
    ("d absurd", replaced("d = [3]", "d = [1000000]"), "[grid] d"),
    ("M zero", replaced("M = [2, 4, 8]", "M = [0, 4]"), "[grid] M"),
    ("N negative", replaced("N = [5, 10]", "N = [-5]"), "[grid] N"),
    ("empty list", replaced("M = [2, 4, 8]", "M = []"), "[grid] M: expected a non-empty list"),
    ("duplicate value", replaced("M = [2, 4, 8]", "M = [2, 4, 4]"), "[grid] M: duplicate"),
    ("not a list", replaced("M = [2, 4, 8]", "M = 4"), "[grid] M: expected a list"),
    ("covariance wrong length",
     replaced('"toeplitz:0.5"', '"diag:1,2"'), "[grid] covariance"),
    ("covariance not positive definite",
     replaced('"toeplitz:0.5"', '"diag:1,0,2"'), "not positive definite"),
    ("covariance unknown", replaced('"toeplitz:0.5"', '"spherical"'), "[grid] covariance"),
    ("covariance NaN", replaced('"toeplitz:0.5"', '"diag:1,nan,2"'), "[grid] covariance"),
    ("toeplitz r = 1", replaced('"toeplitz:0.5"', '"toeplitz:1"'), "[grid] covariance"),
    ("unknown shift", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["sideways"]'), "[grid] shift"),
    ("unknown predictor", replaced('"knn3"', '"lasso"'), "[evaluation] predictors"),
    ("block predictor not evaluated", replaced("M = [2, 4, 8]", 'M = [2, 4, 8]\npredictors = ["lsa", "ridge"]'),
     "[grid] predictors: 'ridge' is not one of [evaluation] predictors"),
    ("block predictors not a list", replaced("M = [2, 4, 8]", 'M = [2, 4, 8]\npredictors = "lsa"'),
     "[grid] predictors: expected a list"),
    ("unknown method", replaced('method = "flow"', 'method = "newton"'), "[training] method"),
    ("key of another method", replaced('method = "flow"', 'method = "flow"\nsteps = 10'),
     "[training] steps: unknown key for method"),
    ("sigma zero", replaced('method = "flow"', 'method = "flow"\nsigma = 0'), "[training] sigma"),
    ("inf number", replaced('method = "flow"', 'method = "flow"\ntolerance = inf'),
     "[training] tolerance"),
    ("learning rate negative", replaced('method = "flow"', 'method = "adam"\nlearning_rate = -1'),
     "[training] learning_rate"),
    ("step schedule without decay_every",
     replaced('method = "flow"', 'method = "sgd"\nschedule = "step"'), "[training] decay_every"),
    ("empty file", "", "[study]"),
    ("binary garbage", "\x00\x01\x02garbage\xff", "malformed TOML"),
    ("duplicate TOML key", replaced("seed = 7", "seed = 7\nseed = 8"), "malformed TOML"),
    ("study not a table", "study = 3\n" + BASE.split("[grid]", 1)[1], "study"),
    ("name wrong type", replaced('name = "small"', "name = 3"), "[study] name"),
    ("seed float", replaced("seed = 7", "seed = 7.5"), "[study] seed"),
    ("prompts absurd", replaced("prompts = 6000", "prompts = 1000000000000"), "[study] prompts"),
    ("prompts NaN", replaced("prompts = 6000", "prompts = nan"), "[study] prompts"),
    ("unknown sampler", replaced("prompts = 6000", 'prompts = 6000\nsampler = "fast"'),
     "[study] sampler"),
    ("sufficient sampler impossible", replaced("prompts = 6000", 'prompts = 6000\nsampler = "sufficient"'),
     "knn3"),
    ("grid missing", BASE.replace("[grid]", "[gird]"), "unknown section [gird]"),
    ("grid key unknown", replaced("d = [3]", "d = [3]\nD = [3]"), "[grid] D: unknown key"),
    ("d negative", replaced("d = [3]", "d = [-3]"), "[grid] d"),
    ("d float", replaced("d = [3]", "d = [3.5]"), "[grid] d"),
    ("M absurd", replaced("M = [2, 4, 8]", "M = [1000000000]"), "[grid] M"),
    ("N zero", replaced("N = [5, 10]", "N = [0]"), "[grid] N"),
    ("mixed types in list", replaced("M = [2, 4, 8]", 'M = [2, "four"]'), "[grid] M"),
    ("duplicate covariance", replaced('"toeplitz:0.5"', '"toeplitz:0.5", "toeplitz:0.5"'),
     "[grid] covariance: duplicate"),
    ("covariance inf", replaced('"toeplitz:0.5"', '"diag:1,inf,2"'), "[grid] covariance"),
    ("covariance negative", replaced('"toeplitz:0.5"', '"diag:1,-1,2"'), "[grid] covariance"),
    ("power NaN", replaced('"toeplitz:0.5"', '"power:nan"'), "[grid] covariance"),
    ("toeplitz beyond 1", replaced('"toeplitz:0.5"', '"toeplitz:1.5"'), "[grid] covariance"),
    ("unknown task", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\ntask = ["cubic"]'), "[grid] task"),
    ("sparse:0", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\ntask = ["sparse:0"]'), "[grid] task"),
    ("negative task noise", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\ntask = ["linear+noise=-1"]'),
     "[grid] task"),
    ("shift value NaN", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["task-scale=nan"]'),
     "[grid] shift"),
    ("shift value not a number", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["scale-x=big"]'),
     "[grid] shift"),
    ("random-cov-scale zero", replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["random-cov-scale=0"]'),
     "[grid] shift"),
    ("shift needs a fixed covariance",
     replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["skewed"]').replace('"toeplitz:0.5"', '"random-exp"'),
     "skewed"),
    ("query-cov not positive definite",
     replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["query-cov=diag:1,0,1"]'), "[grid] shift"),
    ("predictors empty", replaced('predictors = ["lsa", "lsa-theory", "ols", "gd1", "zero", "knn3"]',
                                  "predictors = []"), "[evaluation] predictors"),
    ("predictors duplicate", replaced('"knn3"', '"knn3", "ols"'), "[evaluation] predictors: duplicate"),
    ("evaluation key unknown", replaced('predictors =', 'prompts = 5\npredictors ='),
     "[evaluation] prompts: unknown key"),
    ("steps zero", replaced('method = "flow"', 'method = "adam"\nsteps = 0'), "[training] steps"),
    ("batch absurd", replaced('method = "flow"', 'method = "sgd"\nbatch = 100000000000'), "[training] batch"),
    ("tolerance NaN", replaced('method = "flow"', 'method = "flow"\ntolerance = nan'), "[training] tolerance"),
    ("unknown model", replaced("d = [3]", 'd = [3]\nmodel = ["transformer"]'), "[grid] model"),
    ("model depth 0", replaced("d = [3]", 'd = [3]\nmodel = ["lsa-0"]'), "[grid] model"),
    ("model too deep", replaced("d = [3]", 'd = [3]\nmodel = ["lsa-17"]'), "[grid] model"),
    ("models key unknown", BASE + "\n[models]\nepochs = 3\n", "[models] epochs: unknown key"),
    ("models learning rate negative", BASE + "\n[models]\nlearning_rate = -0.1\n",
     "[models] learning_rate"),
]


@pytest.mark.parametrize("name,text,needle", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_config_exits_2_and_writes_nothing(binary, tmp_path, name, text, needle):
    config = tmp_path / "broken.toml"
    config.write_text(text)
    out = tmp_path / "out.h5"
    result = icl("run", config, "-o", out, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and "broken.toml" in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.toml"]
    # validate says the same, without running anything
    assert icl("validate", config, check=False).returncode == 2


def test_unknown_shift_lists_the_valid_ones(binary, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(replaced('M = [2, 4, 8]', 'M = [2, 4, 8]\nshift = ["none", "sideways"]'))
    result = icl("validate", config, check=False)
    assert result.returncode == 2
    assert "'sideways'" in result.stderr
    for valid in ("task-scale=a", "scale-x=c", "random-quadrants", "orthogonal-query"):
        assert valid in result.stderr


def test_error_names_the_line(binary, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(replaced("d = [3]", "d = [0]"))
    line = 1 + BASE.splitlines().index("d = [3]")
    result = icl("validate", config, check=False)
    assert f"c.toml:{line}: [grid] d" in result.stderr


@pytest.mark.parametrize("args,needle", [
    (["run", "missing.toml", "-o", "x.h5"], "missing.toml"),
    (["run", CONFIGS / "small.toml", "-o", "x.h5", "--shard", "3/3"], "--shard"),
    (["run", CONFIGS / "small.toml", "-o", "x.h5", "--shard", "a/b"], "--shard"),
    (["run", CONFIGS / "small.toml"], "--output"),
    (["plan", CONFIGS / "small.toml", "--ranks", "0"], "--ranks"),
    (["info", "nothing.h5"], "nothing.h5"),
])
def test_bad_arguments(binary, tmp_path, args, needle):
    result = icl(*args, check=False)
    assert result.returncode in (2, 3), result.stderr
    assert needle in result.stderr.strip().splitlines()[0]
    assert not (tmp_path / "x.h5").exists()


def test_existing_output_needs_resume_or_force(binary, tmp_path):
    out = tmp_path / "o.h5"
    icl("run", CONFIGS / "small.toml", "-o", out, "--progress", "off")
    result = icl("run", CONFIGS / "small.toml", "-o", out, check=False)
    assert result.returncode == 2 and "--force" in result.stderr
    icl("run", CONFIGS / "small.toml", "-o", out, "--force", "--progress", "off")


def test_foreign_and_corrupt_files(binary, tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    assert icl("info", text, check=False).returncode == 2
    import h5py
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    result = icl("export", foreign, check=False)
    assert result.returncode == 2 and "not an icl-study result file" in result.stderr
    good = tmp_path / "good.h5"
    icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:4000])
    assert icl("info", truncated, check=False).returncode == 2
    newer = tmp_path / "newer.h5"
    newer.write_bytes(good.read_bytes())
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 2
    seal(newer)  # a deliberate change, sealed again: only the version is wrong
    result = icl("info", newer, check=False)
    assert result.returncode == 2 and "newer" in result.stderr


def test_training_divergence_exits_4(binary, tmp_path):
    config = tmp_path / "diverge.toml"
    config.write_text(replaced('method = "flow"', 'method = "sgd"\nlearning_rate = 1000.0\nsteps = 200\n'
                               'batch = 16\ninit = "dense"\nsigma = 1.0'))
    result = icl("run", config, "-o", tmp_path / "out.h5", check=False)
    assert result.returncode == 4, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "diverged at step" in line and "last finite loss" in line
    assert not (tmp_path / "out.h5").exists()


def _single_line_error(result, code, needle):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0], lines[0]
    for crash in ("terminate called", "Aborted", "Segmentation", "Traceback", "what():"):
        assert crash not in result.stderr


def _good_file(tmp_path):
    good = tmp_path / "good.h5"
    if not good.exists():
        icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    return good


def test_resume_and_merge_refuse_files_of_another_kind(binary, tmp_path):
    """--resume and merge given a file of another schema, another study, or a damaged one."""
    import h5py
    good = _good_file(tmp_path)
    cases = {}
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    cases["foreign"] = (foreign, "not an icl-study result file")
    newer = tmp_path / "newer.h5"
    newer.write_bytes(good.read_bytes())
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = 2
    seal(newer)  # a deliberate change, sealed again: only the version is wrong
    cases["newer"] = (newer, "newer")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:6000])
    cases["truncated"] = (truncated, "truncated.h5")
    corrupt = tmp_path / "corrupt.h5"
    data = bytearray(good.read_bytes())
    for offset in range(2048, len(data), 97):  # every 97th byte past the superblock flipped
        data[offset] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    cases["corrupt"] = (corrupt, "corrupt.h5")
    text = tmp_path / "text.h5"
    text.write_text("just text")
    cases["text"] = (text, "text.h5")
    other = tmp_path / "other.toml"
    other.write_text(BASE.replace("seed = 7", "seed = 9"))
    another = tmp_path / "another.h5"
    icl("run", other, "-o", another, "--progress", "off")
    cases["another study"] = (another, "another config or seed")

    for name, (path, needle) in cases.items():
        target = tmp_path / f"resume-{name.replace(' ', '-')}.h5"
        target.write_bytes(path.read_bytes())
        before = target.read_bytes()
        result = icl("run", CONFIGS / "small.toml", "-o", target, "--resume", check=False)
        _single_line_error(result, 2, needle if name != "another study" else "another config")
        assert target.read_bytes() == before, f"--resume changed the {name} file"
        assert not target.with_name(target.name + ".partial").exists()
        merged = tmp_path / "merged.h5"
        result = icl("merge", good, path, "-o", merged, check=False)
        assert result.returncode == 2, (name, result.stderr)
        assert not merged.exists(), name
        assert icl("info", path, check=False).returncode in (0, 2) if name == "another study" \
            else icl("info", path, check=False).returncode == 2


def test_output_folder_problems_exit_3_before_work(binary, tmp_path):
    """A missing, read-only or full output folder, or an output path that is a folder: exit 3 (or 2),
    one line naming it, nothing written."""
    import os
    import subprocess
    missing = tmp_path / "nowhere" / "out.h5"
    _single_line_error(icl("run", CONFIGS / "small.toml", "-o", missing, check=False), 3, "nowhere")
    folder_output = tmp_path / "is-a-folder.h5"
    folder_output.mkdir()
    result = icl("run", CONFIGS / "small.toml", "-o", folder_output, "--force", check=False)
    assert result.returncode in (2, 3) and "is-a-folder.h5" in result.stderr, result.stderr
    config_folder = tmp_path / "config-folder.toml"
    config_folder.mkdir()
    _single_line_error(icl("run", config_folder, "-o", tmp_path / "x.h5", check=False), 2,
                       "config-folder.toml")

    def mounted(options):
        target = tmp_path / f"mount-{len(list(tmp_path.iterdir()))}"
        target.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                              capture_output=True)
        return target if done.returncode == 0 else None

    read_only = mounted("size=1m,ro")
    if read_only is None:  # not root: permissions do the same job
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o555)
    full = mounted("size=64k")
    try:
        _single_line_error(icl("run", CONFIGS / "small.toml", "-o", read_only / "out.h5",
                               check=False), 3, str(read_only))
        assert not any(read_only.iterdir())
        if full is not None:
            filler = full / "filler"
            try:
                with open(filler, "wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:  # ENOSPC: the folder is full
                pass
            # Said as a full disk (it used to read like a permissions problem).
            _single_line_error(icl("run", CONFIGS / "small.toml", "-o", full / "out.h5",
                                   check=False), 3, "no space left in " + str(full))
            assert sorted(p.name for p in full.iterdir()) == ["filler"]
    finally:
        for target in (read_only, full):
            if target is not None and os.path.ismount(target):
                subprocess.run(["umount", str(target)])
