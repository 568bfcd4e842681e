"""Receipt numbers (回执号) of reports: anyone can read a report's state by its number, and
nothing else; a forged or unknown number is 404 like any other."""

from __future__ import annotations

from support.issue_helpers import COMPOUND, point_in


def test_a_public_report_gets_a_receipt_that_shows_its_state_only(client, store):
    lon, lat = point_in(store, COMPOUND)
    body = {
        "category": "dumping",
        "source": "citizen_complaint",
        "lon": lon,
        "lat": lat,
        "description": "楼下垃圾三天没人清",
        "reporter_contact": "微信 abc",
    }
    r = client.post("/api/v1/issues", json=body, anonymous=True)
    assert r.status_code == 201, r.text
    receipt = r.json()["receipt"]
    issue_id = r.json()["id"]
    assert receipt.startswith(f"{issue_id}-") and len(receipt.split("-")[1]) == 6

    got = client.get(f"/api/v1/receipts/{receipt.lower()}", anonymous=True)
    assert got.status_code == 200, got.text
    out = got.json()
    assert out["receipt"] == receipt and out["state"] == "triage"
    assert set(out) == {
        "receipt",
        "state",
        "state_label",
        "kind",
        "category",
        "reported_on",
        "updated_on",
    }
    assert "垃圾三天" not in got.text and "abc" not in got.text and f"{lon:.4f}" not in got.text

    # the number cannot be walked: the next id with any digits, or these digits, is 404
    digits = receipt.split("-")[1]
    forged = f"{issue_id}-{'1' if digits[0] == '0' else '0'}{digits[1:]}"
    for bad in (forged, f"{issue_id + 1}-{digits}", "12", "abc-def"):
        miss = client.get(f"/api/v1/receipts/{bad}", anonymous=True)
        assert miss.status_code == 404, bad
        assert "no report with receipt" in miss.json()["detail"]
