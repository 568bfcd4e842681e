"""A failed point inspection (不达标) writes the ``point_inspection_failed`` domain event in
the inspection's own transaction; notify expands it to the point's responsible unit
(包保单位). A passing inspection and a resend write none (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from civgrid.grids.core.actors import Actor
from civgrid.grids.core.outbox import DomainEvent
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.notify.expand import expand_pending
from civgrid.grids.notify.models import OutboxMessage
from civgrid.grids.points.imports import import_points
from civgrid.grids.points.inspections import InspectionInput, ItemMark, record_inspection
from civgrid.grids.points.models import PointInspection
from civgrid.grids.points.standards import load_standards_text
from support.notify_helpers import add_user
from support.point_fixtures import PNG, SQUARE, STANDARD

INSPECTOR = Actor("督查员甲", "inspector")


def _marks(failed: set[str]) -> list[ItemMark]:
    """Every item of the test market checklist (M-1..M-4); those in ``failed`` fail."""
    return [
        ItemMark(c, c not in failed, photos=(PNG,) if c in failed else ())
        for c in ("M-1", "M-2", "M-3", "M-4")
    ]


@pytest.fixture
def sqlite_market(sqlite_demo, tmp_path):
    """The demo county (SQLite) with one market point PT1 (包保单位 D05)."""
    version = load_standards_text(STANDARD, "t.yaml").versions[0]
    f = tmp_path / "p.csv"
    f.write_text(
        f'code,name,point_type,responsible_unit,geometry\nPT1,测试市场,market,D05,"{SQUARE}"\n',
        encoding="utf-8",
    )
    assert import_points(sqlite_demo, f, version, commit=True).committed
    return sqlite_demo, version


def _events(s) -> list[DomainEvent]:
    return list(s.scalars(select(DomainEvent).where(DomainEvent.kind == "point_inspection_failed")))


def test_failed_inspection_event_in_the_same_transaction(sqlite_market, tmp_path):
    store, version = sqlite_market
    t0 = datetime.now(UTC) - timedelta(days=2)
    cfg = IssueConfig(photo_dir=tmp_path / "photos")
    bad = InspectionInput("PT1", _marks({"M-2", "M-3"}), t0)
    # rolled back with the inspection: neither is stored
    with store.session() as s:
        record_inspection(s, store, INSPECTOR, version, bad, config=cfg)
        assert len(_events(s)) == 1  # pending in this transaction
        s.rollback()
    with store.session() as s:
        assert _events(s) == []
        assert s.scalar(select(func.count()).select_from(PointInspection)) == 0
    # committed with it: one event naming the point's responsible unit
    with store.session() as s:
        add_user(s, "unit_d05", "unit_handler", unit="D05")
        add_user(s, "unit_d06", "unit_handler", unit="D06")
        r = record_inspection(s, store, INSPECTOR, version, bad, idempotency_key="k", config=cfg)
        s.commit()
        (ev,) = _events(s)
        assert (ev.subject_kind, ev.subject_key) == ("point", "PT1")
        assert ev.payload["unit"] == "D05" and ev.payload["failed"] == ["M-2", "M-3"]
        assert ev.payload["inspection"] == r.inspection.id
        assert sorted(ev.payload["issues"]) == sorted(r.opened)
        # a resend stores nothing new; a passing inspection publishes nothing
        record_inspection(s, store, INSPECTOR, version, bad, idempotency_key="k", config=cfg)
        good = InspectionInput("PT1", _marks(set()), t0 + timedelta(hours=1))
        record_inspection(s, store, INSPECTOR, version, good, config=cfg)
        s.commit()
        assert len(_events(s)) == 1
        # notify: the unit (包保单位) and its handler hear it, no other unit
        expand_pending(s, datetime.now(UTC))
        s.commit()
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.event_id == ev.id)))
        assert {m.recipient for m in rows} == {"account:unit_d05"}  # in-app; no contacts
        msg = rows[0]
        assert msg.title == "点位检查不达标" and "测试市场" in msg.body and "M-2" in msg.body
