"""The in-app centre: each account sees, counts and marks only its own notifications."""

from __future__ import annotations

import re

import pytest

from civgrid.grids.notify.worker import NotifyConfig, Worker
from support.authclient import AuthClient
from support.notify_helpers import dispatched_issue


@pytest.fixture
def client(store, tmp_path):
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    with AuthClient(app) as c:
        yield c


D03 = AuthClient.as_user("unit_handler", "uh_d03", unit="D03")
D04 = AuthClient.as_user("unit_handler", "uh_d04", unit="D04")


def test_each_account_sees_only_its_own_notifications(client, store, config, clock):
    for who in (D03, D04):  # the accounts exist before the events are expanded
        assert client.get("/api/v1/notifications", headers=who).json()["unread"] == 0
    with store.session() as s:
        a = dispatched_issue(s, store, config, unit="D03", n=0)
        b = dispatched_issue(s, store, config, unit="D04", n=1)
        c = dispatched_issue(s, store, config, unit="D03", n=2)
    Worker(store.engine, {}, NotifyConfig(clock=clock)).run_until_idle()
    mine = client.get("/api/v1/notifications", headers=D03).json()
    theirs = client.get("/api/v1/notifications", headers=D04).json()
    assert mine["unread"] == 2 and [i["subject"] for i in mine["items"]] == [
        f"issue:{c}",
        f"issue:{a}",
    ]
    assert theirs["unread"] == 1 and [i["subject"] for i in theirs["items"]] == [f"issue:{b}"]
    their_id = theirs["items"][0]["id"]
    r = client.post("/api/v1/notifications/read", json={"ids": [their_id]}, headers=D03)
    assert r.status_code == 404
    r = client.post(
        "/api/v1/notifications/read", json={"ids": [mine["items"][0]["id"]]}, headers=D03
    )
    assert r.json() == {"marked": 1, "unread": 1}
    assert client.get("/api/v1/notifications", headers=D04).json()["unread"] == 1
    page = client.get("/notifications", headers=D03).text
    assert re.search(r'id="cg-unread">1<', page)  # the header's count
    assert page.count('class="cg-notice unread"') == 1 and page.count('class="cg-notice') == 2
    r = client.post("/notifications/read", headers=D03, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/notifications", headers=D03).json()["unread"] == 0
    assert client.get("/api/v1/notifications", headers=D04).json()["unread"] == 1
    counts = client.get("/api/v1/notifications/outbox").json()  # as admin
    assert {"channel": "in_app", "status": "sent", "count": 3} in counts
    page = client.get("/notifications/outbox").text  # the command center's view
    assert "站内通知" in page and 'id="cg-outbox-troubles">无。' in page
    assert client.get("/notifications/outbox", headers=D03).status_code == 403
    # the issue page shows its deliveries: the unit's account, in-app, delivered
    page = client.get(f"/issues/{a}").text
    table = page[page.index('id="cg-deliveries"') :].split("</table>")[0]
    assert "站内通知" in table and "已送达" in table and table.count("<tr>") == 2
