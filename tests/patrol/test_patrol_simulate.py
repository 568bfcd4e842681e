"""The demo season also simulates leaders' visits (so leader pages show them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from civgrid.grids.core.calendar import WorkingCalendar
from civgrid.grids.demo.patrol import simulate_leader_visits
from civgrid.grids.patrol.models import LeaderVisit


def test_simulated_leader_visits(sqlite_store):
    with sqlite_store.session() as s:
        n = simulate_leader_visits(s, date(2026, 10, 1), date(2026, 12, 31))
        visits = s.scalars(select(LeaderVisit)).all()
        assert len(visits) == n > 0
        assert all(date(2026, 10, 1) <= v.day <= date(2026, 12, 31) for v in visits)
        cal = WorkingCalendar.china()  # 国庆 1–7 Oct off, Saturday 10 Oct worked (调休)
        assert all(cal.is_working_day(v.day) for v in visits)
        assert not any(date(2026, 10, 1) <= v.day <= date(2026, 10, 7) for v in visits)
        assert all(v.day.day <= 10 for v in visits if v.kind == "office_hours")
        leaders = {v.leader_key for v in visits}
        assert len(leaders) == 14  # every leader with a contracted community
        s.rollback()
        again = simulate_leader_visits(s, date(2026, 10, 1), date(2026, 12, 31))
        assert again == n  # seeded


def test_simulate_adds_leader_visits(sqlite_store):
    from civgrid.grids.demo.season import simulate

    sqlite_store.rebuild_index()
    simulate(sqlite_store, days=3, end=datetime(2026, 12, 4, 10, tzinfo=UTC))
    with sqlite_store.session() as s:
        days = {v.day for v in s.scalars(select(LeaderVisit))}
    assert days and all(date(2026, 12, 1) <= d <= date(2026, 12, 4) for d in days)
