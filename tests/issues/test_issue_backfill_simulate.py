"""Back-fill of historical issues (bulk engine) and the season simulation."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from civgrid.geo.crs import from_wgs84
from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.demo.season import simulate
from civgrid.grids.issues.backfill import backfill_issues
from civgrid.grids.issues.models import Issue, IssueEvent
from support.issue_helpers import COMPOUND, OUTSIDE, offset, point_in


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


def _xlsx(path, rows, cached=None):
    """``rows`` as an .xlsx written by openpyxl (a formula gets no stored value), then
    ``cached`` ({cell: (t, value)}) stored into those formula cells as Excel would."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(list(rows[0]))
    for r in rows:
        wb.active.append(list(r.values()))
    wb.save(path)
    if not cached:
        return
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, (t, value) in cached.items():
        xml, n = re.subn(
            rf'<c r="{ref}"([^>]*)>(<f>.*?</f>)<v\s*(?:/>|></v>)',
            rf'<c r="{ref}"\1 t="{t}">\2<v>{value}</v>',
            xml,
        )
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_backfill_xlsx_formula_without_stored_value_is_a_problem(store, config, tmp_path):
    """A formula saved without its value (a generated file never opened in Excel) read
    as an empty cell: the description was dropped, the time reported as missing."""
    rows, _ = _history(store, n=6)
    for r in rows:
        r["备注"] = None
    rows[1]["问题描述"] = '="历史问题"&A3'  # row 3, column I: no stored value
    rows[2]["发现时间"] = '=TEXT(NOW(),"yyyy-mm-dd")'  # row 4, column F
    rows[3]["问题描述"] = '="缓存"&A5'  # row 5: Excel stored the value
    rows[4]["问题描述"] = '=IF(TRUE,"","x")'  # row 6: stored as an empty text
    rows[5]["备注"] = "=1/0"  # a column the back-fill does not read
    path = tmp_path / "formulas.xlsx"
    _xlsx(path, rows, cached={"I5": ("str", "缓存的描述"), "I6": ("str", "")})
    report = backfill_issues(store, path, crs="gcj02", config=config)
    advice = "open and save the file in Excel/WPS, or paste values"
    assert report.problems == [
        {
            "row": 3,
            "field": "问题描述",
            "message": f'formula without a stored value in cell I3: ="历史问题"&A3; {advice}',
        },
        {
            "row": 4,
            "field": "发现时间",
            "message": f'formula without a stored value in cell F4: =TEXT(NOW(),"yyyy-mm-dd"); '
            f"{advice}",
        },
    ]
    assert report.valid == 4
    del rows[1:3]
    path = tmp_path / "formulas_ok.xlsx"
    _xlsx(path, rows, cached={"I3": ("str", "缓存的描述"), "I4": ("str", "")})
    report = backfill_issues(store, path, crs="gcj02", config=config, commit=True)
    assert report.written == 4, report.to_text()
    with store.session() as s:
        got = dict(s.execute(select(Issue.idempotency_key, Issue.description)).all())
    assert got["import:H003"] == "缓存的描述" and got["import:H004"] is None


def test_backfill_lists_rows_outside_the_county_and_zero_is_no_location(store, config, tmp_path):
    rows, _ = _history(store, n=30)
    far = list(range(3, 27))  # 24 rows outside the county: 20 listed, 4 counted
    for i in far:
        x, y = from_wgs84(*offset(*OUTSIDE, 50.0 * i, 0.0), "gcj02")
        rows[i]["经度"], rows[i]["纬度"] = f"{x:.7f}", f"{y:.7f}"
    rows[1]["经度"], rows[1]["纬度"] = "0", "0.0"  # no location, not a place in the sea
    rows[2]["经度"] = "0"  # one zero: a point (outside), as before
    path = tmp_path / "outside.csv"
    _write_csv(path, rows)
    report = backfill_issues(store, path, crs="gcj02", config=config)
    assert report.problems == [
        {"row": 3, "field": "经度/纬度", "message": "coordinates 0,0: missing location"}
    ]
    want = [4] + [i + 2 for i in far]
    assert report.outside == 25 and report.outside_rows == want
    text = report.to_text()
    listed = ", ".join(map(str, want[:20]))
    assert f"  outside the county, rows {listed} … and 5 more" in text, text


def test_backfill_xlsx_formula_scan_reads_prefixes_and_cells_without_references():
    """The sniff and the scan of a sheet's XML as other writers spell it: an ``x:``
    prefix, cells and rows without ``r``, a shared formula's followers, a tag cut
    between two reads."""
    import io

    from civgrid.grids.issues.backfill import _blank_formulas, _FormulaSniff

    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (
        f'<x:worksheet xmlns:x="{ns}"><x:sheetData>'
        '<x:row><x:c t="s"><x:v>0</x:v></x:c></x:row>'
        '<x:row><x:c><x:f t="shared" ref="A2:A3" si="0">B2*2</x:f></x:c>'
        '<x:c t="str"><x:f>IF(1,"","")</x:f><x:v></x:v></x:c>'
        "<x:c><x:f>1+1</x:f><x:v>2</x:v></x:c></x:row>"
        '<x:row r="5"><x:c r="A5"><x:f t="shared" si="0"/></x:c>'
        '<x:c r="D5"><x:f>C5</x:f><x:v/></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    ).encode()
    assert list(_blank_formulas(io.BytesIO(xml))) == [(2, 1, "B2*2"), (5, 1, ""), (5, 4, "C5")]
    cut = xml.index(b"<x:f") + 2
    sniff = _FormulaSniff(io.BytesIO(xml))
    assert sniff.read(cut) and not sniff.found
    sniff.read(-1)
    assert sniff.found
    plain = b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
    sniff = _FormulaSniff(io.BytesIO(plain + b"<autoFilter><filterColumn/></autoFilter>"))
    sniff.read(-1)
    assert not sniff.found
