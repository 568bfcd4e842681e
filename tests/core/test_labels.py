"""Every Chinese label lives in grids/core/labels.py (states: the workflow table).

The scan reads the source text of api/, grids/ and maps/ (*.py, *.js, *.html) and
fails on a quoted literal equal to one of those labels (or a state colour): a copy
that would drift. Import the label, or read it from the page config in JS.
"""

from __future__ import annotations

import re
from pathlib import Path

from civgrid.grids.core import labels
from civgrid.grids.issues import workflow

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("api", "grids", "maps")
SUFFIXES = {".py", ".js", ".html"}
SKIP_PARTS = {"vendor", "node_modules", "data", "tests", "profiles", "__pycache__"}
LABELS_HOME = ROOT / "grids" / "core" / "labels.py"
STATES_HOME = ROOT / "grids" / "issues" / "workflow.py"


def _label_strings() -> set[str]:
    out: set[str] = set()
    for name in labels.__all__:
        value = getattr(labels, name)
        if isinstance(value, dict):
            out |= {v for v in value.values() if isinstance(v, str) and not v.isascii()}
    for role in labels.ROLE_LABELS:
        out.add(labels.role_holder_label(role))
        out.add(labels.leader_role_phrase(role))
    return out


#: Words that are also plain column headers or cell words (备注 = a note column, not the
#: comment event; 无 = "none" in a cell; 办结 / 返工 = state words of old spreadsheets;
#: 位置 / 名次 / 问题数 = column headers of imports and sheets).
GENERIC = {"备注", "无", "办结", "返工", "位置", "名次", "问题数"}


def _state_labels() -> set[str]:
    return {r.label for r in workflow.STATE_TABLE.values()}


#: Pattern → text every match contains (lower case): a file without it is not searched.
_NEEDLES: dict[re.Pattern[str], str] = {}


def _with_needle(pat: re.Pattern[str], needle: str) -> re.Pattern[str]:
    _NEEDLES[pat] = needle.lower()
    return pat


def _color_pattern(code: str, color: str) -> tuple[str, re.Pattern[str]]:
    pat = re.compile(rf"\b{code}\b['\"]?\s*:\s*['\"]{color}['\"]", re.I)
    return (f"{code}={color}", _with_needle(pat, color))


def _state_color_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """A state colour next to its state code (``triage: "#7b1fa2"``): a copied colour table."""
    return [_color_pattern(s, r.color) for s, r in workflow.STATE_TABLE.items()]


def _label_color_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """The colour tables of labels.py (``*_COLORS``), likewise."""
    return [
        _color_pattern(code, color)
        for name in labels.__all__
        if name.endswith("_COLORS")
        for code, color in getattr(labels, name).items()
    ]


def _sources() -> list[Path]:
    files = []
    for top in SCANNED:
        for p in sorted((ROOT / top).rglob("*")):
            if p.suffix in SUFFIXES and not SKIP_PARTS & set(p.relative_to(ROOT).parts):
                files.append(p)
    return files


def _literal(text: str) -> re.Pattern[str]:
    t = re.escape(text)
    # a whole quoted literal ('x', "x", `x`) or a whole HTML text node (>x<)
    return _with_needle(re.compile(rf"(['\"`]){t}\1|>{t}<", re.IGNORECASE), text)


def find_copies(files: list[Path] | None = None) -> list[str]:
    """``path:line: literal`` for every copy of a label outside its home."""
    label_pats = [(s, _literal(s)) for s in sorted(_label_strings() - GENERIC)]
    label_pats += _label_color_patterns()
    state_pats = [(s, _literal(s)) for s in sorted(_state_labels())] + _state_color_patterns()
    hits = []
    for path in files if files is not None else _sources():
        if path == LABELS_HOME:
            continue
        pats = label_pats if path == STATES_HOME else label_pats + state_pats
        text = path.read_text(encoding="utf-8")
        low = text.lower()
        for s, pat in pats:
            if _NEEDLES.get(pat, "") not in low:  # a cheap test first: most files lack it
                continue
            for m in pat.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                hits.append(f"{where}:{line}: {s}")
    return hits


def test_the_scan_sees_the_sources() -> None:
    files = _sources()
    names = {p.relative_to(ROOT).as_posix() for p in files}
    assert "maps/static/js/civgrid-map.js" in names and "maps/pages.py" in names
    assert "grids/core/labels.py" in names and not any("vendor" in n for n in names)
    assert {"分包", "已交办", "好", "现场督查"} <= _label_strings() | _state_labels()


def test_no_label_is_copied_outside_its_home() -> None:
    copies = find_copies()
    assert not copies, "labels copied (import them from grids/core/labels.py):\n" + "\n".join(
        copies
    )


def test_the_scan_bites(tmp_path: Path) -> None:
    """A planted copy of a label (and of a state colour) is found."""
    planted = tmp_path / "planted.js"
    planted.write_text(
        'var ROLE = {contract: "分包"};\nvar C = {assigned: "#1565C0"};\n'
        'var K = {hotspot: "#e67e22"};\nvar T = {spike: "孤立跳点"};\n'
    )
    hits = find_copies([planted])
    assert any("分包" in h for h in hits) and any("#1565C0".lower() in h.lower() for h in hits)
    assert any("hotspot=#e67e22" in h for h in hits) and any("孤立跳点" in h for h in hits)
