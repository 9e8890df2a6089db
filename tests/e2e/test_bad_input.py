"""Broken configs and arguments: exit 2, one line naming the key (or file), and no output file."""
import pytest

from conftest import CONFIGS, icl

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
