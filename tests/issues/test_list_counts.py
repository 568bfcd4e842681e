"""The issue list's total: exact on the last page without a count, bounded on request.

A unit's queue at size (8·10³ open issues, ``bench/scale.py``) costs an index probe per
open issue to count; the list API counts at most ``LIST_COUNT_CAP`` issues past its
offset and says when it stopped (``total_capped``). Both backends.
"""

from __future__ import annotations

from civgrid.grids.issues import service as svc
from support.issue_helpers import COMPOUND, offset, point_in


def test_bounded_totals_and_pages(client, store, monkeypatch):
    lon, lat = point_in(store, COMPOUND)
    for i in range(7):
        body = {"category": "dumping", "source": "field_supervision", "description": f"问题{i}"}
        body["lon"], body["lat"] = offset(lon, lat, 60 * i, 0)
        assert client.post("/api/v1/issues", json=body).status_code == 201
    with store.session() as s:

        def page(limit, off, cap):
            p = svc.list_issues(s, svc.IssueQuery(limit=limit, offset=off, count_cap=cap))
            return len(p.items), p.total, p.total_capped

        assert page(2, 0, None) == (2, 7, False)  # exact count
        assert page(2, 0, 3) == (2, 3, True)  # counted 3, more match
        assert page(2, 2, 3) == (2, 5, True)  # offset + 3
        assert page(2, 0, 6) == (2, 6, True)
        assert page(2, 0, 7) == (2, 7, False)  # exactly 7: not capped
        assert page(5, 4, 3) == (3, 7, False)  # the last page: offset + items
        assert page(10, 0, 3) == (7, 7, False)
        assert page(2, 9, 3) == (0, 7, False)  # past the end: counted
    from civgrid.api.routers import issues as issues_router

    monkeypatch.setattr(issues_router, "LIST_COUNT_CAP", 3)
    got = client.get("/api/v1/issues", params={"limit": 2}).json()
    assert (got["total"], got["total_capped"], got["next_offset"]) == (3, True, 2)
    got = client.get("/api/v1/issues", params={"limit": 2, "offset": 6}).json()
    assert (got["total"], got["total_capped"], got["next_offset"]) == (7, False, None)
