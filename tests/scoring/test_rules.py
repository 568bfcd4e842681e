"""Rules as data: shipped profiles load; a malformed file is rejected with file, line and
reason and the previous rules stay in force; versions apply by effective date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from scoring_helpers import C1, COMMUNITIES, SMALL, bj, rec
from typer.testing import CliRunner

from civgrid.grids.scoring import Period, compute_scores
from civgrid.grids.scoring_rules import (
    RuleRegistry,
    RulesError,
    load_profile_file,
    load_profile_text,
    shipped_profile_paths,
)


def test_shipped_profiles_are_valid():
    names = {p.stem for p in shipped_profile_paths()}
    assert names == {"sheqi", "quzhou", "shaoxing"}
    for p in shipped_profile_paths():
        prof = load_profile_file(p)
        assert prof.profile == p.stem and prof.versions and prof.source
        assert all(t.label for v in prof.versions for t in v.triggers)


BAD = [
    # (text, line, words in the reason)
    (SMALL.replace("per_issue: 2", "per_issue: -2"), 7, "per_issue"),
    (SMALL.replace("tiers: {good: 95, fair: 90}", "tiers: {good: 80, fair: 90}"), 15, "fair"),
    (SMALL.replace("    base: 100\n", "    base: 100\n    bogus: 1\n"), 6, "bogus"),
    (SMALL.replace("effective_from: 2026-01-01", "effective_from: someday"), 4, "effective_from"),
    (SMALL.replace("{street_vending: 3}", "{street_vending: 3"), 9, "YAML"),
    ("- just\n- a list\n", 1, "mapping"),
    (
        SMALL + "    triggers:\n      - {id: ok, kind: source, label: b, action: interview}\n"
        "      - {id: x, kind: telepathy, label: a, action: interview}\n",
        20,
        "kind",
    ),
]


@pytest.mark.parametrize(("text", "line", "word"), BAD)
def test_malformed_is_rejected_with_file_line_reason(text, line, word):
    with pytest.raises(RulesError) as err:
        load_profile_text(text, "bad.yaml")
    e = err.value
    assert e.file == "bad.yaml"
    assert e.line == line, (e.line, e.reason)
    assert word in e.reason
    assert str(e).startswith(f"bad.yaml:{line}: ")


def test_registry_keeps_previous_rules_on_bad_file(tmp_path):
    reg = RuleRegistry.with_shipped()
    good = tmp_path / "sheqi.yaml"
    good.write_text(
        Path(shipped_profile_paths()[2])
        .read_text(encoding="utf-8")
        .replace("tiers: {good: 90, fair: 75}", "tiers: {good: 88, fair: 70}"),
        encoding="utf-8",
    )
    assert reg.load(good).profile == "sheqi"
    assert reg.rules("sheqi", date(2026, 12, 1)).tiers.good == 88
    bad = tmp_path / "sheqi-bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("per_issue: 1.0", "per_issue: x"))
    with pytest.raises(RulesError) as err:
        reg.load(bad)
    assert err.value.file == str(bad) and err.value.line == 14
    assert reg.rules("sheqi", date(2026, 12, 1)).tiers.good == 88  # still in force
    assert reg.origin("sheqi") == str(good)


def test_versions_apply_by_effective_date():
    two = SMALL + (
        "  - effective_from: 2026-12-01\n    base: 100\n    deductions: {per_issue: 5}\n"
    )
    prof = load_profile_text(two, "two.yaml")
    records = [rec(community_code=C1, reported_at=bj(11, 5)),
               rec(community_code=C1, reported_at=bj(12, 5))]  # fmt: skip
    nov, dec = Period.parse("2026-11"), Period.parse("2026-12")
    s_nov = compute_scores(records, prof.version_on(nov.start), nov, "community", COMMUNITIES)
    s_dec = compute_scores(records, prof.version_on(dec.start), dec, "community", COMMUNITIES)
    assert {s.code: s.points for s in s_nov}[C1] == 98.0  # old rules: −2
    assert {s.code: s.points for s in s_dec}[C1] == 95.0  # new rules: −5
    from civgrid.grids.errors import NotFoundError

    with pytest.raises(NotFoundError):
        prof.version_on(date(2025, 1, 1))


def test_cli_rules_check_and_load(tmp_path, monkeypatch):
    from civgrid.api.cli import app

    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    good = tmp_path / "small.yaml"
    good.write_text(SMALL, encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "check", str(good)])
    assert r.exit_code == 0 and "ok: small" in r.output
    bad = tmp_path / "broken.yaml"
    bad.write_text(SMALL.replace("per_issue: 2", "per_issue: -2"), encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "check", str(bad)])
    assert r.exit_code == 1
    assert f"{bad}:7: versions.0.deductions.per_issue" in r.output
    # install the good one, then refuse the bad one: the installed file stays
    r = runner.invoke(app, ["score", "rules", "load", str(good)])
    assert r.exit_code == 0, r.output
    installed = tmp_path / "var" / "profiles" / "small.yaml"
    assert installed.read_text(encoding="utf-8") == SMALL
    bad2 = tmp_path / "small2.yaml"
    bad2.write_text(SMALL.replace("fair: 90", "fair: 99"), encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "load", str(bad2)])
    assert r.exit_code == 1 and f"{bad2}:15" in r.output
    assert installed.read_text(encoding="utf-8") == SMALL
    r = runner.invoke(app, ["score", "rules", "list"])
    assert "small\t测试\t2026-01-01" in r.output and "sheqi" in r.output
