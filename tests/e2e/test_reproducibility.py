"""The export is byte-identical for any ranks x threads and for shards merged (DESIGN.md guarantees)."""
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
