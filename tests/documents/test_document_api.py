"""The documents API: the command center issues a 督办通知单, the owner unit downloads the
files byte for byte as stored; after a reassignment a re-issue is version 2 under the same
number, version 1 is still served unchanged, and the old owner unit no longer reads it."""

from __future__ import annotations

import hashlib

import pytest

from civgrid.grids.issues import service as svc
from support.authclient import AuthClient
from support.doc_helpers import FakePrinter, overdue_with_notice
from support.notify_helpers import CC

ADMIN = AuthClient.as_user("admin", "admin")
D03 = AuthClient.as_user("unit_handler", "uh_d03", unit="D03")
D04 = AuthClient.as_user("unit_handler", "uh_d04", unit="D04")


@pytest.fixture
def client(store, config, tmp_path):
    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings

    url = store.engine.url.render_as_string(hide_password=False)
    app = create_app(Settings(database_url=url, var_dir=tmp_path, build_index_on_startup=False))
    app.state.issue_config = config
    app.state.pdf_printer = FakePrinter()
    with AuthClient(app) as c:
        yield c


def test_issue_download_reassign_reissue(client, store, config, clock):
    issue_id, notice_id = overdue_with_notice(store, config, clock, unit="D03")
    r = client.post("/api/v1/documents", json={"series": "duban", "key": notice_id}, headers=D03)
    assert r.status_code == 403  # a unit does not issue documents
    v1 = client.post("/api/v1/documents", json={"series": "duban", "key": notice_id}, headers=ADMIN)
    assert v1.status_code == 200, v1.text
    v1 = v1.json()
    assert (v1["series"], v1["version"], v1["subject_key"]) == ("duban", 1, str(issue_id))
    pdf1 = client.get(v1["pdf_url"], headers=D03)
    docx1 = client.get(v1["docx_url"], headers=D03)
    assert pdf1.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf1.content).hexdigest() == v1["pdf_sha256"]
    assert hashlib.sha256(docx1.content).hexdigest() == v1["docx_sha256"]
    assert docx1.content.startswith(b"PK")

    with store.session() as s:
        svc.reassign(s, CC, issue_id, unit="D04", note="改派", config=config)
    clock.advance(hours=1)
    v2 = client.post(
        f"/api/v1/documents/{v1['id']}/reissue", json={"reason": "责任单位改派"}, headers=ADMIN
    ).json()
    assert (v2["number"], v2["version"], v2["reason"]) == (v1["number"], 2, "责任单位改派")
    assert v2["pdf_sha256"] != v1["pdf_sha256"]
    listed = client.get(f"/api/v1/issues/{issue_id}/documents", headers=D04).json()
    assert [(d["id"], d["version"]) for d in listed] == [(v1["id"], 1), (v2["id"], 2)]
    again = client.get(v1["pdf_url"], headers=D04)
    assert again.content == pdf1.content and again.headers["etag"] == f'"{v1["pdf_sha256"]}"'
    assert client.get(v1["pdf_url"], headers=D03).status_code == 404  # D03 answers no more
    assert client.get(v1["pdf_url"], anonymous=True).status_code == 401
    page = client.get(f"/issues/{issue_id}", headers=D04).text
    listed_html = page.split('id="cg-documents"', 1)[1].split("</ul>", 1)[0]
    assert listed_html.count(v1["number"]) == 2 and "（第2版）" in listed_html
    assert f"/api/v1/documents/{v1['id']}/file/pdf" in listed_html
    assert f"/api/v1/documents/{v2['id']}/file/docx" in listed_html


def test_no_pdf_printer_is_503_and_stores_nothing(client, store, config, clock):
    """A machine without Chromium: issuing a document answers 503 (retry later), and no
    number is used up — the next issue with a printer is still number 1."""
    from civgrid.maps.pdf import ChromiumPrinter

    _, notice_id = overdue_with_notice(store, config, clock, unit="D03")
    client.app.state.pdf_printer = ChromiumPrinter(executable="/nonexistent/chromium")
    r = client.post("/api/v1/documents", json={"series": "duban", "key": notice_id}, headers=ADMIN)
    assert r.status_code == 503 and "Chromium not found" in r.json()["detail"]
    client.app.state.pdf_printer = FakePrinter()
    ok = client.post("/api/v1/documents", json={"series": "duban", "key": notice_id}, headers=ADMIN)
    assert ok.status_code == 200 and ok.json()["version"] == 1
