"""The list exports stream: a page of issues at a time, never the whole file in memory.

20,000 issues are inserted in one bulk statement; the CSV and the workbook are
read back whole and compared with the database, and the routes answer with a
streamed body (no ``Content-Length``: the size is not known when sending starts).
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import insert, select

from civgrid.api.app import create_app
from civgrid.api.routers import issues as issues_router
from civgrid.api.settings import Settings
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import State
from support.authclient import AuthClient
from support.demo_stores import demo_store_copy

pytestmark = pytest.mark.slow  # long: scheduled first (tests/conftest.py)

N = 5_000  # five pages of the export's 1,000-row reads: enough to stream across pages
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def big(request, tmp_path_factory):
    """The demo county with N issues (every 7th a formula-looking description; every
    other one dispatched) and a client of the app on it (one for the module)."""
    tmp_path = tmp_path_factory.mktemp("export")
    store = next(demo_store_copy("sqlite", request, tmp_path))
    t0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    rows = [
        {
            "state": State.assigned if k % 2 else State.triage,
            "category_code": "dumping",
            "source": "grid_worker",
            "priority": "normal",
            "reporter_who": "worker",
            "reporter_role": "grid_worker",
            "anonymous": False,
            "location_source": "point",
            "description": FORMULA if k % 7 == 0 else f"问题{k}",
            "lon": 112.93 + k * 1e-6,
            "lat": 33.05,
            "reported_at": t0 + timedelta(seconds=k),
            "created_at": t0,
            "updated_at": t0,
            "assigned_at": t0 if k % 2 else None,
        }
        for k in range(N)
    ]
    with store.session() as s:
        s.execute(insert(Issue), rows)
    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    app.state.issue_config = IssueConfig(clock=lambda: t0)
    with AuthClient(app) as client:
        app.state.store.snap_index = store.snap_index
        yield client, store
    store.engine.dispose()


def _admin(client: AuthClient) -> dict[str, str]:
    # client.stream() bypasses AuthClient.request: the token is sent by hand
    return {"Authorization": f"Bearer {client.token('admin', 'admin')}"}


def test_the_csv_export_streams_every_row(big):
    client, store = big
    with client.stream("GET", "/api/v1/lists/issue_list.csv", headers=_admin(client)) as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers  # a streamed body
        assert r.headers["content-type"].startswith("text/csv")
        chunks = list(r.iter_bytes())
    text = b"".join(chunks).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    head, body = rows[0], rows[1:]
    assert head[:2] == ["序号", "问题编号"] and len(body) == N
    with store.session() as s:
        ids = list(s.scalars(select(Issue.id).order_by(Issue.id)))
    assert [int(r[1]) for r in body] == ids  # every issue once, in id order
    assert [int(r[0]) for r in body] == list(range(1, N + 1))  # numbered across pages
    desc = head.index("问题描述")
    assert body[0][desc] == "'" + FORMULA and body[1][desc] == "问题1"


def test_the_workbook_streams_every_row_as_plain_values(big):
    client, store = big
    url = "/api/v1/lists/issue_list.xlsx"
    with client.stream("GET", url, headers=_admin(client)) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        data = b"".join(r.iter_bytes())
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb["问题清单"].iter_rows(values_only=True))
    wb.close()
    head, body = rows[0], rows[1:]
    with store.session() as s:
        ids = list(s.scalars(select(Issue.id).order_by(Issue.id)))
    assert [r[1] for r in body] == ids and [r[0] for r in body] == list(range(1, N + 1))
    desc = head.index("问题描述")
    assert body[0][desc] == FORMULA and body[7][desc] == FORMULA and body[1][desc] == "问题1"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula: the description is text
    assert f'<autoFilter ref="A1:W{N + 1}"' in sheet and 'topLeftCell="A2"' in sheet


def test_a_bad_filter_is_refused_before_streaming(big):
    client, _ = big
    r = client.get("/api/v1/lists/issue_list.csv", params={"state": "nonsense"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert issues_router.StreamingResponse is not None
