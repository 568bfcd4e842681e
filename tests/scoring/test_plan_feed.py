"""The patrol plan scores last month under the county's own rules (installed profiles)."""

from __future__ import annotations

from importlib import resources

SHIPPED = (resources.files("civgrid.grids") / "profiles" / "sheqi.yaml").read_text("utf-8")


def _plan_scores(client, headers):
    r = client.post(
        "/api/v1/patrol/plans",
        params={"month": "2026-12", "commit": "false"},
        json={"settings": {"poor_score": 95}},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()["summary"]["last_scores"]


def test_plan_uses_the_installed_profile(client, login, tmp_path):
    headers = login("dispatcher", "dispatcher")
    shipped = _plan_scores(client, headers)
    assert shipped["source"] == "computed" and shipped["period"] == "2026-11"
    assert shipped["poor"] == []  # nothing reported in November: every community 100
    # the county installed its own Sheqi rules (base 90) before the app started
    local = tmp_path / "profiles"
    local.mkdir(exist_ok=True)
    assert "    base: 100\n" in SHIPPED
    (local / "sheqi.yaml").write_text(SHIPPED.replace("    base: 100\n", "    base: 90\n"))
    own = _plan_scores(client, headers)  # the registry picks up files installed by another process
    assert own["source"] == "computed" and own["poor"], own
