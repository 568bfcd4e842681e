"""Open311 GeoReport v2: services, requests (list, one, POST), tokens, JSON and XML, extensions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from support.issue_helpers import COMPOUND, offset, point_in

SPEC_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_services_json_and_xml(client):
    services = client.get("/open311/v2/services.json").json()
    codes = {s["service_code"]: s for s in services}
    assert codes["street_vending"]["service_name"] == "占道经营"
    assert codes["street_vending"]["group"] == "街面秩序"
    assert set(codes["cigarette_butts"]) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    r = client.get("/open311/v2/services.xml")
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "services" and len(root) == len(services)
    assert root[0].find("service_code") is not None and root[0].find("metadata").text == "false"


def test_post_request_is_routed_like_any_report(client, store):
    lon, lat = point_in(store, COMPOUND)
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": "x",
            "service_code": "dumping",
            "lat": str(lat),
            "long": str(lon),
            "description": "小区门口堆放垃圾",
            "email": "resident@example.org",
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()[0]
    rid = created["service_request_id"]
    assert created["token"]
    one = client.get(f"/open311/v2/requests/{rid}.json").json()
    assert len(one) == 1 and set(one[0]) == SPEC_FIELDS
    req = one[0]
    issue = client.get(f"/api/v1/issues/{rid}").json()
    assert req["agency_responsible"] == issue["owner_unit"]["name"]
    # a public channel: even a named reporter waits for a dispatcher's confirmation
    assert req["status"] == "open" and req["status_notes"] == "待分拣"
    assert issue["state"] == "triage" and issue["triage_reason"] == "public_intake"
    assert issue["source"] == "citizen_complaint"
    assert req["address_id"] == COMPOUND
    assert abs(req["long"] - lon) < 1e-9 and abs(req["lat"] - lat) < 1e-9
    # the token resolves to the request
    tok = client.get(f"/open311/v2/tokens/{created['token']}.json").json()
    assert tok == [{"service_request_id": rid, "token": created["token"]}]
    # anonymous citizen reports wait in triage (per-city setting)
    anon = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "graffiti", "lat": str(lat), "long": str(lon)},
    ).json()[0]
    got = client.get(f"/open311/v2/requests/{anon['service_request_id']}.json").json()[0]
    assert got["status"] == "open" and got["status_notes"] == "待分拣"
    assert got["agency_responsible"] is not None  # the proposed assignment


def test_requests_list_xml_and_extensions_notes(client, store):
    lon, lat = point_in(store, COMPOUND)
    ids = []
    for i in range(3):
        body = {
            "category": "dumping",
            "source": "grid_worker",
            "lon": offset(lon, lat, 80 * i, 0)[0],
            "lat": lat,
        }
        ids.append(client.post("/api/v1/issues", json=body).json()["id"])
    tr = f"/api/v1/issues/{ids[0]}/transitions"
    client.post(tr, data={"action": "submit"}, files=[("photos", ("f.png", PNG, "image/png"))])
    client.post(tr, json={"action": "reinspect", "passed": True})
    listed = client.get("/open311/v2/requests.json").json()
    assert {r["service_request_id"] for r in listed} == {str(i) for i in ids}
    assert all(set(r) == SPEC_FIELDS for r in listed)
    closed = client.get("/open311/v2/requests.json", params={"status": "closed"}).json()
    assert [r["service_request_id"] for r in closed] == [str(ids[0])]
    page = client.get("/open311/v2/requests.json", params={"page_size": 2, "page": 2}).json()
    assert len(page) == 1
    ext = client.get(f"/open311/v2/requests/{ids[0]}.json", params={"extensions": "true"}).json()
    notes = ext[0]["extended_attributes"]["notes"]
    assert [n["type"] for n in notes] == ["report", "submit", "reinspect"]
    assert ext[0]["extended_attributes"]["detailed_status"] == "closed"
    assert notes[-1]["to_status"] == "closed" and notes[0]["summary"] == "受理上报"
    xml = client.get("/open311/v2/requests.xml", params={"extensions": "true"})
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests" and len(root) == 3
    req = next(r for r in root if r.findtext("service_request_id") == str(ids[0]))
    assert req.findtext("status") == "closed"
    assert [n.findtext("type") for n in req.find("extended_attributes/notes")] == [
        "report",
        "submit",
        "reinspect",
    ]


def test_open311_errors(client):
    r = client.post("/open311/v2/requests.json", data={"service_code": "dumping"})
    assert r.status_code == 422 and "lat" in r.json()[0]["description"]
    r = client.post(
        "/open311/v2/requests.json", data={"service_code": "nope", "lat": "33.05", "long": "112.95"}
    )
    assert r.status_code == 422 and "unknown category" in r.json()[0]["description"]
    r = client.get("/open311/v2/requests/99999.xml")
    assert r.status_code == 404 and ET.fromstring(r.content).tag == "errors"
    assert client.get("/open311/v2/tokens/nothing.json").status_code == 404
