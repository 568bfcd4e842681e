"""The account tests' world: one demo-county app with real logins.

:func:`build_world` returns a started :class:`authclient.AuthClient` on a private copy of the
demo county (SQLite) and the objects the tests aim at:

* ``X`` — an issue in compound 411327001001003 (community 411327001001, contracted
  by leader L10; township 411327001000 contacted by L10, L11, L12);
* ``Y`` — an issue in community 411327002001 (leader L13), another owner unit;
* ``G`` — an issue reported by the grid worker account;
* a photo and a 督办 notice on each of X, Y and G.

``roles`` maps each account role to the request options that log in as it
(``public`` sends no token).
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from authclient import AuthClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "issues"))  # issue_helpers
sys.path.insert(0, str(ROOT / "tests" / "maps"))  # mapdata (a 1×1 PNG)

COMPOUND = "411327001001003"
OTHER_COMMUNITY = "411327002001"

ROLES = (
    "admin",
    "dispatcher",
    "inspector",
    "unit_handler",
    "grid_worker",
    "leader",
    "viewer",
    "public",
)
SCOPED = ("unit_handler", "leader", "grid_worker")


def role_options(owner_unit: str) -> dict[str, dict]:
    """Request options per account role (headers selecting the account, or anonymous)."""
    h = AuthClient.as_user
    return {
        "admin": {"headers": h("admin", "admin")},
        "dispatcher": {"headers": h("dispatcher", "disp")},
        "inspector": {"headers": h("inspector", "insp")},
        "unit_handler": {"headers": h("unit_handler", "uh", unit=owner_unit)},
        "grid_worker": {"headers": h("grid_worker", "gw")},
        "leader": {"headers": h("leader", "ld10", leader="L10")},
        "viewer": {"headers": h("viewer", "vw")},
        "public": {"anonymous": True},
    }


def build_world(template: Path, tmp: Path, **settings) -> SimpleNamespace:
    """A started client on a copy of the demo county, with X, Y, G, photos, notices."""
    from issue_helpers import point_in
    from mapdata import PNG

    from civgrid.api.app import create_app
    from civgrid.api.settings import Settings
    from civgrid.grids.issue_config import IssueConfig

    db = tmp / "auth.sqlite"
    shutil.copyfile(template, db)
    settings = {"login_rate": "1000/60", "intake_rate": "1000/60", **settings}
    app = create_app(Settings(database_url=f"sqlite:///{db}", var_dir=tmp / "var", **settings))
    # no duplicate merging: the tests report many issues at the same few points
    app.state.issue_config = IssueConfig(photo_dir=tmp / "photos", duplicate_radius_m=0)
    client = AuthClient(app)
    client.__enter__()
    store = app.state.store
    px = point_in(store, COMPOUND)
    py = point_in(store, OTHER_COMMUNITY, layer="community")
    w = SimpleNamespace(client=client, app=app, store=store, px=px, py=py)

    def report(at, role_headers=None, category="dumping", photo=False, **kw):
        data = {"category": category, "source": "field_supervision", "lon": at[0], "lat": at[1]}
        opts = dict(role_headers or {"headers": client.as_user("admin", "admin")})
        if photo:
            r = client.post(
                "/api/v1/issues", data=data, files=[("photos", ("p.png", PNG, "image/png"))], **opts
            )
        else:
            r = client.post("/api/v1/issues", json={**data, **kw}, **opts)
        assert r.status_code == 201, r.text
        return r.json()

    w.report = report
    w.X = report(px, photo=True)
    w.Y = report(py, photo=True)
    assert w.X["owner_unit"]["key"] != w.Y["owner_unit"]["key"]
    assert w.X["community"]["code"] == "411327001001"
    assert w.Y["community"]["code"] == OTHER_COMMUNITY
    w.roles = role_options(w.X["owner_unit"]["key"])
    w.G = report(px, w.roles["grid_worker"], category="illegal_flyers", photo=True)
    w.notices = {k: _notice(store, getattr(w, k)["id"]) for k in ("X", "Y", "G")}
    return w


def _notice(store, issue_id: int) -> int:
    from civgrid.grids.issue_models import SupervisionNotice

    now = datetime.now(UTC)
    with store.session() as s:
        n = SupervisionNotice(
            number=f"测督〔2025〕第{issue_id:03d}号",
            year=2025,
            seq=issue_id,
            issue_id=issue_id,
            reason="overdue",
            issued_at=now,
            deadline=now + timedelta(days=2),
            issued_by="test",
        )
        s.add(n)
        s.flush()
        return n.id
