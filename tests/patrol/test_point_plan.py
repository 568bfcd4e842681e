"""The monthly patrol plan samples the field-assessment points (issue 23).

Done when: "The patrol plan for a month contains every must-check point and a third of
the rest (±1), and every point within a quarter" — checked on the plans themselves
(:func:`compute_plan` of the three months of a quarter), and a failed point is
re-visited first (in the first half of the month).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.photos import PhotoInput
from civgrid.grids.patrol.plan import PatrolSettings, compute_plan, reasons_zh
from civgrid.grids.patrol.routes import target_names, target_point
from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection
from civgrid.grids.points.standards import StandardsRegistry

PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "item.png", "image/png")


def test_plan_samples_points_by_thirds_and_must_check_monthly(sqlite_store, tmp_path):
    from civgrid.grids.demo.points import load_demo_points

    store = sqlite_store
    version = StandardsRegistry.with_shipped().version_on("sheqi", date(2026, 10, 1))
    assert load_demo_points(store, version).committed
    with store.session() as s:
        points = {p.code: p for p in s.scalars(select(AssessmentPoint))}
        must = {c for c, p in points.items() if p.must_check}
        rest = set(points) - must
        assert must and len(rest) > 30
        # a non-must-check point fails its inspection: it is re-visited first
        bad = sorted(rest)[0]
        ptype = version.point_type(points[bad].point_type)
        at = datetime(2026, 9, 20, 2, tzinfo=UTC)
        marks = [ItemMark(it.code, False, photos=(PNG,)) for it in ptype.items]  # 不达标
        cfg = IssueConfig(photo_dir=tmp_path / "photos", clock=lambda: at + timedelta(minutes=5))
        data = InspectionInput(bad, marks, at)
        record_inspection(s, store, Actor("督查员", "inspector"), version, data, config=cfg)
        s.commit()

        roomy = PatrolSettings(capacity_per_day=40)
        seen: set[str] = set()
        for month in ("2026-10", "2026-11", "2026-12"):
            plan = compute_plan(s, store, month, roomy)
            visits = [v for v in plan.visits if v["kind"] == "assessment_point"]
            codes = [v["target_code"] for v in visits]
            assert len(codes) == len(set(codes))  # one visit per point
            got = set(codes)
            assert must <= got, f"{month}: a must-check point is missing"
            assert abs(len(got - must) - len(rest) / 3) <= 1, month
            assert plan.summary["points"]["codes"] == sorted(got)
            assert not [u for u in plan.unscheduled if u["kind"] == "assessment_point"]
            # a visit carries the point's community and its reasons in Chinese
            v = visits[0]
            assert v["community_code"] == points[v["target_code"]].community_code
            assert reasons_zh(v["reasons"])[0].startswith(("必查点位", "实地考察点位月度抽查"))
            if bad in got:
                failed = next(v for v in visits if v["target_code"] == bad)
                assert failed["day"] <= date(int(month[:4]), int(month[5:]), 16)
                assert "上次检查不达标：优先复查" in reasons_zh(failed["reasons"])
            seen |= got - must
        assert seen == rest  # every point within the quarter
        # the route and the names know point targets
        names = target_names(s, [("assessment_point", bad)])
        assert names[("assessment_point", bad)] == points[bad].name
        lon, _ = target_point(store, s, "assessment_point", bad)
        assert points[bad].min_lon - 1e-9 <= lon <= points[bad].max_lon + 1e-9
