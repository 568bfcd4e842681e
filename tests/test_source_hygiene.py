"""Source rules the linters do not check: no private name crosses a module boundary,
and every ``# fmt: skip`` says why.
"""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("api", "geo", "grids", "maps")
EVERYWHERE = (*PRODUCT, "tests", "bench")


def _sources(folders: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for top in folders:
        for p in sorted((ROOT / top).rglob("*.py")):
            if not {"node_modules", "vendor"} & set(p.parts):
                out.append(p)
    return out


def private_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``from civgrid.x import _name`` statements of ``path`` (module:line: name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("civgrid"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {alias.name}")
    return found


#: A bare formatter skip. A reason goes in a second comment after it (or before it) on
#: the same line, the forms ruff still honours.
_BARE_SKIP = re.compile(r"#\s*fmt:\s*skip")


def unexplained_skips(path: Path, root: Path = ROOT) -> list[str]:
    """Lines of ``path`` with a ``# fmt: skip`` comment that gives no reason."""
    out = []
    with tokenize.open(path) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type != tokenize.COMMENT:
                continue
            if _BARE_SKIP.fullmatch(tok.string.strip()):
                out.append(f"{path.relative_to(root)}:{tok.start[0]}")
    return out


def test_no_private_name_is_imported_across_modules():
    bad = [x for p in _sources(PRODUCT) for x in private_imports(p)]
    assert bad == [], "private names imported across modules:\n" + "\n".join(bad)


def test_every_fmt_skip_has_a_reason():
    bad = [x for p in _sources(EVERYWHERE) for x in unexplained_skips(p)]
    assert bad == [], "# fmt: skip without '# reason':\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("x = [1,2]  # fmt: skip", True),
        ("x = [1,2]  # fmt: skip # a table kept in columns", False),
        ("x = 1  # a note", False),
    ],
)
def test_the_checks_bite(tmp_path, line, flagged):
    (tmp_path / "m.py").write_text(f"from civgrid.grids.core.errors import _secret\n{line}\n")
    fake = tmp_path / "m.py"
    assert bool(unexplained_skips(fake, tmp_path)) is flagged
    assert [x.split(": ")[1] for x in private_imports(fake, tmp_path)] == ["_secret"]
