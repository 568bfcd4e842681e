"""Back-fill of historical issues (bulk engine) and the season simulation."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from civgrid.geo.crs import from_wgs84
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.demo.season import simulate
from civgrid.grids.issues.backfill import backfill_issues
from civgrid.grids.issues.models import Issue, IssueEvent
from support.issue_helpers import COMPOUND, offset, point_in


def _write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _history(store, n=40):
    lon, lat = point_in(store, COMPOUND)
    t0 = datetime(2024, 5, 1, 9, 0)
    rows = []
    for i in range(n):
        x, y = offset(lon, lat, (i % 8) * 70.0, (i // 8) * 70.0)
        gx, gy = from_wgs84(x, y, "gcj02")
        rep = t0 + timedelta(days=i)
        rows.append(
            {
                "问题编号": f"H{i:03d}",
                "经度": f"{gx:.7f}",
                "纬度": f"{gy:.7f}",
                "问题类别": "乱堆乱倒" if i % 2 else "street_vending",
                "问题来源": "网格员上报",
                "发现时间": rep.strftime("%Y-%m-%d %H:%M"),
                "办理状态": "已结案" if i % 5 != 1 else "整改中",
                "结案时间": (rep + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
                "问题描述": f"历史问题{i}",
            }
        )
    return rows, (lon, lat)


def test_backfill_dry_run_commit_and_rerun(store, config, tmp_path):
    rows, (lon, lat) = _history(store)
    # a repeat at the first place, 10 days after it closed: a recurrence
    again = dict(rows[0], 问题编号="H999", 发现时间="2024-05-12 10:00", 办理状态="整改中")
    rows.append(again)
    bad = dict(rows[1], 问题编号="BAD", 问题类别="外星人", 经度="abc")
    path = tmp_path / "history.csv"
    _write_csv(path, [*rows, bad], encoding="gbk")
    report = backfill_issues(store, path, crs="gcj02", config=config)
    assert report.rows == 42 and report.valid == 41 and not report.committed
    assert {p["field"] for p in report.problems} >= {"问题类别"}
    assert all(p["row"] == 43 for p in report.problems)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 0
    with pytest.raises(InvalidInputError, match="nothing written"):
        backfill_issues(store, path, crs="gcj02", config=config, commit=True)

    _write_csv(path, rows, encoding="gbk")
    report = backfill_issues(store, path, crs="gcj02", config=config, commit=True)
    assert report.committed and report.written == 41, report.to_text()
    assert report.recurrences >= 1
    with store.session() as s:
        first = s.scalar(select(Issue).where(Issue.idempotency_key == "import:H000"))
        assert first.unit_grid_code == COMPOUND and first.state == "closed"
        assert abs(first.lon - lon) < 1e-5 and abs(first.lat - lat) < 1e-5
        assert first.owner_unit is not None and first.routing["unit_grid"]["code"] == COMPOUND
        rec = s.scalar(select(Issue).where(Issue.idempotency_key == "import:H999"))
        assert rec.recurrence_of_id == first.id and rec.repeat_count == 1
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 41
        # the same answer as a live report at that point
        expected = store.responsible_for(first.lon, first.lat, "street_vending", session=s)
        owner = expected.owner.key
        assert first.owner_unit.key == owner
    again_report = backfill_issues(store, path, crs="gcj02", config=config, commit=True)
    assert again_report.already_imported == 41 and again_report.written == 0


def test_backfill_xlsx_missing_column(store, config, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["经度", "纬度", "发现时间"])
    wb.active.append([112.95, 33.05, "2024-05-01"])
    path = tmp_path / "h.xlsx"
    wb.save(path)
    with pytest.raises(InvalidInputError, match="missing column") as info:
        backfill_issues(store, path, config=config)
    assert info.value.context["field"] == "category"


def test_simulated_season_goes_through_the_domain(store, config):
    end = datetime(2025, 6, 30, 10, 0, tzinfo=UTC)
    rep = simulate(store, days=12, seed=7, config=config, end=end, per_day=8)
    assert rep.reports > 40
    assert rep.states["closed"] > 0 and rep.returns > 0 and rep.notices > 0
    assert rep.recurrences + rep.duplicates > 0
    with store.session() as s:
        n = s.scalar(select(func.count()).select_from(Issue))
        assert n == rep.reports
        reported = s.scalars(select(Issue.reported_at)).all()
        assert min(reported) >= end - timedelta(days=13) and max(reported) <= end
        # every issue has its report event first
        firsts = s.execute(
            select(IssueEvent.issue_id, func.min(IssueEvent.id)).group_by(IssueEvent.issue_id)
        ).all()
        actions = dict(s.execute(select(IssueEvent.id, IssueEvent.action)).all())
        assert {actions[i] for _, i in firsts} == {"report"}


def test_cli_import_issues_and_lists(store, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from civgrid.api.cli import issues as cli_issues

    app = typer.Typer()
    app.add_typer(cli_issues.issues_app, name="issues")
    url = store.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path))
    rows, _ = _history(store, 12)
    path = tmp_path / "h.csv"
    _write_csv(path, rows)
    runner = CliRunner()
    r = runner.invoke(app, ["issues", "import", str(path), "--crs", "gcj02", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert "12 valid" in r.output and "Dry run" in r.output
    r = runner.invoke(
        app, ["issues", "import", str(path), "--crs", "gcj02", "--commit", "--database-url", url]
    )
    assert r.exit_code == 0 and "12 issues written" in r.output, r.output
    out = tmp_path / "lists.xlsx"
    r = runner.invoke(app, ["issues", "lists", str(out), "--database-url", url])
    assert r.exit_code == 0 and out.exists() and "问题清单 12" in r.output, r.output


def test_backfill_duplicate_id_in_file_is_a_problem_not_a_failed_write(store, config, tmp_path):
    """An id twice in one file: the dry run names the later row (the commit used to
    pass the dry run and then fail on the unique idempotency key)."""
    rows, _ = _history(store, n=6)
    rows[4]["问题编号"] = " H001 "  # the same id as row 3 (file row), spaces around it
    path = tmp_path / "dup.csv"
    _write_csv(path, rows)
    report = backfill_issues(store, path, crs="gcj02", config=config)
    assert report.valid == 5 and not report.ok
    assert report.problems == [
        {"row": 6, "field": "问题编号", "message": "duplicate id 'H001' (also row 3)"}
    ]
    with pytest.raises(InvalidInputError, match="row 6"):
        backfill_issues(store, path, crs="gcj02", config=config, commit=True)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Issue)) == 0


def test_backfill_swapped_point_names_both_columns(store, config, tmp_path):
    rows, _ = _history(store, n=3)
    rows[1]["经度"], rows[1]["纬度"] = rows[1]["纬度"], rows[1]["经度"]
    path = tmp_path / "swapped.csv"
    _write_csv(path, rows)
    report = backfill_issues(store, path, crs="gcj02", config=config)
    assert [(p["row"], p["field"]) for p in report.problems] == [(3, "经度/纬度")]


def test_read_csv_keeps_line_breaks_and_separators_inside_cells(tmp_path):
    """A description typed with Alt+Enter (a quoted cell over two lines) or holding a
    line/page separator stays one cell of one record (str.splitlines split records)."""
    from civgrid.grids.issues.backfill import read_issue_table

    path = tmp_path / "cells.csv"
    texts = ["第一行\n第二行", "含\u2028分隔符", "换页\x0c符", "回车\r\n换行"]
    _write_csv(path, [{"问题编号": f"A{i}", "问题描述": t} for i, t in enumerate(texts)])
    rows = read_issue_table(path)
    assert [r["问题描述"] for r in rows] == texts
    assert [r["问题编号"] for r in rows] == ["A0", "A1", "A2", "A3"]
