"""The one time zone: set it once (set_time_zone) and scoring periods and patrol days follow.

America/New_York is 13 hours behind Asia/Shanghai in December: at 2026-12-01 02:00 UTC it
is already 1 December (10:00) in Shanghai but still 30 November (21:00) in New York.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from civgrid.grids.core.calendar import DEFAULT_TZ, local_zone, set_time_zone
from civgrid.grids.core.city import set_city

#: 1 December in Shanghai, 30 November in New York.
INSTANT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ZONE = "America/New_York"


@pytest.fixture
def new_york():
    set_time_zone(ZONE)
    yield
    set_city(None)  # back to the default city and its zone
    assert local_zone().key == DEFAULT_TZ


def _record(at: datetime):
    from civgrid.grids.scoring.score import IssueRecord

    return IssueRecord(id=1, category_code="dumping", source="grid_worker", reported_at=at)


def test_default_zone_counts_the_instant_in_december():
    from civgrid.grids.scoring.score import Period, in_period

    assert local_zone().key == DEFAULT_TZ
    assert Period.parse("2026-12").start_utc == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert in_period(_record(INSTANT), Period.parse("2026-12"))


def test_scoring_period_follows_the_zone(new_york):
    from civgrid.api.cli.scoring import parse_as_of
    from civgrid.grids.scoring.score import Period, in_period

    dec, nov = Period.parse("2026-12"), Period.parse("2026-11")
    assert dec.start_utc == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # midnight EST
    assert nov.end_utc == dec.start_utc
    rec = _record(INSTANT)
    assert in_period(rec, nov) and not in_period(rec, dec)  # counted in November there
    # --as-of a date: the end of that day in the county's zone
    assert parse_as_of("2026-11-30") == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_patrol_day_follows_the_zone(new_york):
    from civgrid.grids.core.calendar import local_today
    from civgrid.grids.patrol.coverage import _seen_index

    rows = [("T1", INSTANT, "2026-11", {"communities": {"C1": {"fixes": 3}}})]
    seen = _seen_index(rows, 0.8)
    assert list(seen) == [date(2026, 11, 30)]  # the track's local day in New York
    assert seen[date(2026, 11, 30)]["communities"]["C1"] == {"T1"}
    assert local_today() == datetime.now(UTC).astimezone(local_zone()).date()


def test_patrol_day_default_zone():
    from civgrid.grids.patrol.coverage import _seen_index

    rows = [("T1", INSTANT, "2026-12", {"communities": {"C1": {"fixes": 3}}})]
    assert list(_seen_index(rows, 0.8)) == [date(2026, 12, 1)]
