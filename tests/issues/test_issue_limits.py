"""Safe inputs and outputs: body and attribute size limits, integers out of range, 422 as
problem+json, and no formula from a report ever runs in an export."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from support.issue_helpers import COMPOUND, point_in

HYPERLINK = '=HYPERLINK("http://evil.example/x","点此查看")'


def _total(client) -> int:
    return client.get("/api/v1/issues").json()["total"]


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and isinstance(body["detail"], str) and body["title"]
    return body


def test_a_2mb_json_report_is_413_and_stores_nothing(client, store):
    lon, lat = point_in(store, COMPOUND)
    body = {"category": "dumping", "source": "grid_worker", "lon": lon, "lat": lat}
    big = {**body, "attributes": {"blob": "x" * (2 * 1024 * 1024)}}
    # a logged-in grid worker, Content-Length declared
    gw = {"X-Actor": "gw-1", "X-Actor-Role": "grid_worker"}
    assert _problem(client.post("/api/v1/issues", json=big, headers=gw), 413)["field"] == "body"
    # the same without a declared length (chunked): refused once past the limit
    import json

    raw = json.dumps(big).encode()

    def chunks():
        for i in range(0, len(raw), 64 * 1024):
            yield raw[i : i + 64 * 1024]

    r = client.post(
        "/api/v1/issues",
        content=chunks(),
        headers={**gw, "Content-Type": "application/json"},
    )
    _problem(r, 413)
    # every other writing route has the limit too
    r = client.post("/api/v1/issues/1/transitions", json={"action": "accept", "note": "x" * 2**21})
    _problem(r, 413)
    assert _total(client) == 0
    # attributes are limited on their own (16 KiB as JSON)
    r = client.post("/api/v1/issues", json={**body, "attributes": {"blob": "x" * 20_000}})
    assert _problem(r, 422)["field"] == "attributes"
    assert _total(client) == 0
    ok = client.post("/api/v1/issues", json={**body, "attributes": {"note": "小"}})
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/issues?offset=1180591620717411303424",
        "/api/v1/issues?limit=1180591620717411303424",
        "/api/v1/audit?offset=1180591620717411303424",
        "/api/v1/issues/1180591620717411303424",
        "/open311/v2/requests.json?page=1180591620717411303424",
    ],
)
def test_integers_out_of_range_are_422_problems(client, url):
    body = _problem(client.get(url), 422)
    assert body["errors"] and body["field"] in ("offset", "limit", "issue_id", "page")


def test_validation_errors_are_problem_details(client):
    r = client.post("/api/v1/issues", json={"category": "dumping", "source": "grid_worker"})
    body = _problem(r, 422)
    assert body["field"] == "lon" or any(e["loc"][-1] == "lon" for e in body.get("errors", []))
    r = client.post("/api/v1/issues/1/transitions", json={"action": "fly"})
    body = _problem(r, 422)
    assert body["type"] == "civgrid:RequestValidationError" and body["field"] == "action"
    assert body["errors"][0]["loc"] == ["body", "action"]


def test_formulas_in_reports_are_text_in_every_export(client, store):
    lon, lat = point_in(store, COMPOUND)
    r = client.post(
        "/api/v1/issues",
        json={
            "category": "dumping",
            "source": "citizen_complaint",
            "lon": lon,
            "lat": lat,
            "description": HYPERLINK,
            "address": "@SUM(1+1)*cmd|' /C calc'!A0",
            "reporter_name": "+1+1",
        },
        anonymous=True,
    )
    assert r.status_code == 201, r.text
    for url in ("/api/v1/lists.xlsx", "/api/v1/lists/issue_list.xlsx"):
        got = client.get(url)
        assert got.status_code == 200
        wb = openpyxl.load_workbook(io.BytesIO(got.content))
        ws = wb["问题清单"]
        headers = [c.value for c in ws[1]]
        row = {h: c for h, c in zip(headers, ws[2], strict=True)}
        cell = row["问题描述"]
        assert cell.value == HYPERLINK and cell.data_type == "s"  # text, not a formula
        assert row["详细地址"].data_type == "s"
        formulas = [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"]
        assert formulas == []
    text = client.get("/api/v1/lists/issue_list.csv").text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    rec = dict(zip(rows[0], rows[1], strict=True))
    assert rec["问题描述"] == "'" + HYPERLINK
    assert rec["详细地址"].startswith("'@SUM")
    assert not any(v.startswith(("=", "+", "@")) for row in rows[1:] for v in row)
