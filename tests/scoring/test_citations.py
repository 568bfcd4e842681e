"""Every trigger of the shipped profiles cites its notice: the quoted text is found, as
written, in the named source file; ``local: true`` appears only where docs/scoring.md
names the number the notice lacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from civgrid.grids.scoring.rules import SOURCE_NOTICES, RuleRegistry

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT.parent / "shared" / "domain" / "sources"
REG = RuleRegistry.with_shipped()
TRIGGERS = [
    (name, v.effective_from, t)
    for name in REG.names()
    for v in REG.profile(name).versions
    for t in v.triggers
]


CASE_TYPES = [
    (name, c) for name in REG.names() for v in REG.profile(name).versions for c in v.case_types
]


@pytest.mark.parametrize(("profile", "case_type"), CASE_TYPES, ids=lambda x: str(x)[:40])
def test_case_type_quote_is_in_the_named_source(profile, case_type):
    text = (SOURCES / case_type.citation.file).read_text(encoding="utf-8")
    assert case_type.citation.text in text, f"{profile}.{case_type.id}: quote not in the file"


def test_supervision_report_day_is_cited():
    """Lüliang's report day (25th) is quoted from 001."""
    rules = REG.profile("lvliang").versions[-1]
    sr = rules.supervision_report
    assert sr is not None and sr.day == 25
    assert sr.citation.text in (SOURCES / sr.citation.file).read_text(encoding="utf-8")
    assert f"每月{sr.day}日" in sr.citation.text


def test_manual_case_types_cover_the_notices():
    """The situations of issue 20 that the data cannot show are manual case types."""
    ids = {(p, c.id) for p, c in CASE_TYPES}
    for want in [
        ("quzhou", "obstruction"),
        ("quzhou", "fraud"),
        ("quzhou", "crossing_three_times"),
        ("quzhou", "media_serious"),
        ("shaoxing", "shirking"),
        ("shaoxing", "fraud_or_workaround"),
        ("shaoxing", "central_assessment"),
        ("shaoxing", "provincial_assessment"),
        ("shaoxing", "outcry"),
    ]:
        assert want in ids


def _doc_rows() -> dict[tuple[str, str], list[str]]:
    """Rows of the profile-rule tables in docs/scoring.md: (profile, trigger id) → cells."""
    out = {}
    for line in (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and re.fullmatch(r"`[a-z0-9_]+`", cells[1] or ""):
            out[(cells[0], cells[1].strip("`"))] = cells
    return out


def test_sources_present():
    assert sorted(p.name for p in SOURCES.glob("*.txt")) == sorted(SOURCE_NOTICES)


@pytest.mark.parametrize(("profile", "day", "trigger"), TRIGGERS, ids=lambda x: str(x)[:40])
def test_quote_is_in_the_named_source(profile, day, trigger):
    assert trigger.citation is not None, f"{profile}.{trigger.id} cites no clause"
    text = (SOURCES / trigger.citation.file).read_text(encoding="utf-8")
    assert trigger.citation.text in text, f"{profile}.{trigger.id}: quote not in the file"
    assert trigger.citation.file in trigger.citation.render() or (
        SOURCE_NOTICES[trigger.citation.file] in trigger.citation.render()
    )


def test_local_only_where_the_docs_name_the_number():
    rows = _doc_rows()
    for profile, _day, t in TRIGGERS:
        row = rows.get((profile, t.id))
        assert row is not None, f"docs/scoring.md has no row for {profile} {t.id}"
        says_local = row[-1].lower().startswith("local")
        assert says_local == t.local, f"{profile}.{t.id}: local {t.local}, docs {row[-1]!r}"
        if t.local:
            assert len(row[-1]) > len("local"), f"{profile}.{t.id}: docs do not name the number"


def test_a_quote_not_in_the_file_is_caught():
    """The check can fail: a quote edited by one character is not found."""
    t = next(t for _p, _d, t in TRIGGERS if t.citation)
    text = (SOURCES / t.citation.file).read_text(encoding="utf-8")
    assert t.citation.text[:-1] + "X" not in text


def test_day_counts_are_named_in_the_docs():
    """Each profile's working/calendar day count is grounded (a quote with 工作日, or
    local with its reason) and docs/scoring.md names the rule and the profile."""
    docs = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
    section = docs[docs.index("**Working or calendar days**") :]
    seen = 0
    for name in REG.names():
        for v in REG.profile(name).versions:
            for key, dc in v.day_counts.items():
                seen += 1
                if dc.citation is not None:
                    text = (SOURCES / dc.citation.file).read_text(encoding="utf-8")
                    assert dc.citation.text in text and "工作日" in dc.citation.text
                else:
                    assert dc.local and dc.local_reason, (name, key)
                assert f"`{key}`" in section, f"{name}.{key}: not in docs/scoring.md"
                assert name.capitalize() in section or name in section
    assert seen >= 2  # Sheqi's overdue deduction and negative list
