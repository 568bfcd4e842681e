"""Each shipped city profile reproduces its notice's own rules on crafted scenarios,
and none trips on a clean season.

* Sheqi: named in the monthly bulletin twice → 约谈 of the unit head; three times →
  written self-criticism; quarterly 差 → one quarter's bonus stopped, two in a row →
  two quarters, three in a row → a year (four quarters).
* Quzhou: yellow flag (last in the township arena or the department ranking) three
  months in a row; overdue beyond 15 days and a fix returned twice (local readings of
  ④); media exposure with poor rectification (③).
* Shaoxing: bottom two in three consecutive quarterly assessments and below the passing
  score (⑧), of townships and departments; ⑥ and ⑨ are manual cases, not triggers.

Each notice difference of issue 20 has its own test here, failing on the old profiles.
"""

from __future__ import annotations

import pytest
from scoring_helpers import bj, rec

from civgrid.grids.scoring.rules import RuleRegistry
from civgrid.grids.scoring.score import Period, UnitRef, compute_scores, pairing_scores
from civgrid.grids.scoring.triggers import PublishedNames, evaluate_triggers

REG = RuleRegistry.with_shipped()
COMMS = [UnitRef(f"C{i}", f"社区{i}", "T0") for i in range(1, 6)]
TOWNS = [UnitRef(f"T{i}", f"乡镇{i}") for i in range(1, 6)]
DEPTS = [UnitRef(f"D{i}", f"部门{i}") for i in range(1, 6)]
#: Civilized (pairing) units, U1 paired with C1 …, no 联建 work recorded.
CIVILIZED = [UnitRef(f"U{i}", f"文明单位{i}") for i in range(1, 6)]
PAIRS = {f"U{i}": f"C{i}" for i in range(1, 6)}
NAMES = {
    "community": {u.code: u.name for u in COMMS},
    "township": {u.code: u.name for u in TOWNS},
    "department": {u.code: u.name for u in DEPTS},
}


def _run(profile: str, records, period: str, published=None):
    prof = REG.profile(profile)
    units = {"community": COMMS, "township": TOWNS, "department": DEPTS}

    def scores(p, level):
        rules = prof.version_on(p.start)
        if level == "civilized_unit":
            comms = compute_scores(records, rules, p, "community", COMMS)
            return pairing_scores(comms, PAIRS, {}, CIVILIZED, rules, p)
        return compute_scores(records, rules, p, level, units[level])

    return evaluate_triggers(
        prof, records, Period.parse(period), scores, NAMES, published=published
    )


def _issues(code: str, months, n: int = 1, level: str = "community", **kw):
    out = []
    for y, m in months:
        for k in range(n):
            place = {
                "community": {"community_code": code},
                "township": {"township_code": code},
                "department": {"owner_unit_key": code},
            }[level]
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


def test_sheqi_notified_twice_must_be_consecutive():
    """ "连续两次被通报批评": named in September and November with an October bulletin
    that named someone else is not two in a row — no 约谈 (it was under "twice in 12
    months"); named again in December, it is."""
    c2 = _issues("C2", [(2026, 9), (2026, 11), (2026, 12)], n=2)
    issued = {
        "2026-09": PublishedNames("社创通〔2026〕第9号", {"C2": (98.0, 5)}),
        "2026-10": PublishedNames("社创通〔2026〕第10号", {"C4": (97.0, 5)}),
        "2026-11": PublishedNames("社创通〔2026〕第11号", {"C2": (98.0, 5)}),
        "2026-12": PublishedNames("社创通〔2026〕第12号", {"C2": (98.0, 5)}),
    }

    def published(p, level):
        return issued.get(p.key) if level == "community" else None

    assert _run("sheqi", c2, "2026-11", published) == []
    hits = _run("sheqi", c2, "2026-12", published)
    # three namings in the window → 书面检查 (三次以上 need not be in a row)
    assert _hits(hits) == [("notified_three_times", "C2", "self_criticism")]
    # without the September naming: November and December in a row → 约谈, facts of the run
    issued["2026-09"] = PublishedNames("社创通〔2026〕第9号", {"C4": (97.0, 5)})
    hits = _run("sheqi", c2, "2026-12", published)
    assert _hits(hits) == [("notified_twice", "C2", "interview")]
    assert hits[0].periods == ["2026-11", "2026-12"]
    assert "连续两次被通报批评的" in hits[0].citation


def test_sheqi_townships_are_weighted_by_unit_grids():
    """ "加权平均值": a township weighs its communities by their unit grids (a local
    choice), not a plain mean."""
    comms = [UnitRef("C1", "甲", "T1", 3), UnitRef("C2", "乙", "T1", 1)]
    records = _issues("C1", [(2026, 12)], n=10)  # C1: 90, C2: 100
    rules = REG.rules("sheqi", Period.parse("2026-12").start)
    got = compute_scores(
        records,
        rules,
        Period.parse("2026-12"),
        "township",
        [UnitRef("T1", "一镇")],
        communities=comms,
    )
    assert got[0].points == round((3 * 90 + 1 * 100) / 4, 4)  # 92.5, not the mean 95


def test_sheqi_samples_by_patrol():
    """The 月通报 samples about a third of the communities: Sheqi scores a month by what
    was inspected (patrol visits, inspection findings), so an uninspected community has
    no score and is never named best."""
    rules = REG.rules("sheqi", Period.parse("2026-12").start)
    assert rules.sampling == "visited"
    from civgrid.grids.scoring.score import bulletin_names

    got = compute_scores(
        [], rules, Period.parse("2026-12"), "community", COMMS, sampled={"C1", "C2", "C3"}
    )
    unvisited = {s.code: s for s in got}["C5"]
    assert (unvisited.sampled, unvisited.rank, unvisited.tier) == (False, None, None)
    best, _ = bulletin_names(got, 3, 3)
    assert "C5" not in {s.code for s in best} and "C4" not in {s.code for s in best}


def test_sheqi_poor_quarters_stop_bonus():
    """The bonus stops fall on the civilized unit U1 paired with C1 (no 联建 work: C1's
    score), as 004 二、（四）2 writes them (“…的文明单位，停发该单位…文明单位奖金”)."""
    # 15 illegal structures a month: −30 → 70 < 75 (差) in every month of Q3, Q4, 2027Q1
    months = [(2026, m) for m in range(7, 13)] + [(2027, m) for m in (1, 2, 3)]
    c1 = _issues("C1", months, n=15, category_code="illegal_structures")
    q3 = [h for h in _run("sheqi", c1, "2026Q3") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.quarters) for h in q3] == [("poor_quarter", 1)]
    q4 = [h for h in _run("sheqi", c1, "2026Q4") if h.rule_id.startswith("poor")]
    assert [(h.rule_id, h.level, h.unit_code, h.quarters) for h in q4] == [
        ("poor_two_quarters", "civilized_unit", "U1", 2)
    ]
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
    assert [(h.rule_id, h.unit_code, h.quarters) for h in q1] == [("poor_quarter", "U1", 1)]
    assert q1[0].facts == ["2027年第一季度：得分70，第5名，季度考评为“差”"]


def test_good_tier_is_never_named_by_a_poor_grade_rule():
    """C1 is last every month of Q4 but scores 95 (好): no rule that requires 差 names it."""
    c1 = _issues("C1", [(2026, m) for m in (10, 11, 12)], n=5)  # −5 → 95 each month
    for period in ("2026Q4", "2026"):
        hits = _run("sheqi", c1, period)
        assert [h for h in hits if h.rule_id.startswith("poor")] == []


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
        id=503,
        community_code="C4",
        reported_at=bj(12, 5),
        source="media_exposure",
        state="closed",
        return_count=1,
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


def test_quzhou_media_exposure_needs_poor_rectification():
    """③: exposure alone is no case; exposure with poor rectification (returned, or past
    its deadline unfixed) is."""
    fine = rec(
        id=511,
        community_code="C4",
        reported_at=bj(12, 5),
        deadline=bj(12, 8),
        closed_at=bj(12, 7),
        source="media_exposure",
        state="closed",
    )
    late = rec(
        id=512,
        community_code="C2",
        reported_at=bj(12, 5),
        deadline=bj(12, 8),
        source="media_exposure",
        state="rectifying",
    )
    hits = [h for h in _run("quzhou", [fine, late], "2026-12") if h.rule_id == "media_exposed"]
    assert [(h.unit_code, h.issue_ids) for h in hits] == [("C2", [512])]
    assert hits[0].facts == ["问题#512来源：媒体曝光，逾期未整改到位"]
    assert "且整改落實不力的" in hits[0].citation


def test_quzhou_local_numbers_are_marked_local():
    """ "15 days overdue" and "returned twice" are not in the notice: marked local, and
    the label does not pass them off as the notice's."""
    rules = REG.profile("quzhou").versions[-1]
    by_id = {t.id: t for t in rules.triggers}
    for tid in ("ignored_dispatch", "returned_twice"):
        t = by_id[tid]
        assert t.local and t.local_reason
        assert "本地认定" in t.label
        assert t.citation is not None and "十五" not in t.citation.text
        assert "本地规定" in t.citation_text


def test_quzhou_yellow_flag_covers_department_ranking():
    """① covers the township 擂台赛 and the department 排名赛."""
    d3 = _issues("D3", [(2026, 10), (2026, 11), (2026, 12)], level="department")
    hits = [h for h in _run("quzhou", d3, "2026-12") if h.rule_id.startswith("yellow_flag")]
    assert [(h.rule_id, h.unit_code, h.level) for h in hits] == [
        ("yellow_flag_three_department", "D3", "department")
    ]


# --------------------------------------------------------------------------- Shaoxing


def test_shaoxing_bottom_two_three_quarters():
    """⑧ ranks townships and departments, not communities."""
    months = [(2026, m) for m in range(4, 13)]
    records = []
    for level, a, b, c in (("township", "T1", "T2", "T3"), ("department", "D1", "D2", "D3")):
        records += (
            _issues(a, months, n=3, level=level)
            + _issues(b, months, n=2, level=level)
            + _issues(c, [(2026, 12)], n=1, level=level)  # once, and above the bottom two
        )
    records += _issues("C1", months, n=3)  # a community: not ranked by ⑧
    hits = [h for h in _run("shaoxing", records, "2026Q3") if h.rule_id.startswith("bottom_two")]
    assert hits == []  # two quarters
    hits = [h for h in _run("shaoxing", records, "2026Q4") if h.rule_id.startswith("bottom_two")]
    assert [(h.unit_code, h.level, h.action) for h in hits] == [
        ("T1", "township", "referral"),
        ("T2", "township", "referral"),
        ("D1", "department", "referral"),
        ("D2", "department", "referral"),
    ]
    assert hits[0].facts[0].startswith("2026年第二季度：")
    assert "连续三次季度考核中排名末两位" in hits[0].citation


def test_shaoxing_below_passing_score():
    """⑧ "未达到合格分": a township scoring below 60 in a quarter trips it."""
    months = [(2026, m) for m in (10, 11, 12)]
    # 45 issues a month at 1 point each: 55 < 60
    t2 = _issues("T2", months, n=45, level="township")
    hits = [h for h in _run("shaoxing", t2, "2026Q4") if h.rule_id.startswith("below_passing")]
    assert [(h.rule_id, h.unit_code) for h in hits] == [("below_passing", "T2")]
    assert hits[0].facts == ["2026年第四季度：得分55，低于合格分60分"]
    assert "本地规定" in hits[0].citation
    # 35 a month: 65, passing
    ok = _issues("T2", months, n=35, level="township")
    assert [h for h in _run("shaoxing", ok, "2026Q4") if h.rule_id.startswith("below")] == []


def test_shaoxing_six_and_nine_are_not_data_triggers():
    """⑥ is not "every referral" and ⑨ is not "the same problem three times": neither
    opens a case from the data (they are manual cases)."""
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
    assert _run("shaoxing", [*again, above], "2026-12") == []
