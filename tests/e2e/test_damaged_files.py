"""Damaged result files are found, named and refused, never parsed (issue 16). A flipped bit used to
crash `info`, `export`, `merge` and `run --resume` inside HDF5, or change exported numbers with exit
0. Every file is now sealed (src/io/schema.md): its CRC-32 is checked before HDF5 reads a byte."""
import random

import h5py

from conftest import CONFIGS, SANITIZED, export, icl
from icl_analysis import SchemaError, verify_seal

FLIPS = 1000 if not SANITIZED else 300  # the instrumented build looks for memory errors
# Of those, how many also go through the heavier readers (merge starts no MPI; run does).
MERGES = 60
RESUMES = 20 if not SANITIZED else 5
CRASH_TEXT = ("Segmentation", "terminate called", "internal error", "AddressSanitizer",
              "runtime error", "Traceback")


def refused(result, path):
    assert result.returncode == 2, (result.returncode, result.stderr[-1500:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr[-1500:]
    for crash in CRASH_TEXT:
        assert crash not in result.stderr


def test_a_thousand_single_bit_flips_are_all_refused(binary, tmp_path):
    good = tmp_path / "good.h5"
    icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    original = good.read_bytes()
    expected = export(good)
    chooser = random.Random(20261202)
    damaged = tmp_path / "damaged.h5"
    for flip in range(FLIPS):
        bit = chooser.randrange(len(original) * 8)
        data = bytearray(original)
        data[bit // 8] ^= 1 << (bit % 8)
        damaged.write_bytes(bytes(data))
        command = "export" if flip % 2 else "info"
        result = icl(command, damaged, check=False)
        # Never a changed number with exit 0, never a crash: always exit 2 naming the file.
        assert not (result.returncode == 0 and command == "export" and result.stdout != expected)
        refused(result, damaged)
        if flip < MERGES:
            merged = tmp_path / "merged.h5"
            refused(icl("merge", damaged, "-o", merged, check=False), damaged)
            assert not merged.exists()
        if flip < RESUMES:
            resumed = tmp_path / f"resume-{flip}.h5"
            resumed.write_bytes(bytes(data))
            refused(icl("run", CONFIGS / "small.toml", "-o", resumed, "--resume", check=False),
                    resumed)
            assert resumed.read_bytes() == bytes(data), "--resume changed a damaged file"
    # The Python loader checks the same seal.
    try:
        verify_seal(damaged)
        raise AssertionError("the analysis loaded a damaged file")
    except SchemaError as error:
        assert "damaged" in str(error)
    assert verify_seal(good)


def test_truncated_and_extended_files_are_refused(binary, tmp_path):
    good = tmp_path / "good.h5"
    icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    original = good.read_bytes()
    for name, data in (("short.h5", original[:-1]), ("long.h5", original + b"\0"),
                       ("seal-only.h5", original[:512]), ("empty.h5", b"")):
        path = tmp_path / name
        path.write_bytes(data)
        refused(icl("export", path, check=False), path)


def test_files_written_before_seals_still_load(binary, tmp_path):
    """A file without the seal's user block (as every file was before) is read as it is."""
    good = tmp_path / "good.h5"
    icl("run", CONFIGS / "small.toml", "-o", good, "--progress", "off")
    unsealed = tmp_path / "unsealed.h5"
    with h5py.File(good, "r") as source, h5py.File(unsealed, "w") as target:
        for key in source:
            source.copy(key, target)
        target.attrs.update(source.attrs)
    assert unsealed.read_bytes()[:4] == b"\x89HDF"
    assert export(unsealed) == export(good)
    assert verify_seal(unsealed) is False
