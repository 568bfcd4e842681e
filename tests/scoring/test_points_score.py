"""Field points in the Sheqi monthly score and the bulletin's points section (issue 23).

Sheqi (004 二、（三）1) samples community grids **and field points** each month; the
profile's ``points`` rule (a local weight: 2 points for a point scoring 0) deducts
``2 × (100 − point score) / 100`` from the point's community for its last inspection in
the month, and the inspection samples the community. Every expected figure below is
worked out by hand from the shipped Sheqi rules and demo market checklist (SC-01..04:
SC-02 must-pass, the other three deduct 1 each).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.calendar import local_zone
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.points.imports import import_points
from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection
from civgrid.grids.points.standards import StandardsRegistry
from civgrid.grids.scoring.bulletins import build_bulletin, bulletin_xlsx
from civgrid.grids.scoring.points import points_section
from civgrid.grids.scoring.rules import RuleRegistry
from civgrid.grids.scoring.score import (
    IssueRecord,
    Period,
    PointRecord,
    UnitRef,
    compute_scores,
)
from civgrid.grids.scoring.service import ScoringContext
from civgrid.maps.scoring_pages import bulletin_html
from support.demo_stores import demo_store_copy

PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "item.png", "image/png")
INSPECTOR = Actor("督查员甲", "inspector")
MARKET = ("SC-01", "SC-02", "SC-03", "SC-04")
#: Three communities of 赊店镇 in the demo county.
A, B, C = "411327100001", "411327100002", "411327100003"
TOWN = "411327100000"


def _local(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=local_zone()).astimezone(UTC)


@pytest.fixture(scope="module")
def sheqi_rules():
    return RuleRegistry.with_shipped().rules("sheqi", date(2026, 11, 1))


# --------------------------------------------------------------------------- pure


def _pt(code, score, compliant, at, community, township=TOWN, **kw) -> PointRecord:
    return PointRecord(
        code, f"点位{code}", "market", "农贸市场", at, score, compliant,
        community_code=community, township_code=township, **kw,
    )  # fmt: skip  # one record per line, positional as the dataclass


def test_points_deduct_from_their_community_by_hand(sheqi_rules):
    nov = Period.parse("2026-11")
    issues = [
        IssueRecord(1, "street_vending", "patrol", _local(11, 3, 9), community_code="C1",
                    township_code="T1"),
    ]  # fmt: skip  # one record per line, as worked out by hand
    points = [
        # P1: first 0 (must-pass failed), last in November 75 → 2 × 0.25 = 0.5
        _pt("P1", 0.0, False, _local(11, 2, 10), "C1", "T1"),
        _pt("P1", 75.0, True, _local(11, 20, 10), "C1", "T1"),
        _pt("P2", 100.0, True, _local(11, 5, 10), "C1", "T1"),  # costs nothing
        _pt("P3", 25.0, False, _local(11, 6, 10), "C2", "T1"),  # 2 × 0.75 = 1.5
        _pt("P3", 100.0, True, _local(10, 30, 10), "C2", "T1"),  # October: not counted
        _pt("P4", 50.0, False, _local(11, 7, 10), None, "T2"),  # a township without grids
    ]
    comms = [UnitRef("C1", "甲社区", "T1", 3), UnitRef("C2", "乙社区", "T1", 1)]
    by = {
        s.code: s
        for s in compute_scores(issues, sheqi_rules, nov, "community", comms, points=points)
    }
    assert by["C1"].points == pytest.approx(100 - 1.5 - 0.5)  # street_vending 1.5
    assert by["C2"].points == pytest.approx(100 - 1.5)
    assert [i.ref for i in by["C1"].items if i.rule == "point"] == ["P1"]
    towns = [UnitRef("T1", "甲镇"), UnitRef("T2", "乙镇")]
    t = {
        s.code: s
        for s in compute_scores(
            issues, sheqi_rules, nov, "township", towns, communities=comms, points=points
        )
    }
    # weighted by unit grids (3 and 1): (3 × 98 + 1 × 98.5) / 4
    assert t["T1"].points == pytest.approx(98.125)
    # T2 has no community grids: scored from its own point, sampled by it
    assert t["T2"].sampled and t["T2"].points == pytest.approx(100 - 1.0)
    # without the points rule, points count for nothing
    plain = sheqi_rules.model_copy(update={"points": None})
    got = compute_scores(issues, plain, nov, "community", comms, points=points)
    assert {s.code: s.points for s in got} == {"C1": 98.5, "C2": 100.0}


def test_points_section_by_hand():
    at = _local(11, 9, 10)
    pts = [
        _pt("P1", 100.0, True, at, "C1", unit_key="D05", unit_name="甲局"),
        _pt("P2", 0.0, False, at, "C1", unit_key="D05", unit_name="甲局",
            failed=(("SC-02", "公平秤"),)),
        _pt("P3", 66.6667, True, at, "C2", unit_key="D07", unit_name="乙局",
            failed=(("SC-03", "地面"),)),
        PointRecord("T1", "厕所", "public_toilet", "公共厕所", at, 0.0, False,
                    failed=(("GC-01", "保洁"), ("SC-02x", "x")), unit_key="D07", unit_name="乙局"),
    ]  # fmt: skip  # one record per line, as worked out by hand
    s = points_section(
        pts, [("market", "农贸市场"), ("public_toilet", "公共厕所"), ("park", "公园")]
    )
    rows = {r["point_type"]: r for r in s["by_type"]}
    assert (rows["market"]["inspected"], rows["market"]["passed"]) == (3, 2)
    assert rows["market"]["pass_rate"] == 66.7
    assert rows["public_toilet"]["pass_rate"] == 0.0
    assert rows["park"]["inspected"] == 0 and rows["park"]["pass_rate"] is None
    assert (s["inspected"], s["passed"], s["pass_rate"]) == (4, 2, 50.0)
    units = {u["unit_key"]: [p["code"] for p in u["points"]] for u in s["failing_by_unit"]}
    assert units == {"D05": ["P2"], "D07": ["T1"]}
    assert [p["code"] for p in s["worst"][:2]] == ["P2", "T1"]


# --------------------------------------------------------------------------- database


def _square(store, code: str) -> str:
    with store.session() as s:
        area = next(a for a in store.areas(layer="community", session=s) if a.code == code)
        p = area.geom.representative_point()
    d = 0.0004
    x, y = p.x, p.y
    return f"POLYGON(({x} {y},{x + d} {y},{x + d} {y + d},{x} {y + d},{x} {y}))"


def _marks(failed: tuple[str, ...], codes=MARKET) -> list[ItemMark]:
    return [
        ItemMark(c, c not in failed, photos=(PNG,) if c in failed else (), note=None) for c in codes
    ]


@pytest.fixture
def sqlite_demo(request, tmp_path):
    """The demo county on SQLite (scores do not depend on the backend)."""
    yield from demo_store_copy("sqlite", request, tmp_path)


@pytest.fixture
def inspected(sqlite_demo, tmp_path):
    """Three demo markets inspected in November 2026 (hand-made results)."""
    store = sqlite_demo
    reg = StandardsRegistry.with_shipped()
    version = reg.version_on("sheqi", date(2026, 11, 1))
    rows = [
        ("PTA", "甲市场", A, "D05"),
        ("PTB", "乙市场", B, "D05"),
        ("PTC", "丙市场", C, "D07"),
    ]
    f = tmp_path / "p.csv"
    f.write_text(
        "code,name,point_type,responsible_unit,must_check,geometry\n"
        + "".join(f'{c},{n},market,{u},是,"{_square(store, comm)}"\n' for c, n, comm, u in rows),
        encoding="utf-8",
    )
    assert import_points(store, f, version, commit=True).committed

    def inspect(code, failed, at):
        cfg = IssueConfig(photo_dir=tmp_path / "photos", clock=lambda: at)
        with store.session() as s:
            data = InspectionInput(code, _marks(failed), at)
            record_inspection(s, store, INSPECTOR, version, data, config=cfg)
            s.commit()

    inspect("PTA", ("SC-02", "SC-03"), _local(11, 9, 10))  # 不达标; two issues
    inspect("PTA", ("SC-03",), _local(11, 10, 9))  # last: 达标, score 100 × 2/3
    inspect("PTB", ("SC-02",), _local(11, 9, 11))  # 不达标, score 0; one issue
    inspect("PTC", (), _local(11, 9, 14))  # 达标, 100; no issue
    return store, reg


def test_sheqi_monthly_score_and_bulletin_points_section(inspected):
    store, reg = inspected
    nov = Period.parse("2026-11")
    with store.session() as s:
        ctx = ScoringContext(
            store, s, RuleRegistry.with_shipped(), "sheqi", now=_local(11, 10, 12), standards=reg
        )
        comm = {x.code: x for x in ctx.scores(nov, "community")}
        # A: two issues (1 each: markets and market_order are not weighted), the point
        # last scored 66.67 → 2 × (1/3) = 0.6667
        assert comm[A].points == pytest.approx(100 - 1 - 1 - 2 / 3, abs=1e-4)
        # B: one issue and a point scoring 0 → 2
        assert comm[B].points == pytest.approx(100 - 1 - 2)
        # C: no issue, sampled by its point inspection alone, full marks
        assert comm[C].sampled and comm[C].points == 100.0
        # the other communities were not sampled (no patrol, no inspection)
        assert not any(x.sampled for code, x in comm.items() if code not in (A, B, C))
        assert comm[C].rank == 1 and comm[A].rank == 2 and comm[B].rank == 3
        grids = {u.code: u.grids or 1 for u in ctx.units("community")}
        town = next(x for x in ctx.scores(nov, "township") if x.code == TOWN)
        want = sum(grids[c] * comm[c].points for c in (A, B, C)) / sum(grids[c] for c in (A, B, C))
        assert town.points == pytest.approx(want, abs=1e-4)

        content = build_bulletin(ctx, nov)
        pts = content["points"]
        market = next(r for r in pts["by_type"] if r["point_type"] == "market")
        assert (market["inspected"], market["passed"], market["pass_rate"]) == (3, 2, 66.7)
        assert pts["failing_by_unit"] == [
            {
                "unit_key": "D05",
                "unit_name": pts["failing_by_unit"][0]["unit_name"],
                "points": [pts["worst"][0]],
            }
        ]
        assert pts["worst"][0]["code"] == "PTB" and pts["worst"][0]["score"] == 0.0
        assert [i["code"] for i in pts["worst"][0]["failed_items"]] == ["SC-02"]
        assert pts["failed_items"] == [
            {"code": c, "text": t, "count": 1}
            for c, t in sorted(
                (it.code, it.text)
                for it in reg.version_on("sheqi", date(2026, 11, 1)).point_type("market").items
                if it.code in ("SC-02", "SC-03")
            )
        ]
        html = bulletin_html(content)
        assert "实地考察点位抽查情况" in html and "乙市场" in html and "66.7" in html
        wb = load_workbook(io.BytesIO(bulletin_xlsx(content)))
        failing = [r for r in wb["不达标点位"].iter_rows(min_row=3, values_only=True)]
        assert [(r[1], r[4], r[5]) for r in failing] == [("乙市场", "是", 0)]
        types = {r[0]: r[1:] for r in wb["点位抽查"].iter_rows(min_row=3, values_only=True)}
        assert types["农贸市场"] == (3, 2, 1, 66.7)
