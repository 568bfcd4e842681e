"""Each shipped city profile reproduces its notice's own rules on crafted scenarios,
and none trips on a clean season.

* Sheqi: named in the monthly bulletin twice → 约谈 of the unit head; three times →
  written self-criticism; quarterly 差 → one quarter's bonus stopped, two in a row →
  two quarters, three in a row → a year (four quarters).
* Quzhou: yellow flag (last in the township arena ranking) three months in a row;
  overdue beyond 15 days; a fix returned twice; media exposure.
* Shaoxing: bottom two in three consecutive quarterly assessments; the same problem
  recurring three times; problems found by the assessors above (referral).
"""

from __future__ import annotations

import pytest
from scoring_helpers import bj, rec

from civgrid.grids.scoring.rules import RuleRegistry
from civgrid.grids.scoring.score import Period, UnitRef, compute_scores
from civgrid.grids.scoring.triggers import PublishedNames, evaluate_triggers

REG = RuleRegistry.with_shipped()
COMMS = [UnitRef(f"C{i}", f"社区{i}", "T0") for i in range(1, 6)]
TOWNS = [UnitRef(f"T{i}", f"乡镇{i}") for i in range(1, 6)]
NAMES = {"community": {u.code: u.name for u in COMMS}, "township": {u.code: u.name for u in TOWNS}}


def _run(profile: str, records, period: str, published=None):
    prof = REG.profile(profile)
    units = {"community": COMMS, "township": TOWNS}

    def scores(p, level):
        return compute_scores(records, prof.version_on(p.start), p, level, units[level])

    return evaluate_triggers(
        prof, records, Period.parse(period), scores, NAMES, published=published
    )


def _issues(code: str, months, n: int = 1, level: str = "community", **kw):
    out = []
    for y, m in months:
        for k in range(n):
            place = {"community_code": code} if level == "community" else {"township_code": code}
            out.append(
                rec(
                    reported_at=bj(m, 2 + k % 25, year=y),
                    state="closed",
                    source="field_supervision",
                    **place,
                    **kw,
                )
            )
    return out


def _hits(hits):
    return sorted((h.rule_id, h.unit_code, h.action) for h in hits)


@pytest.mark.parametrize("profile", ["sheqi", "quzhou", "shaoxing"])
@pytest.mark.parametrize(
    "period", ["2026-09", "2026-10", "2026-11", "2026-12", "2026Q3", "2026Q4", "2027Q1", "2026"]
)
def test_clean_season_trips_nothing(profile, period):
    assert _run(profile, [], period) == []


@pytest.mark.parametrize("profile", ["sheqi", "quzhou", "shaoxing"])
def test_orderly_season_trips_nothing(profile):
    """Every unit has the same problem each month: nobody is singled out."""
    records = []
    for u in COMMS:
        records += _issues(u.code, [(2026, m) for m in range(7, 13)])
    for u in TOWNS:
        records += _issues(u.code, [(2026, m) for m in range(7, 13)], level="township")
    for period in ("2026-12", "2026Q4"):
        assert _run(profile, records, period) == []


# --------------------------------------------------------------------------- Sheqi


def _bulletins(months, code="C2", points=98.0, rank=5):
    """``published(p, level)`` of monthly bulletins that named ``code`` in ``months``."""
    issued = {
        m: PublishedNames(f"社创通〔2026〕第{int(m[-2:])}号", {code: (points, rank)})
        for m in months
    }

    def published(p, level):
        return issued.get(p.key) if level == "community" else None

    return published


def test_sheqi_notified_twice_then_three_times():
    c2 = _issues("C2", [(2026, 9), (2026, 10), (2026, 11)], n=2)
    pub = _bulletins(["2026-09", "2026-10", "2026-11"])
    assert _run("sheqi", c2, "2026-09", pub) == []  # named once
    hits = _run("sheqi", c2, "2026-10", pub)
    assert _hits(hits) == [("notified_twice", "C2", "interview")]
    assert hits[0].action_label == "约谈"
    assert hits[0].facts == [
        "2026年9月：得分98，第5名，月通报（社创通〔2026〕第9号）中被点名",
        "2026年10月：得分98，第5名，月通报（社创通〔2026〕第10号）中被点名",
    ]
    assert (hits[0].periods, hits[0].count) == (["2026-09", "2026-10"], 2)
    # the third time: written self-criticism, not a second interview
    assert _hits(_run("sheqi", c2, "2026-11", pub)) == [
        ("notified_three_times", "C2", "self_criticism")
    ]
    # not named this month (clean December) → nothing new
    assert _run("sheqi", c2, "2026-12", pub) == []


def test_sheqi_named_worst_needs_published_bulletins():
    """Last in September, October and November by the numbers, but no bulletin was
    published: nobody was named, nothing trips (no computed-ranking fallback)."""
    c2 = _issues("C2", [(2026, 9), (2026, 10), (2026, 11)], n=2)
    for month in ("2026-10", "2026-11"):
        assert _run("sheqi", c2, month) == []
    # a month without a bulletin neither counts nor breaks the count (window, not a run)
    hits = _run("sheqi", c2, "2026-11", _bulletins(["2026-09", "2026-11"]))
    assert _hits(hits) == [("notified_twice", "C2", "interview")]
    assert hits[0].periods == ["2026-09", "2026-11"]


def test_sheqi_named_worst_counts_published_bulletins():
    """C2 is last in September and October by the numbers, but the September bulletin as
    issued named C4 (e.g. published before C2's late reports): C2 has been named once."""
    c2 = _issues("C2", [(2026, 9), (2026, 10)], n=2)
    issued = {
        ("2026-09", "community"): PublishedNames("社创通〔2026〕第9号", {"C4": (97.0, 5)}),
        ("2026-10", "community"): PublishedNames("社创通〔2026〕第10号", {"C2": (98.0, 5)}),
    }

    def published(p, level):
        return issued.get((p.key, level))

    assert _run("sheqi", c2, "2026-10", published) == []  # computed: twice; issued: once
    # a bulletin that did name C2 in September counts, with the numbers as issued
    issued[("2026-09", "community")] = PublishedNames("社创通〔2026〕第9号", {"C2": (98.0, 5)})
    hits = _run("sheqi", c2, "2026-10", published)
    assert _hits(hits) == [("notified_twice", "C2", "interview")]
    assert hits[0].facts == [
        "2026年9月：得分98，第5名，月通报（社创通〔2026〕第9号）中被点名",
        "2026年10月：得分98，第5名，月通报（社创通〔2026〕第10号）中被点名",
    ]
    # published October names nobody: no new case in October, whatever the numbers say
    issued[("2026-10", "community")] = PublishedNames("社创通〔2026〕第10号", {})
    assert _run("sheqi", c2, "2026-10", published) == []


def test_sheqi_poor_quarters_stop_bonus():
    # 15 illegal structures a month: −30 → 70 < 75 (差) in every month of Q3, Q4, 2027Q1
    months = [(2026, m) for m in range(7, 13)] + [(2027, m) for m in (1, 2, 3)]
    c1 = _issues("C1", months, n=15, category_code="illegal_structures")
    q3 = [h for h in _run("sheqi", c1, "2026Q3") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.quarters) for h in q3] == [("poor_quarter", 1)]
    q4 = [h for h in _run("sheqi", c1, "2026Q4") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.unit_code, h.quarters) for h in q4] == [("poor_two_quarters", "C1", 2)]
    q1 = [h for h in _run("sheqi", c1, "2027Q1") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.quarters) for h in q1] == [("poor_three_quarters", 4)]
    assert "季度考评为“差”" in q1[0].facts[0]
    # a fair quarter in between breaks the run: Q3 and 2027Q1 差 (70), Q4 中 (100 − 2×10
    # = 80 each month, ≥ 75) → nothing in Q4, and in 2027Q1 a run of one: poor_quarter only
    fair = [(2026, m) for m in (10, 11, 12)]
    gap = (
        _issues("C1", [(2026, m) for m in (7, 8, 9)], n=15, category_code="illegal_structures")
        + _issues("C1", fair, n=10, category_code="illegal_structures")
        + _issues("C1", [(2027, m) for m in (1, 2, 3)], n=15, category_code="illegal_structures")
    )
    assert [h for h in _run("sheqi", gap, "2026Q4") if h.rule_id.startswith("poor")] == []
    q1 = [h for h in _run("sheqi", gap, "2027Q1") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.unit_code, h.quarters) for h in q1] == [("poor_quarter", "C1", 1)]
    assert q1[0].facts == ["2027年第一季度：得分70，第5名，季度考评为“差”"]


def test_sheqi_poor_year_admonishment():
    c3 = _issues("C3", [(2026, m) for m in range(1, 13)], n=15, category_code="illegal_structures")
    hits = [h for h in _run("sheqi", c3, "2026") if h.rule_id == "poor_year"]
    assert [(h.unit_code, h.action, h.action_label) for h in hits] == [
        ("C3", "admonishment", "诫勉")
    ]
    assert hits[0].facts == ["2026年度：得分70，第5名，年度考评为“差”"]


# --------------------------------------------------------------------------- Quzhou


def test_quzhou_yellow_flag_three_times_in_a_row():
    t4 = _issues("T4", [(2026, 10), (2026, 11), (2026, 12)], level="township")
    assert [h for h in _run("quzhou", t4, "2026-11") if h.rule_id == "yellow_flag_three"] == []
    hits = [h for h in _run("quzhou", t4, "2026-12") if h.rule_id == "yellow_flag_three"]
    assert [(h.unit_code, h.action, h.level) for h in hits] == [
        ("T4", "public_criticism", "township")
    ]
    assert len(hits[0].facts) == 3
    # October and December only: not in a row
    gap = [r for r in t4 if r.reported_at.month != 11]
    assert [h for h in _run("quzhou", gap, "2026-12") if h.rule_id == "yellow_flag_three"] == []


def test_quzhou_issue_rules():
    late = rec(
        id=501, community_code="C1", reported_at=bj(11, 20), deadline=bj(11, 30), state="rectifying"
    )  # crosses 15 days overdue on 12-15
    returned = rec(
        id=502, community_code="C3", reported_at=bj(12, 3), return_count=2, state="submitted"
    )
    media = rec(
        id=503, community_code="C4", reported_at=bj(12, 5), source="media_exposure", state="closed"
    )
    records = [late, returned, media]
    hits = _run("quzhou", records, "2026-12")
    assert _hits(hits) == [
        ("ignored_dispatch", "C1", "referral"),
        ("media_exposed", "C4", "public_criticism"),
        ("returned_twice", "C3", "interview"),
    ]
    assert {h.rule_id: h.issue_ids for h in hits}["ignored_dispatch"] == [501]
    # the overdue threshold was crossed in December only: January trips nothing for it
    assert [h for h in _run("quzhou", records, "2027-01") if h.rule_id == "ignored_dispatch"] == []
    # fixed before the threshold: nothing
    fixed = rec(
        id=504,
        community_code="C1",
        reported_at=bj(11, 20),
        deadline=bj(11, 30),
        closed_at=bj(12, 10),
        state="closed",
    )
    assert [h for h in _run("quzhou", [fixed], "2026-12") if h.rule_id == "ignored_dispatch"] == []


# --------------------------------------------------------------------------- Shaoxing


def test_shaoxing_bottom_two_three_quarters():
    months = [(2026, m) for m in range(4, 13)]
    records = (
        _issues("C1", months, n=3)
        + _issues("C2", months, n=2)
        + _issues("C3", [(2026, 12)], n=1)  # only once, and above the bottom two
    )
    assert [
        h for h in _run("shaoxing", records, "2026Q3") if h.rule_id == "bottom_two_three_quarters"
    ] == []  # two quarters
    hits = [
        h for h in _run("shaoxing", records, "2026Q4") if h.rule_id == "bottom_two_three_quarters"
    ]
    assert [(h.unit_code, h.action) for h in hits] == [("C1", "referral"), ("C2", "referral")]
    assert hits[0].facts[0].startswith("2026年第二季度：")


def test_shaoxing_recurrence_and_found_above():
    again = [
        rec(
            community_code="C5",
            unit_grid_code="G9",
            category_code="dumping",
            reported_at=bj(12, d),
            recurrence=True,
        )
        for d in (3, 10, 17)
    ]
    above = rec(id=601, community_code="C2", reported_at=bj(12, 8), source="referral")
    hits = _run("shaoxing", [*again, above], "2026-12")
    assert _hits(hits) == [
        ("found_above", "C2", "interview"),
        ("recurring_outcry", "C5", "public_criticism"),
    ]
    # twice is not yet three times
    assert _hits(_run("shaoxing", again[:2], "2026-12")) == []
    # the facts name the place and the category in Chinese when the names are known
    prof = REG.profile("shaoxing")
    names = {**NAMES, "unit_grid": {"G9": "建设路小区"}, "category": {"dumping": "乱倒垃圾"}}
    named = evaluate_triggers(prof, again, Period.parse("2026-12"), lambda p, lv: [], names)
    fact = next(h for h in named if h.rule_id == "recurring_outcry").facts[0]
    assert fact == f"问题#{again[0].id}：建设路小区同一问题（乱倒垃圾）反复出现"
