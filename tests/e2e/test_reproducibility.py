"""The export is byte-identical for any ranks x threads and for shards merged (README "Guarantees")."""
from conftest import CONFIGS, export, icl

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
