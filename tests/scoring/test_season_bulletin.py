"""The bulletins of the simulated demo season, through the CLI: xlsx read back, HTML written,
published once (and only after the month has ended), cases opened once.

Every command runs ``--as-of 2027-01-05`` (the season ends on 31 December)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from support.season import simulated_season

pytestmark = pytest.mark.slow
AS_OF = "2027-01-05"
#: The real clock of the CLI in these tests (publishing and cases check it): 6 January 2027.
REAL_NOW = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def season_url(tmp_path_factory):
    return simulated_season(tmp_path_factory.mktemp("season"))


@pytest.fixture
def run(season_url, tmp_path, monkeypatch):
    from civgrid.api.cli import app

    monkeypatch.setenv("CIVGRID_DATABASE_URL", season_url)
    monkeypatch.setenv("CIVGRID_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setattr("civgrid.api.cli.scoring.real_now", lambda: REAL_NOW)
    runner = CliRunner()

    def _run(*args: str, code: int = 0, as_of: str = AS_OF) -> str:
        timed = args[0] == "report" or args[1] == "compute" or "evaluate" in args
        r = runner.invoke(app, [*args, "--as-of", as_of] if timed else list(args))
        assert r.exit_code == code, r.output
        return r.output

    return _run


def test_monthly_bulletin_of_the_season(run, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "out"
    text = run("report", "monthly", "--month", "2026-12", "--out", str(out))
    assert "2026年12月创建文明城市工作月通报 (草稿)" in text
    wb = load_workbook(out / "monthly-2026-12.xlsx")
    assert wb.sheetnames == ["社区排名", "乡镇排名", "部门指标", "问责情形", "负面清单", "专项行动"]
    # the season follows Sheqi's campaigns; the bulletin reports those of December
    camp = {r[0]: r for r in wb["专项行动"].iter_rows(min_row=3, values_only=True)}
    assert {"城市乱象治理行动", "环境卫生清洁日", "乡村环境集中行动"} <= set(camp)
    assert "交通秩序集中整治月" not in camp  # April and September only
    assert camp["城市乱象治理行动"][2] > 0  # problems found in the 1st–5th
    ws = wb["社区排名"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert len(rows) == 14  # the 14 community grids of the central city
    points = [r[3] for r in rows]
    assert points == sorted(points, reverse=True) and rows[0][0] == 1
    assert all(r[7] in ("好", "中", "差") for r in rows)
    assert min(points) < 100  # a real season deducts
    towns = [[c.value for c in r] for r in wb["乡镇排名"].iter_rows(min_row=3)]
    assert len(towns) == 16
    html = (out / "monthly-2026-12.html").read_text(encoding="utf-8")
    assert '<h1 id="cg-bulletin-title">2026年12月创建文明城市工作月通报</h1>' in html
    assert "/map/heat?from=2026-12-01&amp;to=2026-12-31" in html

    # the same ranking as `score compute`
    table = run("score", "compute", "--period", "2026-12", "--level", "community")
    first = table.splitlines()[1].split()
    assert float(first[1]) == pytest.approx(points[0])

    # not before the month has ended
    early = run("report", "monthly", "--month", "2026-12", "--publish", code=1, as_of="2026-12-20")
    assert "2026-12 has not ended" in early and "2027-01-01" in early
    # publish once; a second time is refused
    pub = run("report", "monthly", "--month", "2026-12", "--out", str(out), "--publish")
    assert "社创通〔2026〕第1号" in pub
    again = run("report", "monthly", "--month", "2026-12", "--publish", code=1)
    assert "already published" in again
    # --if-missing (make demo): the issued bulletin is written out as issued, nothing new
    (out / "monthly-2026-12.xlsx").unlink()
    same = run(
        "report", "monthly", "--month", "2026-12", "--out", str(out), "--publish", "--if-missing"
    )
    assert "已发布为 社创通〔2026〕第1号，未改动" in same
    assert (out / "monthly-2026-12.xlsx").exists()


def test_quarterly_and_cases(run, tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "q"
    run("report", "quarterly", "--quarter", "2026Q4", "--out", str(out))
    ws = load_workbook(out / "quarterly-2026Q4.xlsx")["社区排名"]
    tiers = {r[7].value for r in ws.iter_rows(min_row=3)}
    assert tiers <= {"好", "中", "差"} and tiers
    # named_worst counts published bulletins only: publish September to December
    months = ("2026-09", "2026-10", "2026-11", "2026-12")
    for m in months:
        run("report", "monthly", "--month", m, "--out", str(out), "--publish", "--if-missing")
    n = 0
    for m in months:
        first = run("score", "cases", "evaluate", "--period", m)
        n += int(first.strip().splitlines()[-1].split()[0])
    assert n >= 1
    for m in months:  # idempotent
        again = run("score", "cases", "evaluate", "--period", m)
        assert again.strip().splitlines()[-1].startswith("0 opened")
    listed = run("score", "cases", "list", "--status", "open").strip().splitlines()
    assert len(listed) == n
    case_id = listed[0].split("\t")[0].lstrip("#")
    run("score", "cases", "act", case_id, "close", code=1)  # a note is required
    assert "closed: close" in run("score", "cases", "act", case_id, "close", "--note", "已整改")
    assert len(run("score", "cases", "list", "--status", "open").strip().splitlines()) == n - 1


def test_as_of_never_stands_in_for_the_real_clock(run, monkeypatch, season_url):
    """Run on 7 December 2026 with ``--as-of 2027-01-05``: December has not really ended,
    so nothing is published and no case is opened; what is published carries the real
    issue time, not the ``--as-of`` moment."""
    from sqlalchemy import create_engine, text

    engine = create_engine(season_url)

    def count(table: str) -> int:
        with engine.connect() as c:
            return c.execute(text(f"SELECT count(*) FROM {table}")).scalar()

    before = (count("score_bulletins"), count("accountability_cases"))
    monkeypatch.setattr(
        "civgrid.api.cli.scoring.real_now", lambda: datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    )
    out = run("report", "monthly", "--month", "2026-12", "--publish", code=1)
    assert "2026-12 has not ended" in out
    out = run("score", "cases", "evaluate", "--period", "2026-12", code=1)
    assert "2026-12 has not ended" in out
    # August has ended, but --as-of in the future of the real clock is refused
    out = run("report", "monthly", "--month", "2026-08", "--publish", code=1)
    assert "later than now" in out
    assert (count("score_bulletins"), count("accountability_cases")) == before
    # as of 1 December (before the real now), August is published at the real time
    run("report", "monthly", "--month", "2026-08", "--publish", as_of="2026-12-01")
    with engine.connect() as c:
        issued = c.execute(
            text("SELECT issued_at FROM score_bulletins WHERE period = '2026-08'")
        ).scalar()
    engine.dispose()
    assert str(issued).startswith("2026-12-07 02:00")
