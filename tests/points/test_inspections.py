"""Inspections against the checklist (issue 23): every item or nothing; two failed items
make exactly two issues at the point owned by its responsible unit; re-inspection closes
the passed one and returns the other; the point is 不达标 until both pass; a resend with
the same Idempotency-Key creates nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.core.actors import Actor
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.issues import actions
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.member_sets import with_place
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.points.compliance import history, statuses
from civgrid.grids.points.imports import import_points
from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection
from civgrid.grids.points.models import PointInspection
from civgrid.grids.points.standards import load_standards_text
from support.point_fixtures import PNG, SQUARE, STANDARD

INSPECTOR = Actor("督查员甲", "inspector")


def _market(store, tmp_path):
    version = load_standards_text(STANDARD, "t.yaml").versions[0]
    f = tmp_path / "p.csv"
    f.write_text(
        f'code,name,point_type,responsible_unit,must_check,geometry\nPT1,测试市场,market,D05,是,"{SQUARE}"\n',
        encoding="utf-8",
    )
    assert import_points(store, f, version, commit=True).committed
    return store, version


@pytest.fixture
def market(demo_store, tmp_path):
    """The demo county with one market point (PT1, 包保单位 D05) and the test standard."""
    return _market(demo_store, tmp_path)


@pytest.fixture
def sqlite_market(sqlite_demo, tmp_path):
    """:func:`market` on SQLite only (refusals do not depend on the backend)."""
    return _market(sqlite_demo, tmp_path)


def _marks(failed: dict[str, bool]) -> list[ItemMark]:
    """Every item; those in ``failed`` fail (with a photo when the value is True)."""
    return [
        ItemMark(
            c,
            c not in failed,
            note="见照片" if c in failed else None,
            photos=(PNG,) if failed.get(c) else (),
        )
        for c in ("M-1", "M-2", "M-3", "M-4")
    ]


def _counts(s) -> tuple[int, int]:
    return (
        s.scalar(select(func.count()).select_from(PointInspection)),
        s.scalar(select(func.count()).select_from(Issue)),
    )


def test_two_failures_two_issues_reinspection_and_resend(market, tmp_path):
    store, version = market
    t0 = datetime.now(UTC) - timedelta(days=3)
    cfg = IssueConfig(photo_dir=tmp_path / "photos")
    with store.session() as s:
        before = _counts(s)
        first = InspectionInput("PT1", _marks({"M-2": True, "M-3": True}), t0, 112.9495, 33.06, 8)
        r1 = record_inspection(
            s, store, INSPECTOR, version, first, idempotency_key="k1", config=cfg
        )
        assert r1.created and len(r1.opened) == 2
        assert _counts(s) == (before[0] + 1, before[1] + 2)  # exactly two issues
        issues = [s.get(Issue, i) for i in r1.opened]
        assert sorted(i.category_code for i in issues) == ["market_order", "street_vending"]
        assert {i.owner_unit.key for i in issues} == {"D05"}
        assert all(i.deadline is not None for i in issues)  # the normal deadline
        at_point = set(
            s.scalars(
                select(Issue.id).where(
                    with_place(
                        PlaceSetMember.layer == "assessment_point", PlaceSetMember.code == "PT1"
                    )
                )
            )
        )
        assert set(r1.opened) <= at_point
        point = s.scalars(select(AssessmentPoint).where(AssessmentPoint.code == "PT1")).one()
        st = statuses(s, [point])["PT1"]
        assert (st.compliance, st.label, st.failed) == ("non_compliant", "不达标", ("M-2", "M-3"))
        assert r1.inspection.deductions == 1.0  # M-3; M-2 is must-pass
        # a phone resends the same inspection: nothing new
        again = record_inspection(
            s, store, INSPECTOR, version, first, idempotency_key="k1", config=cfg
        )
        assert not again.created and again.inspection.id == r1.inspection.id
        assert _counts(s) == (before[0] + 1, before[1] + 2)
        # the unit fixes both and reports the fixes
        owner = Actor("市场监管局联络员", "unit", "D05")
        for i in r1.opened:
            actions.accept(s, owner, i, config=cfg)
            actions.submit(s, owner, i, photos=[PNG], note="已整改", config=cfg)
        # re-inspection: M-2 passes (its issue closes), M-3 fails again (returned, still open)
        second = InspectionInput("PT1", _marks({"M-3": True}), t0 + timedelta(days=1))
        r2 = record_inspection(s, store, INSPECTOR, version, second, config=cfg)
        m2_issue, m3_issue = (
            next(i for i in issues if i.category_code == c)
            for c in ("market_order", "street_vending")
        )
        assert r2.closed == [m2_issue.id] and r2.returned == [m3_issue.id] and r2.opened == []
        s.refresh(m2_issue)
        s.refresh(m3_issue)
        assert (m2_issue.state, m3_issue.state) == ("closed", "returned")
        assert statuses(s, [point])["PT1"].compliance == "non_compliant"  # until both pass
        assert _counts(s)[1] == before[1] + 2
        # both pass: compliant; the returned issue waits for its fix (not closed by fiat)
        third = InspectionInput("PT1", _marks({}), t0 + timedelta(days=2))
        r3 = record_inspection(s, store, INSPECTOR, version, third, config=cfg)
        assert r3.awaiting_fix == [m3_issue.id] and r3.inspection.compliant
        st = statuses(s, [point])["PT1"]
        assert (st.compliance, st.failed) == ("compliant", ())
        assert [h.compliance for h in history(s, point)] == [
            "compliant",
            "non_compliant",
            "non_compliant",
        ]


@pytest.mark.parametrize(
    ("marks", "field", "message"),
    [
        (_marks({})[:3], "items", "missing: M-4"),
        (_marks({"M-1": False}), "items[0].photos", "photo is required"),
        ([*_marks({}), ItemMark("M-1", True)], "items[4].code", "marked twice"),
        ([*_marks({})[:3], ItemMark("X-9", True)], "items[3].code", "not on the checklist"),
    ],
    ids=["missing-item", "missing-photo", "twice", "unknown-item"],
)
def test_a_refused_inspection_stores_nothing(sqlite_market, tmp_path, marks, field, message):
    store, version = sqlite_market
    cfg = IssueConfig(photo_dir=tmp_path / "photos")
    with store.session() as s:
        before = _counts(s)
        with pytest.raises(InvalidInputError, match=message) as exc:
            record_inspection(
                s, store, INSPECTOR, version, InspectionInput("PT1", marks), config=cfg
            )
        assert exc.value.context["field"] == field
        s.rollback()
        assert _counts(s) == before
    # an item whose failure needs no photo may fail without one
    with store.session() as s:
        ok = record_inspection(
            s, store, INSPECTOR, version, InspectionInput("PT1", _marks({"M-4": False})), config=cfg
        )
        assert len(ok.opened) == 1 and not ok.inspection.compliant


def test_cli_inspect_with_the_shipped_standard(sqlite_demo, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from civgrid.api.cli import app
    from civgrid.grids.points.standards import StandardsRegistry

    store = sqlite_demo
    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path / "var"))
    url = store.engine.url.render_as_string(hide_password=False)
    version = StandardsRegistry.with_shipped().version_on("sheqi", datetime.now(UTC).date())
    f = tmp_path / "p.csv"
    f.write_text(
        f'code,name,point_type,responsible_unit,geometry\nPT1,市场,农贸市场,D05,"{SQUARE}"\n'
    )
    assert import_points(store, f, version, commit=True).committed
    (tmp_path / "a.png").write_bytes(PNG.content)
    codes = [it.code for it in version.point_type("market").items]
    marks = [{"code": c, "passed": c != "SC-02"} for c in codes]
    marks[codes.index("SC-02")] |= {"note": "无公平秤", "photos": ["a.png"]}
    body = {"point": "PT1", "lon": 112.9495, "lat": 33.06, "accuracy_m": 5, "items": marks}
    (tmp_path / "i.json").write_text(json.dumps(body), encoding="utf-8")
    runner = CliRunner()
    args = ["points", "inspect", str(tmp_path / "i.json"), "--inspector", "督查员", "--db", url]
    r = runner.invoke(app, [*args, "--idempotency-key", "x1"])
    assert r.exit_code == 0 and "不达标" in r.output and "issues opened: " in r.output, r.output
    r = runner.invoke(app, [*args, "--idempotency-key", "x1"])
    assert r.exit_code == 0 and "already recorded" in r.output
    body["items"] = marks[1:]
    (tmp_path / "i.json").write_text(json.dumps(body), encoding="utf-8")
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and f"missing: {codes[0]}" in r.output
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(PointInspection)) == 1
    # the mock assessment from that inspection: one market point, SC-02 (must-pass) failed
    r = runner.invoke(app, ["points", "mock", "--seed", "3", "--db", url])
    assert r.exit_code == 0, r.output
    assert "predicted field score 0.00" in r.output and "fix point PT1: +100.00" in r.output
    saved = list((tmp_path / "var" / "mock_assessments").glob("mock-*-seed3.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["sample"] == ["PT1"]
    # exports: xlsx with Chinese headers and the status, GeoJSON with the geometry
    from openpyxl import load_workbook

    r = runner.invoke(app, ["points", "export", str(tmp_path / "p.xlsx"), "--db", url])
    assert r.exit_code == 0 and "(1 points)" in r.output, r.output
    rows = list(load_workbook(tmp_path / "p.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:3] == ("点位编号", "点位名称", "点位类型")
    assert rows[1][0] == "PT1" and rows[1][8] == "不达标" and rows[1][10] == "SC-02"
    r = runner.invoke(
        app,
        ["points", "export", str(tmp_path / "p.geojson"), "--compliance", "compliant", "--db", url],
    )
    assert r.exit_code == 0 and json.loads((tmp_path / "p.geojson").read_text())["features"] == []
