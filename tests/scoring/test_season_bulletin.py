"""The bulletins of the simulated demo season, through the CLI: xlsx read back, HTML written,
published once (and only after the month has ended), cases opened once.

Every command runs ``--as-of 2027-01-05`` (the season ends on 31 December)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from support.season import shared_season

pytestmark = pytest.mark.slow
AS_OF = "2027-01-05"
#: The real clock of the CLI in these tests (publishing and cases check it): 6 January 2027.
REAL_NOW = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def season_url(tmp_path_factory):
    return shared_season(tmp_path_factory, "season")  # built once per run


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
    assert wb.sheetnames == [
        *("社区排名", "乡镇排名", "部门指标", "问责情形", "负面清单", "专项行动"),
        *("点位抽查", "不达标点位"),  # Sheqi scores field points (issue 23)
    ]
    # the season follows Sheqi's campaigns; the bulletin reports those of December
    camp = {r[0]: r for r in wb["专项行动"].iter_rows(min_row=3, values_only=True)}
    assert {"城市乱象治理行动", "环境卫生清洁日", "乡村环境集中行动"} <= set(camp)
    assert "交通秩序集中整治月" not in camp  # April and September only
    assert camp["城市乱象治理行动"][2] > 0  # problems found in the 1st–5th
    ws = wb["社区排名"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert len(rows) == 14  # the 14 community grids of the central city
    # 004: "每月按照三分之一左右的比例对社区（行政村）网格…进行抽查": those not
    # sampled say so instead of a score and come after the ranked ones
    ranked = [r for r in rows if r[3] != "未抽查"]
    points = [r[3] for r in ranked]
    assert ranked and rows[: len(ranked)] == ranked and rows[0][0] == 1
    assert points == sorted(points, reverse=True)
    assert all(r[7] in ("好", "中", "差") for r in ranked)
    assert all(r[7] == "未抽查" for r in rows[len(ranked) :])
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


def _shown(v) -> str:
    """A number as the pages print it (— when missing)."""
    return "—" if v is None else f"{round(float(v), 2):g}"


def test_score_page_rankings_and_bulletin_agree(season_url, tmp_path):
    """For every community and township of December 2026 of the simulated season, the
    score page (API and HTML), the rankings overview page, the rankings API and the
    bulletin show the same score and rank; a unit not sampled shows 未抽查 everywhere."""
    import re

    from fastapi.testclient import TestClient

    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.accounts.service import create_user
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.actors import SYSTEM_ACTOR
    from civgrid.grids.core.db import make_engine

    store = Store(make_engine(season_url))
    try:
        with store.session() as s:
            create_user(s, SYSTEM_ACTOR, "consistency", "Chuangwen-2026!", "dispatcher")
    finally:
        store.engine.dispose()
    app = create_app(
        Settings(database_url=season_url, var_dir=tmp_path, build_index_on_startup=False)
    )
    app.state.score_clock = lambda: REAL_NOW
    period = {"period": "2026-12"}
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/auth/token", data={"username": "consistency", "password": "Chuangwen-2026!"}
        )
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        bulletin = c.get("/api/v1/bulletins/preview", params=period).json()
        overview = c.get("/scores", params=period).text
        for level, key in (("community", "communities"), ("township", "townships")):
            in_bulletin = {x["code"]: (x["points"], x["rank"]) for x in bulletin[key]}
            ranking = c.get("/api/v1/rankings", params={**period, "level": level}).json()
            in_ranking = {x["code"]: (x["value"], x["rank"]) for x in ranking["rows"]}
            assert set(in_bulletin) == set(in_ranking) and in_bulletin
            for code, (points, rank) in in_bulletin.items():
                one = c.get(f"/api/v1/scores/{level}/{code}", params=period).json()
                assert (one["points"], one["rank"]) == (points, rank), code
                if rank is None:  # 未抽查: no score anywhere
                    assert in_ranking[code][1] is None
                else:
                    assert in_ranking[code] == (points, rank), code
                page = c.get(f"/scores/{level}/{code}", params=period).text
                shown = f"{round(float(points), 2):g}" if rank is not None else "未抽查"
                assert f"得分 <b>{shown}</b>　名次 {rank or '—'}" in page, code
                row = re.search(
                    rf"<tr[^>]*><td class='num'>([^<]*)</td><td><a href=\"/scores/{level}/"
                    rf"{code}\?period=2026-12\">[^<]*</a></td><td class='num'>([^<]*)</td>",
                    overview,
                )
                assert row is not None, code
                assert (row[1], row[2]) == (str(rank) if rank else "—", shown), code
        # departments: the page leads with the bulletin's handling-indicator composite and
        # rank (the measure the bulletin ranks them by), never a rank of its own
        assert bulletin["departments"]
        for d in bulletin["departments"]:
            page = c.get(f"/scores/department/{d['code']}", params=period).text
            composite = _shown(d["composite_score"])
            head = f"处置指标综合分 <b>{composite}</b>　名次 {d['rank'] or '—'}"
            assert head in page, (d["code"], d["name"])
            assert "档次" not in page.split("<h2>")[0], d["code"]
        # and the rankings overview lists the departments with the bulletin's rank and
        # composite (its first 30 rows)
        dept = overview[overview.index('<table id="cg-dept">') :]
        dept = dept[: dept.index("</table>")]
        rows = re.findall(r"<tr><td class='num'>([^<]*)</td><td>([^<]*)</td>(.*?)</tr>", dept)
        assert len(rows) == min(30, len(bulletin["departments"]))
        by_name = {d["name"]: d for d in bulletin["departments"]}
        ranked = [d for d in bulletin["departments"] if d["rank"] is not None]
        assert [n for r, n, _ in rows[: len(ranked)]] == [d["name"] for d in ranked[:30]]
        for rank, name, rest in rows:
            cells = re.findall(r"<td class='num'>([^<]*)</td>", rest)
            d = by_name.get(name)
            if d is None:  # the bulletin leaves out units with nothing filed or due
                assert (rank, cells[0], cells[1]) == ("—", "0", "0"), name
                continue
            assert rank == str(d["rank"] or "—"), d["code"]
            assert cells[-1] == _shown(d["composite_score"]), d["code"]


def test_cli_pairing_work_adjustment_and_annual_bulletin(run, tmp_path):
    """联建 work and an adjustment entered by the CLI (audited), the civilized units'
    quarter with the work, and the annual result (年度总评) written with its 加减分 sheet."""
    from openpyxl import load_workbook

    work = ["score", "work", "set", "--period", "2026Q4", "--note", "组织志愿服务", "--unit"]
    assert "recorded: CU01 2026Q4 +1.5" in run(*work, "CU01", "--points", "1.5")
    assert "2026Q4\tCU01\t+1.5\t组织志愿服务" in run("score", "work", "list")
    run(*work, "D03", "--points", "1", code=1)  # 县城管局 pairs with no community
    ranking = run("score", "subjects", "civilized_units", "--period", "2026Q4", "--as-of", AS_OF)
    assert "县直联建单位" in ranking and "CU01 县新华书店" in ranking
    adjust = [
        "score",
        "adjust",
        "add",
        "--period",
        "2026",
        "--level",
        "township",
        "--kind",
        "leader_instruction",
    ]
    added = run(
        *adjust,
        *("--code", "411327100000", "--points", "-1", "--source", "县领导批示件"),
        *("--reason", "县领导批示：背街小巷整治滞后"),
    )
    assert "2026 township 411327100000 leader_instruction -1" in added
    audit = run("user", "audit", "--action", "score.")
    assert "score.pairing_work.record" in audit and "score.adjustment.record" in audit
    out = tmp_path / "y"
    text = run("report", "annual", "--year", "2026", "--out", str(out))
    assert "2026年度创建文明城市工作总评" in text
    wb = load_workbook(out / "annual-2026.xlsx")
    assert {"加减分", "承担重点任务的单位", "承担其他任务的单位"} <= set(wb.sheetnames)
    adj = list(wb["加减分"].iter_rows(min_row=3, values_only=True))
    assert [(r[1], r[3], r[4]) for r in adj] == [
        ("411327100000", -1, "县领导批示：背街小巷整治滞后")
    ]


def test_a_period_reads_only_the_records_that_can_count_in_it(season_url, monkeypatch):
    """Scores, indicators, triggers, negative lists and bulletins made from the records
    that can count in a period (read by SQL, or filtered from every record) equal those
    made from every record (issue 26: a month of 10⁶ issues reads a few thousand)."""
    from civgrid.api.cli.points import standards_registry
    from civgrid.api.cli.scoring import score_registry
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine
    from civgrid.grids.scoring import service
    from civgrid.grids.scoring.bulletins import build_bulletin
    from civgrid.grids.scoring.indicators import GROUPS
    from civgrid.grids.scoring.score import Period

    now = datetime(2027, 1, 5, 4, 0, tzinfo=UTC)
    store = Store(make_engine(season_url))

    def made(ctx, p):
        b = build_bulletin(ctx, p) if p.kind in ("month", "quarter") else {}
        b.pop("generated_at", None)
        ind = {by: ctx.indicators(p, by) for by in GROUPS}
        hits = [h.to_dict() for h in ctx.triggers(p)]
        return b, ind, hits, [s.points for s in ctx.scores(p, "community")]

    try:
        with store.session() as session:

            def ctx(*, all_read: bool):
                c = service.ScoringContext(
                    store, session, score_registry(), now=now, standards=standards_registry()
                )
                if all_read:
                    assert len(c.records) > 500
                return c

            periods = [Period.parse(k) for k in ("2026-10", "2026-11", "2026-12", "2026Q4")]
            by_sql = {p.key: made(ctx(all_read=False), p) for p in periods}
            filtered = {p.key: made(ctx(all_read=True), p) for p in periods}
            counted = {p.key: len(ctx(all_read=False).period_records(p)) for p in periods}
            with monkeypatch.context() as m:  # the reference: every record, as before
                m.setattr(service, "can_count_in", lambda r, p: True)
                full = ctx(all_read=True)
                every = {p.key: made(full, p) for p in periods}
                total = len(full.records)
    finally:
        store.engine.dispose()
    for p in periods:
        assert by_sql[p.key] == every[p.key], p.key
        assert filtered[p.key] == every[p.key], p.key
    # the test has teeth: the months read fewer records, and something is counted
    assert all(counted[k] < total for k in ("2026-10", "2026-11")), (counted, total)
    assert every["2026-12"][0]["summary"]["issues"] > 0 and every["2026-12"][2]
