"""`python -m bench.readme bench/results/<file>.md`: put a results file into README.md.

The README's benchmark figures are always the output of a real run: this replaces what stands
between the two markers below with the named results file (its title becomes a sentence naming
the file), and changes nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench results: begin (python -m bench.readme writes this part) -->"
END = "<!-- bench results: end -->"


def splice(readme: str, results_md: str, name: str) -> str:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError("README.md must hold each bench results marker exactly once")
    lines = results_md.strip().splitlines()
    title = lines[0].removeprefix("# ").strip() if lines and lines[0].startswith("# ") else "results"
    body = "\n".join(lines[1:]).strip()
    block = f"{BEGIN}\nThe latest run ({title}), as written to `{name}`:\n\n{body}\n{END}"
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + block + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readme", description=__doc__)
    parser.add_argument("results", type=Path, help="a bench/results/*.md file")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    results = args.results.resolve()
    name = results.relative_to(ROOT).as_posix() if results.is_relative_to(ROOT) else str(results)
    args.readme.write_text(splice(args.readme.read_text(), results.read_text(), name))
    print(f"README.md: benchmark figures from {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
