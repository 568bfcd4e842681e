"""The monthly red/black list (红黑榜) of shops and streets: the ranking and its xlsx,
read back with openpyxl in the hand-computed order."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.intake import IssueReport
from civgrid.grids.issues.redblack import red_black_list, red_black_xlsx
from support.issue_helpers import offset

GW = Actor("网格员甲", "grid_worker")
MAY = datetime(2024, 5, 10, 2, 0, tzinfo=UTC)  # 10:00 in Sheqi
APRIL = datetime(2024, 4, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_demo(request, tmp_path):
    from support.demo_stores import demo_store_copy

    yield from demo_store_copy("sqlite", request, tmp_path)


def _near(store, code):
    """A point on the middle of shop ``code``'s frontage, nudged 3 m (within 15 m)."""
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Shop

    with store.session() as s:
        g = s.scalars(select(Shop).where(Shop.code == code)).one().frontage
    p = g.interpolate(0.5, normalized=True)
    return offset(p.x, p.y, 2.0, 2.0)


def _report(store, code, when, *, overdue=False, category="shopfront_cleanliness"):
    cfg = IssueConfig(clock=lambda: when, duplicate_radius_m=0.0)  # each report an issue
    with store.session() as s:
        issue = svc.report_issue(
            s, store, GW, IssueReport(category, "grid_worker", *_near(store, code)), config=cfg
        ).issue
        assert issue.routing["shop"]["code"] == code
        issue.overdue = overdue
        s.flush()
        assert s.get(type(issue), issue.id).overdue is overdue
    return issue.id


def test_red_black_list_in_the_hand_computed_order(sqlite_demo):
    store = sqlite_demo
    # May: SH001 3 issues, one overdue → demerit 3 + 1 = 4; SH002 2 open → 2; SH003 1
    # overdue → 1 + 1 = 2 (SH002 before SH003: more open issues). SH004: April only.
    for i in range(3):
        _report(store, "SH001", MAY, overdue=i == 0)
    _report(store, "SH002", MAY, category="shopfront_order")
    _report(store, "SH002", MAY)
    _report(store, "SH003", MAY, overdue=True)
    _report(store, "SH004", APRIL)
    with store.session() as s:
        rb = red_black_list(s, "2024-05", size=5)
        april = red_black_list(s, "2024-04")
    assert [r.code for r in rb.black] == ["SH001", "SH002", "SH003"]
    assert [r.demerit for r in rb.black] == [4, 2, 2]
    # red: no issue in May; SH004 had one in the year before, so it comes after the clean ones
    assert "SH004" not in [r.code for r in rb.red]  # size 5: only never-reported shops fit
    assert [r.code for r in rb.red] == ["SH005", "SH006", "SH007", "SH008", "SH009"]
    assert [r.code for r in april.black] == ["SH004"]
    # streets: issues per shop, the fewest first
    streets = {s.street: s for s in rb.streets}
    assert sum(s.issues for s in rb.streets) == 6 and sum(s.shops for s in rb.streets) == 84
    assert [(r.issues, r.reports, r.open, r.overdue) for r in rb.black] == [
        (3, 3, 3, 1),
        (2, 2, 2, 0),
        (1, 1, 1, 1),
    ]
    assert [s.street for s in rb.streets] == sorted(
        streets, key=lambda n: (streets[n].per_shop, streets[n].issues, n)
    )

    wb = load_workbook(BytesIO(red_black_xlsx(rb)), read_only=True)
    shops = list(wb["商户"].iter_rows(values_only=True))
    assert shops[0][0] == "门前五包红黑榜 2024-05"
    black = [row[2] for row in shops[2:] if row[0] == "黑榜"]
    red = [row[2] for row in shops[2:] if row[0] == "红榜"]
    assert black == ["SH001", "SH002", "SH003"]
    assert red == ["SH005", "SH006", "SH007", "SH008", "SH009"]
    assert [row[1] for row in shops[2:] if row[0] == "黑榜"] == [1, 2, 3]
    rows = list(wb["街道（路）"].iter_rows(values_only=True))[2:]
    assert [r[1] for r in rows] == [s.street for s in rb.streets]
    assert sum(r[3] for r in rows) == 6
    assert next(row[5:9] for row in shops[2:] if row[0] == "黑榜") == (3, 3, 1, 3)


def test_red_black_list_through_the_api_the_workbook_and_the_page(sqlite_demo, tmp_path):
    """The same ranking as JSON, xlsx and a Chinese page; a grid worker may not read it."""
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from support.authclient import AuthClient

    store = sqlite_demo
    for i in range(2):
        _report(store, "SH007", MAY, overdue=i == 0)
    _report(store, "SH003", MAY)
    settings = Settings(
        database_url=store.engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        generation_poll_seconds=0,
    )
    with AuthClient(create_app(settings)) as c:
        viewer = c.as_user("viewer")
        r = c.get("/api/v1/shops/red-black", params={"month": "2024-05", "size": 3}, headers=viewer)
        assert r.status_code == 200, r.text
        d = r.json()
        assert [(s["code"], s["demerit"]) for s in d["black"]] == [("SH007", 3), ("SH003", 1)]
        assert len(d["red"]) == 3 and "SH007" not in {s["code"] for s in d["red"]}
        assert d["shops"] == 84 and sum(s["issues"] for s in d["streets"]) == 3
        x = c.get("/api/v1/shops/red-black.xlsx", params={"month": "2024-05"}, headers=viewer)
        rows = list(load_workbook(BytesIO(x.content), read_only=True)["商户"].values)
        assert [row[2] for row in rows[2:] if row[0] == "黑榜"] == ["SH007", "SH003"]
        page = c.get("/shops/red-black", params={"month": "2024-05"}, headers=viewer).text
        assert "门前五包红黑榜（2024-05）" in page and page.index("SH007") < page.index("SH003")
        assert c.get("/api/v1/shops/red-black", params={"month": "2024-5"}).status_code == 422
        gw = c.get("/api/v1/shops/red-black", headers=c.as_user("grid_worker"))
        assert gw.status_code == 403
