"""The three lists: read back with openpyxl (xlsx), csv and GeoJSON."""

from __future__ import annotations

import csv
import io
import json

import openpyxl

from civgrid.grids.issues.lists import (
    ISSUE_LIST_COLUMNS,
    RECTIFICATION_LIST_COLUMNS,
    RESPONSIBILITY_LIST_COLUMNS,
)
from support.issue_helpers import COMPOUND, OUTSIDE, offset, point_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _seed(client, store):
    lon, lat = point_in(store, COMPOUND)
    ids = []
    for i, cat in enumerate(["dumping", "graffiti", "street_vending"]):
        body = {
            "category": cat,
            "source": "field_supervision",
            "description": f"问题{i}",
            "lon": offset(lon, lat, 90 * i, 0)[0],
            "lat": lat,
        }
        ids.append(client.post("/api/v1/issues", json=body).json()["id"])
    triage = client.post(
        "/api/v1/issues",
        json={"category": "dumping", "source": "grid_worker", "lon": OUTSIDE[0], "lat": OUTSIDE[1]},
    ).json()
    tr = f"/api/v1/issues/{ids[0]}/transitions"
    client.post(
        tr,
        data={"action": "submit", "measures": "清运"},
        files=[("photos", ("f.png", PNG, "image/png"))],
    )
    client.post(tr, json={"action": "reinspect", "passed": False, "note": "未清理干净"})
    return ids, triage["id"]


def _sheet(wb, title):
    ws = wb[title]
    rows = list(ws.iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


def test_workbook_has_the_three_lists(client, store):
    ids, triage_id = _seed(client, store)
    r = client.get("/api/v1/lists.xlsx")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["问题清单", "责任清单", "整改清单"]

    headers, rows = _sheet(wb, "问题清单")
    assert headers == [h for _, h in ISSUE_LIST_COLUMNS]
    assert [row[1] for row in rows] == [*ids, triage_id]
    first = dict(zip(headers, rows[0], strict=True))
    assert first["问题类别"] == "乱堆乱倒" and first["问题来源"] == "现场督查"
    assert first["乡镇(街道)"] == "潘河街道" and first["单元网格"] == "望东庄村第2小区"
    assert first["办理状态"] == "已退回" and first["主办单位"] == "甲物业服务公司"
    last = dict(zip(headers, rows[-1], strict=True))
    assert last["办理状态"] == "待分拣" and last["主办单位"] is None

    headers, rows = _sheet(wb, "整改清单")
    assert headers == [h for _, h in RECTIFICATION_LIST_COLUMNS]
    assert [row[1] for row in rows] == ids  # dispatched issues only
    rect = dict(zip(headers, rows[0], strict=True))
    assert rect["整改措施"] == "清运" and rect["复查结果"] == "未通过"
    assert rect["复查意见"] == "未清理干净" and rect["退回(返工)次数"] == 1

    headers, rows = _sheet(wb, "责任清单")
    assert headers == [h for _, h in RESPONSIBILITY_LIST_COLUMNS]
    assert len(rows) > 300  # every assignment of the demo county
    contract = [dict(zip(headers, r, strict=True)) for r in rows if r[5] == "分包"]
    assert len(contract) == 14  # one contract leader per central community
    assert sum(r[-1] for r in rows) > 0  # open issues counted against their holders


def test_single_lists_as_csv_and_geojson_with_filters(client, store):
    ids, _ = _seed(client, store)
    r = client.get("/api/v1/lists/issue_list.csv", params={"category": "graffiti"})
    assert r.status_code == 200 and r.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == [h for _, h in ISSUE_LIST_COLUMNS]
    assert [int(x[1]) for x in rows[1:]] == [ids[1]]
    gj = json.loads(client.get("/api/v1/lists/rectification_list.geojson").content)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 3
    assert gj["features"][0]["geometry"]["type"] == "Point"
    assert "整改时限" in gj["features"][0]["properties"]
    one = client.get("/api/v1/lists/responsibility_list.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(one.content))
    assert wb.sheetnames == ["责任清单"]
    assert client.get("/api/v1/lists/nothing.csv").status_code == 422
