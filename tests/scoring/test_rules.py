"""Rules as data: shipped profiles load; a malformed file — or one that parses but cannot
work — is rejected with file, line and reason and the previous rules stay in force;
versions apply by effective date, and versions in force are never rewritten."""

from __future__ import annotations

from datetime import date

import pytest
from scoring_helpers import C1, COMMUNITIES, SMALL, bj, rec
from typer.testing import CliRunner

from civgrid.grids.scoring.rules import (
    RuleRegistry,
    RulesError,
    load_profile_file,
    load_profile_text,
    shipped_profile_paths,
)
from civgrid.grids.scoring.score import Period, compute_scores


def test_shipped_profiles_are_valid():
    names = {p.stem for p in shipped_profile_paths()}
    assert names == {"sheqi", "quzhou", "shaoxing", "lvliang"}
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
        SMALL + "    triggers:\n      - {id: ok, kind: source, sources: [referral], label: b,"
        " action: interview}\n      - {id: x, kind: telepathy, label: a, action: interview}\n",
        20,
        "kind",
    ),
]

TRIG = SMALL + "    triggers:\n"  # the first trigger starts on line 19
#: Rules that parse but cannot work: (text, line, words in the reason).
UNWORKABLE = [
    # unknown codes (categories of the seeded tree, the issue sources, priorities)
    (SMALL.replace("{street_vending: 3}", "{street_vendor: 3}"), 8, "unknown category code"),
    (SMALL.replace("{media_exposure: 1}", "{media: 1}"), 9, "unknown source code 'media'"),
    (
        SMALL.replace("      per_issue: 2\n", "      per_issue: 2\n      by_priority: {asap: 2}\n"),
        8,
        "unknown priority code 'asap'",
    ),
    # township weighting
    (SMALL + "    weights: {township: weighted}\n", 18, "community_weights"),
    (SMALL + "    weights:\n      community_weights: {C1: 2}\n", 19, "township: weighted"),
    # triggers
    (TRIG + "      - {id: m, kind: source, label: b, action: interview}\n", 19, "needs sources"),
    (
        TRIG + "      - {id: m, kind: source, sources: [], label: b, action: interview}\n",
        19,
        "needs sources",
    ),
    (
        TRIG + "      - id: m\n        kind: source\n        label: b\n        action: interview\n"
        "        sources: [tv]\n",
        23,
        "unknown source code 'tv'",
    ),
    (
        TRIG
        + "      - id: n\n        kind: named_worst\n        cadence: month\n        label: a\n"
        "        action: interview\n",
        21,
        "cadence does nothing for a named_worst",
    ),
    (
        TRIG + "      - {id: r, kind: returned, count: 2, days: 3, label: a, action: interview}\n",
        19,
        "days does nothing for a returned trigger",
    ),
    (
        TRIG + "      - {id: n, kind: named_worst, count: 3, window: 2, label: a,"
        " action: interview}\n",
        19,
        "could never fire",
    ),
    (
        TRIG + "      - id: n\n        kind: named_worst\n        label: a\n"
        "        action: interview\n        level: department\n",
        23,
        "communities and townships",
    ),
    (
        TRIG + "      - {id: q, kind: returned, quarters: 2, label: a, action: interview}\n",
        19,
        "bonus_stop",
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


@pytest.mark.parametrize(("text", "line", "words"), UNWORKABLE)
def test_unworkable_rules_are_rejected_with_file_line_reason(text, line, words):
    with pytest.raises(RulesError) as err:
        load_profile_text(text, "bad.yaml")
    e = err.value
    assert (e.file, e.line) == ("bad.yaml", line), (e.line, e.reason)
    assert words in e.reason


def test_category_codes_of_the_county():
    """A county's own category is accepted when its category list is given."""
    text = SMALL.replace("{street_vending: 3}", "{kite_flying: 3}")
    with pytest.raises(RulesError):
        load_profile_text(text, "x.yaml")
    prof = load_profile_text(text, "x.yaml", categories={"kite_flying", "street_vending"})
    assert prof.versions[0].deductions.by_category == {"kite_flying": 3.0}


SHEQI = next(p for p in shipped_profile_paths() if p.stem == "sheqi")
TODAY = date(2026, 12, 6)
#: A version of the Sheqi rules taking effect in 2027 (tiers 88/70).
NEXT_YEAR = "  - effective_from: 2027-01-01\n    tiers: {good: 88, fair: 70}\n"


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` that starts with ``needle`` (stripped)."""
    return 1 + next(i for i, x in enumerate(text.splitlines()) if x.strip().startswith(needle))


def _sheqi(extra: str = "", old: str = "", new: str = "") -> str:
    text = SHEQI.read_text(encoding="utf-8")
    return (text.replace(old, new) if old else text) + extra


def test_registry_keeps_previous_rules_on_bad_file(tmp_path):
    reg = RuleRegistry.with_shipped(clock=lambda: TODAY)
    good = tmp_path / "sheqi.yaml"
    good.write_text(_sheqi(NEXT_YEAR), encoding="utf-8")
    assert reg.load(good).profile == "sheqi"
    assert reg.rules("sheqi", date(2027, 1, 1)).tiers.good == 88
    assert reg.rules("sheqi", date(2026, 12, 1)).tiers.good == 90
    bad = tmp_path / "sheqi-bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace("per_issue: 1.0", "per_issue: x"))
    with pytest.raises(RulesError) as err:
        reg.load(bad)
    line = _line_of(bad.read_text(encoding="utf-8"), "per_issue:")
    assert err.value.file == str(bad) and err.value.line == line
    assert reg.rules("sheqi", date(2027, 1, 1)).tiers.good == 88  # still in force
    assert reg.origin("sheqi") == str(good)


def _november_tier(reg):
    """C1's November 2026 score and tier under the registry's Sheqi rules: 12 issues of
    illegal structures (−2 each) → 76, 中 with the shipped tiers (fair ≥ 75)."""
    nov = Period.parse("2026-11")
    records = [
        rec(community_code=C1, category_code="illegal_structures", reported_at=bj(11, d))
        for d in range(1, 13)
    ]
    s = {
        x.code: x
        for x in compute_scores(
            records, reg.rules("sheqi", nov.start), nov, "community", COMMUNITIES
        )
    }[C1]
    return s.points, s.tier


def test_past_versions_cannot_be_rewritten(tmp_path):
    """The reviewer's case: an upload that changed the 2022 version changed November's tier."""
    reg = RuleRegistry.with_shipped(clock=lambda: TODAY)
    assert _november_tier(reg) == (76.0, "fair")
    # the version in force since 2022 with other tiers (76 would become 差): refused,
    # at the line of that version's effective_from in the shipped file
    rewrite = _sheqi(old="tiers: {good: 90, fair: 75}", new="tiers: {good: 90, fair: 80}")
    with pytest.raises(RulesError) as err:
        reg.load_text(rewrite, "sheqi.yaml")
    first = _line_of(rewrite, "- effective_from: 2022-03-06")
    assert (err.value.file, err.value.line) == ("sheqi.yaml", first)
    assert "2022-03-06" in err.value.reason and "tiers differ" in err.value.reason
    assert _november_tier(reg) == (76.0, "fair")
    # dropping it: refused at the line of `versions:`
    whole = _sheqi()
    dropped = whole[: whole.index("\nversions:") + 1] + "versions:\n" + NEXT_YEAR
    with pytest.raises(RulesError) as err:
        reg.load_text(dropped, "sheqi.yaml")
    assert (
        err.value.line == dropped.splitlines().index("versions:") + 1
        and "must be kept unchanged" in err.value.reason
    )
    # a new version dated today or earlier (it would rescore December): refused at its line
    n = whole.count("\n")
    for day in ("2026-12-06", "2026-11-01"):
        late = _sheqi(f"  - effective_from: {day}\n    tiers: {{good: 90, fair: 80}}\n")
        with pytest.raises(RulesError) as err:
            reg.load_text(late, "sheqi.yaml")
        assert err.value.line == n + 1 and "must take effect after 2026-12-06" in err.value.reason
    assert _november_tier(reg) == (76.0, "fair")
    # a version dated after today is accepted; November keeps its tier
    reg.load_text(_sheqi(NEXT_YEAR), "sheqi.yaml")
    assert _november_tier(reg) == (76.0, "fair")
    assert reg.rules("sheqi", date(2027, 1, 1)).tiers.good == 88
    # … and may still be changed (or dropped) before it takes effect
    reg.load_text(_sheqi(NEXT_YEAR.replace("good: 88", "good: 87")), "sheqi.yaml")
    assert reg.rules("sheqi", date(2027, 1, 1)).tiers.good == 87
    # once in force it is frozen like the others
    later = RuleRegistry.with_shipped(clock=lambda: date(2027, 1, 2))
    later.load_text(_sheqi(NEXT_YEAR), "sheqi.yaml", today=TODAY)  # loaded in December
    with pytest.raises(RulesError):
        later.load_text(_sheqi(NEXT_YEAR.replace("good: 88", "good: 87")), "sheqi.yaml")
    # a new profile has no history to keep
    assert reg.load_text(SMALL, "small.yaml").profile == "small"


def test_published_bulletin_freezes_its_period(tmp_path):
    """A version dated inside a period already published is refused even if after today."""
    reg = RuleRegistry.with_shipped(clock=lambda: TODAY)
    jan15 = "  - effective_from: 2027-01-15\n    tiers: {good: 88, fair: 70}\n"
    with pytest.raises(RulesError) as err:
        reg.load_text(_sheqi(jan15), "s.yaml", not_before=date(2027, 1, 31))
    assert "after 2027-01-31" in err.value.reason
    with pytest.raises(RulesError):  # as a callable profile → last published day
        reg.load_text(_sheqi(jan15), "s.yaml", not_before={"sheqi": date(2027, 1, 31)}.get)
    assert reg.load_text(_sheqi(jan15), "s.yaml", not_before=date(2026, 11, 30))
    # install refuses before writing anything
    local = tmp_path / "profiles"
    with pytest.raises(RulesError):
        reg.install_text(_sheqi(old="fair: 75", new="fair: 80"), "s.yaml", local)
    assert not (local / "sheqi.yaml").exists()
    reg.install_text(_sheqi(NEXT_YEAR), "s.yaml", local)
    assert (local / "sheqi.yaml").read_text(encoding="utf-8") == _sheqi(NEXT_YEAR)


def test_corrupt_local_file_is_reported(tmp_path, caplog):
    local = tmp_path / "profiles"
    local.mkdir()
    (local / "sheqi.yaml").write_text(
        _sheqi(old="per_issue: 1.0", new="per_issue: -1"), encoding="utf-8"
    )
    (local / "small.yaml").write_text(SMALL, encoding="utf-8")
    with caplog.at_level("WARNING", logger="civgrid.grids.scoring.rules"):
        reg = RuleRegistry.with_shipped(local)
    assert [(e.file, e.line) for e in reg.problems] == [
        (str(local / "sheqi.yaml"), _line_of(SHEQI.read_text(encoding="utf-8"), "per_issue:"))
    ]
    assert "per_issue" in reg.problems[0].reason
    assert (
        f"{local / 'sheqi.yaml'}:{_line_of(SHEQI.read_text(encoding='utf-8'), 'per_issue:')}"
        in caplog.text
    )
    assert reg.origin("sheqi") == str(SHEQI)  # the shipped rules stay
    assert reg.origin("small") == str(local / "small.yaml")


def test_versions_apply_by_effective_date():
    two = SMALL + (
        "  - effective_from: 2026-12-01\n    base: 100\n    deductions: {per_issue: 5}\n"
    )
    prof = load_profile_text(two, "two.yaml")
    records = [
        rec(community_code=C1, reported_at=bj(11, 5)),
        rec(community_code=C1, reported_at=bj(12, 5)),
    ]
    nov, dec = Period.parse("2026-11"), Period.parse("2026-12")
    s_nov = compute_scores(records, prof.version_on(nov.start), nov, "community", COMMUNITIES)
    s_dec = compute_scores(records, prof.version_on(dec.start), dec, "community", COMMUNITIES)
    assert {s.code: s.points for s in s_nov}[C1] == 98.0  # old rules: −2
    assert {s.code: s.points for s in s_dec}[C1] == 95.0  # new rules: −5
    from civgrid.grids.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        prof.version_on(date(2025, 1, 1))


def test_cli_rules_check_and_load(tmp_path, monkeypatch):
    from civgrid.api.cli import app

    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path / "var"))
    db = f"sqlite:///{tmp_path / 'rules.sqlite'}"
    monkeypatch.setenv("CIVGRID_DATABASE_URL", db)
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
    r = runner.invoke(app, ["user", "audit", "--action", "score.rules."])
    assert r.exit_code == 0 and "score.rules.install" in r.output and "cli:" in r.output
    bad2 = tmp_path / "small2.yaml"
    bad2.write_text(SMALL.replace("fair: 90", "fair: 99"), encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "load", str(bad2)])
    assert r.exit_code == 1 and f"{bad2}:15" in r.output
    assert installed.read_text(encoding="utf-8") == SMALL
    r = runner.invoke(app, ["score", "rules", "list"])
    assert "small\t测试\t2026-01-01" in r.output and "sheqi" in r.output
    assert "skipped" not in r.output
    # a corrupt installed file is listed as skipped, with file, line and reason
    installed.write_text(SMALL.replace("fair: 90", "fair: 99"), encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "list"])
    assert r.exit_code == 0 and "small\t" not in r.output
    assert f"skipped (malformed, not in force): {installed}:15: " in r.output
    # loading over an installed profile may not rewrite its past versions
    again = tmp_path / "small3.yaml"
    again.write_text(SMALL.replace("per_issue: 2", "per_issue: 3"), encoding="utf-8")
    installed.write_text(SMALL, encoding="utf-8")
    r = runner.invoke(app, ["score", "rules", "load", str(again)])
    assert r.exit_code == 1 and f"{again}:4: " in r.output and "deductions differ" in r.output


def test_running_registry_sees_rules_installed_by_another_process(tmp_path):
    """A server's registry notices a file `civgrid score rules load` (another registry on the
    same directory) installed: the next read has the new version, without a restart."""
    local = tmp_path / "profiles"
    server = RuleRegistry.with_shipped(local, clock=lambda: TODAY)
    assert [v.effective_from for v in server.profile("sheqi").versions][-1] < date(2027, 1, 1)
    cli = RuleRegistry.with_shipped(local, clock=lambda: TODAY)
    src = tmp_path / "sheqi.yaml"
    src.write_text(_sheqi(NEXT_YEAR), encoding="utf-8")
    cli.install(src, local)
    assert server.rules("sheqi", date(2027, 1, 1)).tiers.good == 88.0
    assert server.origin("sheqi") == str(local / "sheqi.yaml")
    # unchanged directory: no reload
    assert server.refresh() is False
    # a file that became malformed is skipped and reported; the shipped rules return
    (local / "sheqi.yaml").write_text("profile: sheqi\nversions: [\n", encoding="utf-8")
    assert server.rules("sheqi", date(2027, 1, 1)).tiers.good == 90.0
    assert server.problems and server.problems[0].file.endswith("sheqi.yaml")
