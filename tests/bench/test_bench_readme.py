"""bench.readme puts a results file into the README between its markers and nowhere else."""

from __future__ import annotations

import pytest

from bench import readme

RESULTS = "# Conductor benchmark, 2026-11-23 14:00 UTC\n\nMachine: x.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


def test_splice_replaces_only_the_marked_block() -> None:
    before = f"# Title\n\nintro\n{readme.BEGIN}\nold table\n{readme.END}\n\n## Next\n"
    after = readme.splice(before, RESULTS, "bench/results/2026-11-23-1441-1x-10x.md")
    assert after.startswith("# Title\n\nintro\n" + readme.BEGIN + "\n")
    assert after.endswith(readme.END + "\n\n## Next\n")
    assert "old table" not in after
    assert "The latest run (Conductor benchmark, 2026-11-23 14:00 UTC), as written to" in after
    assert "| 1 | 2 |" in after
    assert readme.splice(after, RESULTS, "bench/results/2026-11-23-1441-1x-10x.md") == after


def test_splice_refuses_a_readme_without_exactly_one_pair_of_markers() -> None:
    with pytest.raises(ValueError, match="exactly once"):
        readme.splice("# no markers\n", RESULTS, "x.md")
    with pytest.raises(ValueError, match="exactly once"):
        readme.splice(f"{readme.BEGIN}\n{readme.END}\n{readme.BEGIN}\n{readme.END}\n", RESULTS, "x.md")


def test_the_readme_has_its_markers() -> None:
    text = (readme.ROOT / "README.md").read_text()
    assert text.count(readme.BEGIN) == 1 and text.count(readme.END) == 1
