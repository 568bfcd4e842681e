"""Point standards as data: a valid file loads; broken or history-rewriting files are refused
with file, line and reason, and the standards in force stay (issue 23, first "Done when")."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from civgrid.grids.points.standards import (
    StandardsError,
    StandardsRegistry,
    load_standards_text,
)

SMALL = """\
profile: small
point_standards:
  versions:
    - effective_from: 2026-01-01
      types:
        - code: market
          label: 农贸市场
          threshold: 3
          items:
            - {code: M-1, family: trade_rules, text: 秤, category: market_order, must_pass: true}
            - {code: M-2, family: public_ads, text: 公益广告, category: markets, deduction: 2}
        - code: toilet
          label: 公共厕所
          items:
            - code: T-1
              family: environment_services
              text: 干净
              category: public_toilet
"""


def _line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``needle``."""
    hits = [i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln]
    return hits[nth - 1]


def test_valid_file_loads_with_types_items_and_verdict_fields():
    std = load_standards_text(SMALL, "small.yaml")
    v = std.version_on(date(2026, 6, 1))
    assert v.type_codes() == ["market", "toilet"]
    m1 = v.point_type("market").item("M-1")
    assert (m1.must_pass, m1.photo_on_fail, m1.category) == (True, True, "market_order")
    assert v.point_type("toilet").threshold == 3.0  # the default
    with pytest.raises(Exception, match="no point standards"):
        std.version_on(date(2025, 12, 31))


@pytest.mark.parametrize(
    ("edit", "needle", "nth", "reason"),
    [
        (("category: markets", "category: no_such"), "no_such", 1, "unknown category 'no_such'"),
        (("code: M-2", "code: M-1"), "M-1", 2, "duplicate item code 'M-1'"),
        (("              family: environment_services\n", ""), "code: T-1", 1, "family"),
        (("family: public_ads", "family: graffiti_art"), "graffiti_art", 1, "unknown family"),
    ],
    ids=["unknown-category", "duplicate-item", "item-without-family", "unknown-family"],
)
def test_broken_file_is_refused_with_file_line_and_reason(edit, needle, nth, reason):
    text = SMALL.replace(*edit)
    with pytest.raises(StandardsError) as exc:
        load_standards_text(text, "s.yaml")
    assert exc.value.file == "s.yaml"
    assert exc.value.line == _line(text, needle, nth), str(exc.value)
    assert reason in exc.value.reason
    assert str(exc.value).startswith(f"s.yaml:{exc.value.line}: ")


def test_change_to_a_version_in_force_is_refused_and_previous_standards_stay():
    reg = StandardsRegistry(clock=lambda: date(2026, 3, 1))
    reg.load_text(SMALL, "small.yaml")
    changed = SMALL.replace("deduction: 2", "deduction: 5")
    with pytest.raises(StandardsError) as exc:
        reg.load_text(changed, "small2.yaml")
    assert exc.value.line == _line(changed, "effective_from")
    assert "cannot be changed" in exc.value.reason and "types" in exc.value.reason
    item = reg.version_on("small", date(2026, 3, 1)).point_type("market").item("M-2")
    assert item.deduction == 2.0  # the previous standards stay in force
    # a published period later than today freezes its days too
    april = SMALL.split("  versions:\n")[1].replace("2026-01-01", "2026-04-01")
    later = SMALL + april
    with pytest.raises(StandardsError, match="must take effect after 2026-04-30"):
        reg.load_text(later, "s3.yaml", not_before=lambda name: date(2026, 4, 30))
    # a new version dated after today is accepted and used from its date on
    reg.load_text(SMALL + april.replace("deduction: 2", "deduction: 4"), "s4.yaml")

    def m2(day: date) -> float:
        return reg.version_on("small", day).point_type("market").item("M-2").deduction

    assert (m2(date(2026, 3, 31)), m2(date(2026, 4, 2))) == (2.0, 4.0)


def test_shipped_demo_standard_is_marked_and_has_twelve_types_or_more():
    v = StandardsRegistry.with_shipped().version_on("sheqi", date(2026, 12, 1))
    assert v.demo and "非官方" in v.label
    assert len(v.types) >= 12
    families = {it.family for t in v.types for it in t.items}
    assert {"public_ads", "trade_rules", "public_order", "environment_services"} <= families


def test_cli_check_and_load(tmp_path, monkeypatch):
    from civgrid.api.cli import app

    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CIVGRID_DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite'}")
    runner = CliRunner()
    good = tmp_path / "small.yaml"
    good.write_text(SMALL, encoding="utf-8")
    r = runner.invoke(app, ["points", "standards", "check", str(good)])
    assert r.exit_code == 0 and "ok: small" in r.output and "2 point types" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("category: markets", "category: nope"), encoding="utf-8")
    r = runner.invoke(app, ["points", "standards", "check", str(bad)])
    assert r.exit_code == 1 and f"{bad}:{_line(SMALL, 'category: markets')}: " in r.output
    r = runner.invoke(app, ["points", "standards", "load", str(good)])
    assert r.exit_code == 0, r.output
    installed = tmp_path / "var" / "point_standards" / "small.yaml"
    assert installed.read_text(encoding="utf-8") == SMALL
    changed = tmp_path / "changed.yaml"
    changed.write_text(SMALL.replace("deduction: 2", "deduction: 3"), encoding="utf-8")
    r = runner.invoke(app, ["points", "standards", "check", str(changed), "--today", "2026-02-01"])
    assert r.exit_code == 1 and "cannot be changed" in r.output
    r = runner.invoke(app, ["points", "standards", "load", str(changed)])
    assert r.exit_code == 1 and installed.read_text(encoding="utf-8") == SMALL
    r = runner.invoke(app, ["points", "standards", "list"])
    assert "small\t2026-01-01\t2 类" in r.output and "sheqi\t2026-01-01" in r.output
