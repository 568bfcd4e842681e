"""The HTML pages: what each one loads and shows (the browser tests run them)."""

from __future__ import annotations

import json
import re

from civgrid.maps.folium_offline import remote_urls


def page_config(html: str, entry: str) -> dict:
    m = re.search(rf"civgrid\.{entry}\(map_[0-9a-f]+, (\{{.*?\}})\);\n", html, re.S)
    assert m, f"{entry} not called"
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_command_center_page(make_client):
    client = make_client()
    r = client.get("/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "社旗县创文网格化管理" in html and "指挥中心地图" in html
    assert remote_urls(html) == [] and "L.tileLayer" not in html  # offline by default
    cfg = page_config(html, "initCommandMap")
    keys = [x["key"] for x in cfg["layers"]]
    assert {
        "township",
        "community",
        "unit_grid",
        "road_section",
        "key_site",
        "key_site_zone",
        "supervision_area",
    } <= set(keys)
    assert all(x["url"].startswith("/api/v1/layers/") for x in cfg["layers"])
    assert cfg["issues"] == {"url": "/api/v1/layers/issues.geojson"}
    assert cfg["displayCrs"] == "wgs84" and cfg["draw"] is True
    assert cfg["actions"]["reassign"] == "/api/v1/issues/{id}/reassign"
    names = {c["code"]: c["name"] for c in cfg["filters"]["categories"]}
    assert names["street_vending"] == "占道经营"
    assert {s["label"] for s in cfg["filters"]["sources"]} >= {"网格员上报", "市民投诉"}
    assert len([a for a in cfg["filters"]["areas"] if a["type"] in ("community", "village")]) == 14
    assert cfg["filters"]["defaults"]["from"] < cfg["filters"]["defaults"]["to"]
    assert any(u["name"] == "县城管局" for u in cfg["units"])
    assert cfg["stateLabels"]["rectifying"] == "整改中"


def test_command_map_shows_dispatch_tools_only_to_who_may_dispatch(make_client):
    """Issue 21: tools a role may not use are not shown — the draw tool, the 交办/改派
    buttons, the batch undo and the unit list need ``issue.dispatch``."""
    from civgrid.grids.accounts.permissions import ROLE_PERMISSIONS, Perm, Role

    client = make_client()
    for role in ("admin", "dispatcher", "inspector", "unit_handler", "leader", "viewer"):
        headers = client.as_user(role, unit="D03" if role == "unit_handler" else None)
        if role == "leader":
            headers = client.as_user(role, leader="L01")
        r = client.get("/map", headers=headers)
        assert r.status_code == 200, (role, r.text[:200])
        cfg = page_config(r.text, "initCommandMap")
        may = Perm.issue_dispatch in ROLE_PERMISSIONS[Role(role)]
        assert may == (role in ("admin", "dispatcher")), role
        assert cfg["draw"] is may, role
        assert ("reassign" in cfg["actions"]) is may and ("bulk" in cfg["actions"]) is may, role
        assert ("undo" in cfg["actions"]) is may and bool(cfg["units"]) is may, role
        assert cfg["actions"]["detail"] == "/api/v1/issues/{id}", role


def test_gcj02_basemap_page(make_client):
    html = make_client(basemap_url="amap").get("/map").text
    cfg = page_config(html, "initCommandMap")
    assert cfg["displayCrs"] == "gcj02" and cfg["basemap"]["key"] == "amap"
    assert "webrd0{s}.is.autonavi.com" in html
    assert remote_urls(html) == []


def test_heat_page(make_client):
    client = make_client()
    html = client.get("/map/heat").text
    assert "反弹回潮问题热力图" in html
    cfg = page_config(html, "initHeatMap")
    assert cfg["hexbins"] == {"url": "/api/v1/hexbins"}
    assert cfg["density"] == {"url": "/api/v1/heat/points"}
    assert [x["key"] for x in cfg["layers"]] == ["county", "township", "community"]
    assert cfg["res"] is None
    assert page_config(client.get("/map/heat?res=10").text, "initHeatMap")["res"] == 10
    assert client.get("/map/heat?res=3").status_code == 422


def test_leader_pages_show_only_their_areas(make_client):
    client = make_client()
    a = client.get("/leaders/L01").text
    b = client.get("/leaders/L10").text
    ca, cb = page_config(a, "initLeaderMap"), page_config(b, "initLeaderMap")
    assert ca["leader"] == {"key": "L01", "title": "县委副书记"}
    assert ca["issues"]["url"].endswith("issues.geojson?leader=L01")
    assert all("leader=L01" in x["url"] for x in ca["layers"] if x["key"] != "county")
    assert all("leader=L10" in x["url"] for x in cb["layers"] if x["key"] != "county")

    def rows(html):
        table = re.search(r'<table class="cg-table" id="cg-leader-table">(.*?)</table>', html, re.S)
        return re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", table.group(1))

    ra, rb = rows(a), rows(b)
    assert ra and rb and not ({n for n, _ in ra} & {n for n, _ in rb})
    assert ("望东庄村", "分包社区") in rb and ("潘河街道", "联系乡镇") in rb
    assert "望东庄村" not in a
    for html in (a, b):
        assert "本月走访" in html and "暂无记录" in html
    r = client.get("/leaders/NOBODY")
    assert r.status_code == 404


def test_home_page_links_to_the_maps(make_client):
    html = make_client().get("/").text
    assert 'href="/map"' in html and 'href="/map/heat"' in html
