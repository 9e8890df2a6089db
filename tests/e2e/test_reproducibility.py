"""The export is byte-identical for any ranks x threads and for shards merged (README "Guarantees")."""
from conftest import CONFIGS, MPI_ENV, export, icl

SMALL = CONFIGS / "small.toml"


def test_ranks_threads_and_shards_give_identical_exports(binary, tmp_path):
    reference = tmp_path / "serial.h5"
    icl("run", SMALL, "-o", reference, "--threads", 1, "--progress", "off")
    expected = export(reference)
    assert expected.count("\n") == 1 + 12 * 6  # header + points x predictors

    layouts = {"2x1": (2, 1), "1x2": (1, 2), "3x1": (3, 1)}
    for name, (ranks, threads) in layouts.items():
        out = tmp_path / f"{name}.h5"
        icl("run", SMALL, "-o", out, "--threads", threads, "--progress", "off", ranks=ranks)
        assert export(out) == expected, f"{name} differs from the serial run"

    shards = []
    for index in range(3):
        out = tmp_path / f"shard{index}.h5"
        icl("run", SMALL, "-o", out, "--shard", f"{index}/3", "--progress", "off")
        shards.append(out)
    merged = tmp_path / "merged.h5"
    icl("merge", *shards, "-o", merged)
    assert export(merged) == expected


def test_merge_refuses_foreign_duplicate_and_missing_shards(binary, tmp_path):
    shards = []
    for index in range(2):
        out = tmp_path / f"shard{index}.h5"
        icl("run", SMALL, "-o", out, "--shard", f"{index}/2", "--progress", "off")
        shards.append(out)
    other = tmp_path / "other.toml"
    other.write_text(SMALL.read_text().replace("seed = 7", "seed = 8"))
    foreign = tmp_path / "foreign.h5"
    icl("run", other, "-o", foreign, "--shard", "1/2", "--progress", "off")

    def refused(*files, needle):
        result = icl("merge", *files, "-o", tmp_path / "m.h5", check=False)
        assert result.returncode == 2, result.stderr
        assert needle in result.stderr, result.stderr
        assert not (tmp_path / "m.h5").exists()

    refused(shards[0], foreign, needle="foreign.h5")
    refused(shards[0], shards[0], needle="duplicate")
    refused(shards[0], needle="missing shard(s) 1")


def test_points_cut_between_ranks_give_identical_exports(binary, tmp_path):
    """A costly point evaluated in pieces by three ranks has the same bits as in one piece, on the
    plain sampler (knn3 in the list) and on the sufficient-statistic sampler (linear predictors)."""
    plain = CONFIGS / "split.toml"
    sufficient = tmp_path / "split-sufficient.toml"
    sufficient.write_text(plain.read_text().replace(', "knn3"]', "]"))
    for config, sampler in ((plain, "plain"), (sufficient, "sufficient")):
        plan = icl("plan", config, "--ranks", 3).stdout
        assert "3 points in" in plan and "3 points in 3 work units" not in plan, plan
        serial = tmp_path / f"{sampler}-1.h5"
        icl("run", config, "-o", serial, "--threads", 1, "--progress", "off")
        parallel = tmp_path / f"{sampler}-3.h5"
        icl("run", config, "-o", parallel, "--threads", 1, "--progress", "off", ranks=3)
        assert export(parallel) == export(serial), f"{sampler}: 3 ranks differ from 1"
        info = icl("info", serial).stdout
        assert "3 of 3 done" in info


def test_every_philox_path_gives_identical_exports(binary, tmp_path):
    """The vector Philox paths (AVX2, AVX-512) and Random123's scalar one give the same file,
    through the whole program: sampling, training and evaluation. Paths this CPU lacks are refused
    with exit code 2 and the variable named, as is an unknown path."""
    configs = {"small": SMALL, "halving": CONFIGS / "halving.toml"}
    for label, config in configs.items():
        exports = {}
        for path in ("scalar", "avx2", "avx512"):
            out = tmp_path / f"{label}-{path}.h5"
            env = dict(MPI_ENV, ICL_PHILOX_PATH=path)
            result = icl("run", config, "-o", out, "--threads", 2, "--progress", "off",
                         env=env, check=False)
            if result.returncode == 2 and "not supported by this CPU" in result.stderr:
                assert "ICL_PHILOX_PATH" in result.stderr
                continue
            assert result.returncode == 0, result.stderr
            exports[path] = export(out)
        assert "scalar" in exports and len(exports) >= 2, f"{label}: only {list(exports)} ran"
        for path, text in exports.items():
            assert text == exports["scalar"], f"{label}: the {path} path differs from scalar"

    bad = icl("run", SMALL, "-o", tmp_path / "bad.h5", "--progress", "off",
              env=dict(MPI_ENV, ICL_PHILOX_PATH="sse9"), check=False)
    assert bad.returncode == 2, bad.stderr
    assert "ICL_PHILOX_PATH" in bad.stderr and "expected scalar, avx2 or avx512" in bad.stderr
    assert not (tmp_path / "bad.h5").exists()


def test_every_kernel_path_gives_identical_exports(binary, tmp_path):
    """The batched training kernels of the deep stacks (lsa-2, softmax-2-2: a dense middle layer
    and the last layer's shortcut) give the same file on the baseline, AVX2 and AVX-512 paths, and
    on one thread and two. Paths this CPU lacks are refused with exit code 2 naming the variable,
    as is an unknown path."""
    config = tmp_path / "stacks.toml"
    config.write_text("""[study]
name = "stacks"
seed = 5
prompts = 2000

[grid]
d = [3]
N = [6]
M = [6, 12]
covariance = ["diag:2,1,0.5"]
model = ["lsa-2", "softmax-2-2"]

[models]
steps = 60
batch = 40
learning_rate = 0.003

[evaluation]
predictors = ["lsa", "ols", "zero"]
""")
    exports = {}
    for path, threads in (("baseline", 1), ("baseline", 2), ("avx2", 2), ("avx512", 1)):
        out = tmp_path / f"{path}-{threads}.h5"
        result = icl("run", config, "-o", out, "--threads", threads, "--progress", "off",
                     env=dict(MPI_ENV, ICL_KERNEL_PATH=path), check=False)
        if result.returncode == 2 and "not supported by this CPU" in result.stderr:
            assert "ICL_KERNEL_PATH" in result.stderr
            continue
        assert result.returncode == 0, result.stderr
        exports[(path, threads)] = export(out)
    assert len(exports) >= 2, list(exports)
    reference = exports[("baseline", 1)]
    assert "softmax-2-2" in reference and "lsa-2" in reference
    for key, text in exports.items():
        assert text == reference, f"{key} differs from the baseline path on one thread"

    bad = icl("run", config, "-o", tmp_path / "bad.h5", "--progress", "off",
              env=dict(MPI_ENV, ICL_KERNEL_PATH="neon"), check=False)
    assert bad.returncode == 2, bad.stderr
    assert "ICL_KERNEL_PATH" in bad.stderr and "expected baseline, avx2 or avx512" in bad.stderr
    assert not (tmp_path / "bad.h5").exists()
