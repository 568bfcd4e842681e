"""Anonymous intake limits: body size (declared or not), rate per address, Open311 keys."""

from __future__ import annotations

import json

import pytest

from support.authworld import build_world

LIMIT = 2048


@pytest.fixture(scope="module")
def w(demo_sqlite_template, tmp_path_factory):
    """A world with small public-intake limits: 2 KiB bodies, 20 reports a minute, one key."""
    path, _ = demo_sqlite_template
    world = build_world(
        path,
        tmp_path_factory.mktemp("intake"),
        intake_max_bytes=LIMIT,
        intake_rate="20/60",
        open311_api_keys="key-A, key-B",
    )
    yield world
    world.client.__exit__(None, None, None)


def _report(w, **extra) -> dict:
    lon, lat = w.px
    return {"category": "dumping", "source": "citizen_complaint", "lon": lon, "lat": lat, **extra}


def _count(w) -> int:
    return w.client.get("/api/v1/issues", params={"limit": 1}).json()["total"]


def test_size_limit_holds_without_a_content_length(w):
    before = _count(w)
    big = json.dumps(_report(w, description="垃圾" * 2000)).encode()
    assert len(big) > LIMIT
    # declared: refused before reading
    r = w.client.post(
        "/api/v1/issues", content=big, anonymous=True, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and f"{LIMIT} bytes" in r.json()["detail"]

    # chunked: no Content-Length, refused once the bytes received pass the limit
    def chunks():
        for i in range(0, len(big), 512):
            yield big[i : i + 512]

    r = w.client.post(
        "/api/v1/issues",
        content=chunks(),
        anonymous=True,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert _count(w) == before  # nothing stored
    # a small chunked report is read whole and lands in triage
    small = json.dumps(_report(w, description="路口垃圾")).encode()
    r = w.client.post(
        "/api/v1/issues",
        content=iter([small[:40], small[40:]]),
        anonymous=True,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "triage" and _count(w) == before + 1


def test_intake_is_rate_limited_per_address(demo_sqlite_template, tmp_path):
    world = build_world(demo_sqlite_template[0], tmp_path, intake_rate="2/60")
    try:
        codes = [
            world.client.post("/api/v1/issues", json=_report(world), anonymous=True).status_code
            for _ in range(3)
        ]
        assert codes == [201, 201, 429]
        # a logged-in inspector is not held by the public limit
        r = world.client.post(
            "/api/v1/issues",
            json=_report(world, source="field_supervision"),
            **world.roles["inspector"],
        )
        assert r.status_code == 201
    finally:
        world.client.__exit__(None, None, None)


def test_open311_needs_a_configured_key(w):
    lon, lat = w.px
    form = {"service_code": "dumping", "lat": str(lat), "long": str(lon)}
    r = w.client.post("/open311/v2/requests.json", data=form, anonymous=True)
    assert r.status_code == 403 and "api_key" in r.json()[0]["description"]
    r = w.client.post(
        "/open311/v2/requests.json", data={**form, "api_key": "key-C"}, anonymous=True
    )
    assert r.status_code == 403
    r = w.client.post(
        "/open311/v2/requests.json", data={**form, "api_key": "key-B"}, anonymous=True
    )
    assert r.status_code in (200, 201), r.text
    body = r.json()[0]
    assert "service_request_id" in body or "token" in body


def test_public_reports_wait_in_triage_as_citizen_complaints(w):
    """No account: source and priority are the command center's to set, a name changes
    nothing, and the report waits for a dispatcher (no deadline clock runs)."""
    body = _report(w, source="media_exposure", priority="urgent", reporter_name="王先生")
    r = w.client.post("/api/v1/issues", json=body, anonymous=True)
    assert r.status_code == 201, r.text
    got = w.client.get(f"/api/v1/issues/{r.json()['id']}").json()
    assert got["state"] == "triage" and got["triage_reason"] == "public_intake"
    assert got["source"] == "citizen_complaint" and got["priority"] == "normal"
    assert got["deadline"] is None


def test_idempotency_keys_are_private_to_their_sender(w):
    """A replayed key answers in the caller's view; another sender's key is not theirs."""
    lon, lat = w.py  # Y's community: outside the unit handler's scope
    body = {"category": "dumping", "source": "field_supervision", "lon": lon, "lat": lat}
    key = {"Idempotency-Key": "shared-key-1"}
    first = w.client.post(
        "/api/v1/issues", json=body, headers={**key, **w.roles["admin"]["headers"]}
    )
    assert first.status_code == 201
    again = w.client.post(
        "/api/v1/issues", json=body, headers={**key, **w.roles["admin"]["headers"]}
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # the same key from another account: its own new report, never the admin's
    other = w.client.post(
        "/api/v1/issues",
        json={**body, "source": "grid_worker"},
        headers={**key, **w.roles["grid_worker"]["headers"]},
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # and from the public: a new report, answered in the public view
    pub = w.client.post("/api/v1/issues", json=body, headers=key, anonymous=True)
    assert pub.status_code == 201 and pub.json()["id"] != first.json()["id"]
    assert pub.json()["history"] == []
    # a conflicting reuse says so without naming the issue
    clash = w.client.post(
        "/api/v1/issues",
        json={**body, "description": "x"},
        headers={**key, **w.roles["admin"]["headers"]},
    )
    assert clash.status_code == 409 and "issue_id" not in clash.json()


def test_out_of_range_ids_and_dates_are_422_not_500(w):
    for url in (
        "/api/v1/issues/99999999999999999999",
        "/api/v1/issues/2147483648",
        "/api/v1/photos/99999999999",
        "/api/v1/accountability/cases/99999999999",
        "/open311/v2/requests/99999999999.json",
    ):
        r = w.client.get(url)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
    assert w.client.get("/api/v1/issues/2147483647").status_code == 404
    for url in ("/api/v1/hexbins?from=0001-01-01", "/api/v1/heat/points?to=0001-01-01"):
        r = w.client.get(url)
        assert r.status_code == 422, (url, r.status_code, r.text[:200])
