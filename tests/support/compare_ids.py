"""Which collected test ids were lost in a move: ``python tests/support/compare_ids.py
BEFORE AFTER [RENAMES.md]`` prints every id of BEFORE that, renamed by the map, is not in
AFTER (nothing printed, exit 0: none lost).

BEFORE and AFTER are ``pytest --collect-only -q`` outputs (lines with ``::``). The map is
``tests/RENAMES.md``: the rows of its tables under ``## Path prefixes`` and ``## Ids``,
``| `old` | `new` |``. An id is renamed by its exact row if it has one, else by the
longest matching prefix row, else kept as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|")


def read_ids(path: Path) -> list[str]:
    """The test ids of a ``--collect-only -q`` listing, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if "::" in line]


def read_map(path: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(exact id renames, prefix renames longest first) from the rename map."""
    exact: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip().lower()
            section = (
                "ids" if title.startswith("ids") else "prefixes" if "prefix" in title else None
            )
            continue
        m = ROW.match(line)
        if not m or section is None:
            continue
        old, new = m.groups()
        if section == "ids":
            exact[old] = new
        else:
            prefixes.append((old, new))
    prefixes.sort(key=lambda p: len(p[0]), reverse=True)
    return exact, prefixes


def rename(test_id: str, exact: dict[str, str], prefixes: list[tuple[str, str]]) -> str:
    """``test_id`` as the map renames it."""
    if test_id in exact:
        return exact[test_id]
    for old, new in prefixes:
        if test_id.startswith(old):
            return new + test_id[len(old) :]
    return test_id


def lost_ids(before: list[str], after: list[str], renames: Path) -> list[str]:
    """The ids of ``before`` whose renamed id is not in ``after`` (as ``old -> new``)."""
    exact, prefixes = read_map(renames)
    present = set(after)
    lost = []
    for test_id in before:
        new = rename(test_id, exact, prefixes)
        if new not in present:
            lost.append(test_id if new == test_id else f"{test_id} -> {new}")
    return lost


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    renames = Path(argv[2]) if len(argv) == 3 else Path(__file__).parents[1] / "RENAMES.md"
    lost = lost_ids(read_ids(Path(argv[0])), read_ids(Path(argv[1])), renames)
    for line in lost:
        print(line)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
