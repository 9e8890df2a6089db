"""The README's examples work as printed: every config block in it validates (a block is an
indented run of lines that holds a [study] table), and `--version` names the commit."""
import pathlib
import re
import subprocess

import pytest

from conftest import ROOT

README = ROOT / "README.md"


def config_blocks(text):
    """The indented code blocks of a Markdown text that are study configs, unindented."""
    blocks = re.findall(r"(?m)((?:^    .*\n|^\n)+)", text)
    return ["\n".join(line[4:] for line in block.splitlines()) + "\n"
            for block in blocks if "[study]" in block and "$ " not in block]


def test_the_readme_holds_config_blocks():
    assert len(config_blocks(README.read_text())) >= 1


@pytest.mark.parametrize("index", range(len(config_blocks(README.read_text()))))
def test_every_readme_config_validates(icl_study, tmp_path, index):
    config = tmp_path / "readme.toml"
    config.write_text(config_blocks(README.read_text())[index])
    result = icl_study("validate", config, check=False)
    assert result.returncode == 0, result.stderr


def test_a_broken_readme_config_is_refused(icl_study, tmp_path):
    # Negative control: the same extraction, with a covariance that does not fit d, is refused
    # (the example once named diag:4,2,1,0.5,0.1 at d = 20).
    block = config_blocks(README.read_text())[0]
    assert "\"power:1\"" in block
    config = tmp_path / "broken.toml"
    config.write_text(block.replace("\"power:1\"", "\"diag:4,2,1,0.5,0.1\""))
    result = icl_study("validate", config, check=False)
    assert result.returncode == 2 and "[grid] covariance" in result.stderr


def test_version_names_the_commit(icl_study):
    version = icl_study("--version").stdout.strip()
    match = re.fullmatch(r"icl-study \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)", version)
    assert match, version
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True)
    if head.returncode == 0 and match[1] != "unknown":
        # The build configures again when the commit changes: never a stale commit.
        assert match[1] == head.stdout.strip(), (
            f"the program was built from {match[1]}, the checkout is at {head.stdout.strip()}: "
            "build again (tests/run.sh does)")
