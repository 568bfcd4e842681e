"""The leader page says whether the month's cadences were kept (Sheqi 上旬 office hours,
Lüliang two site inspections)."""

from __future__ import annotations

from civgrid.maps.pages import cadence_verdicts, visits_html

NONE = {
    "office_hours": 0,
    "office_hours_first_ten_days": False,
    "site_inspections": 0,
    "site_inspections_ok": False,
}


def test_running_month_before_and_after_the_tenth():
    assert cadence_verdicts(NONE, 6) == [
        ("due", "现场办公（每月上旬）：待完成"),
        ("due", "实地察看（每月至少两次）：0 次，尚差 2 次"),
    ]
    late = cadence_verdicts({**NONE, "site_inspections": 1}, 11)
    assert late == [
        ("missed", "现场办公（每月上旬）：未按时完成"),
        ("due", "实地察看（每月至少两次）：1 次，尚差 1 次"),
    ]


def test_kept_and_ended_month():
    kept = {
        "office_hours": 1,
        "office_hours_first_ten_days": True,
        "site_inspections": 3,
        "site_inspections_ok": True,
    }
    assert [s for s, _ in cadence_verdicts(kept, 25)] == ["ok", "ok"]
    assert "3 次，已达标" in cadence_verdicts(kept, 25)[1][1]
    ended = cadence_verdicts({**NONE, "site_inspections": 1}, 99)
    assert ended == [
        ("missed", "现场办公（每月上旬）：未按时完成"),
        ("missed", "实地察看（每月至少两次）：1 次，缺 1 次"),
    ]
    assert cadence_verdicts(None, 5) == []


def test_the_section_shows_the_verdicts_even_without_visits():
    html = visits_html([], "2026年12月", cadence_verdicts(NONE, 12))
    assert 'id="cg-cadence"' in html and 'class="cg-cadence-missed"' in html
    assert "暂无记录" in html
