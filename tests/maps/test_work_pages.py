"""The work pages through the app: the issue page's action forms per role (each control
carries the permission it needs), the unit handler's actions posted as the forms post them,
the role home pages and navigation, the queues, the Chinese error pages, the session renewal.
"""

from __future__ import annotations

import re

import pytest

from support.authworld import build_world

HTML = {"Accept": "text/html"}
#: Controls: forms, buttons, inputs of type submit (anything that acts).
CONTROL = re.compile(r"<(form|button)\b[^>]*>", re.I)
PERM = re.compile(r'data-perm="([^"]*)"')


@pytest.fixture(scope="module")
def world(demo_sqlite_template, tmp_path_factory):
    path, _index = demo_sqlite_template
    w = build_world(path, tmp_path_factory.mktemp("work"))
    yield w
    w.client.__exit__(None, None, None)


def page(w, role: str, url: str, status: int = 200) -> str:
    opts = dict(w.roles[role])
    opts["headers"] = {**opts.get("headers", {}), **HTML}
    r = w.client.get(url, **opts)
    assert r.status_code == status, (role, url, r.status_code, r.text[:300])
    return r.text


def held(w, role: str) -> set[str]:
    from civgrid.grids.accounts.permissions import ROLE_PERMISSIONS, Role

    return {str(p) for p in ROLE_PERMISSIONS[Role(role)]} | {"session"}


def controls(html: str) -> list[tuple[str, str | None]]:
    """(tag, data-perm or None) of every control of the page."""
    out = []
    for m in CONTROL.finditer(re.sub(r"<!--.*?-->", "", html, flags=re.S)):
        perm = PERM.search(m.group(0))
        out.append((m.group(0)[:80], perm.group(1) if perm else None))
    return out


def action_ids(html: str) -> list[str]:
    return re.findall(r'id="cg-action-([a-z_]+)"', html)


def test_the_unit_handler_sees_accept_and_posts_it(world):
    w = world
    d = w.report(w.px)
    assert d["state"] == "assigned", d["state"]
    html = page(w, "unit_handler", f"/issues/{d['id']}")
    assert action_ids(html) == ["accept", "submit", "extension_request"]
    # the form posts what the page says
    form = re.search(r'<form[^>]*id="cg-form-accept"[^>]*>', html).group(0)
    assert f'data-cg-api="/api/v1/issues/{d["id"]}/transitions"' in form
    r = w.client.post(
        f"/api/v1/issues/{d['id']}/transitions",
        json={"action": "accept", "expected_version": str(d["version"])},
        **w.roles["unit_handler"],
    )
    assert r.status_code == 200, r.text
    after = w.client.get(f"/api/v1/issues/{d['id']}").json()
    assert after["state"] == "rectifying"
    assert after["history"][-1]["action"] == "accept"
    html = page(w, "unit_handler", f"/issues/{d['id']}")
    assert action_ids(html) == ["submit", "extension_request"]


def test_viewer_and_leader_get_no_action(world):
    w = world
    for role in ("viewer", "leader"):
        html = page(w, role, f"/issues/{w.X['id']}")
        assert action_ids(html) == [], role
        assert 'id="cg-no-actions"' in html


def test_every_control_carries_a_permission_the_role_holds(world):
    """Walk the issue pages per role: a control without data-perm, or with a permission
    the role lacks, fails (naming page, role and control)."""
    w = world
    problems = []
    for role in (
        "admin",
        "dispatcher",
        "inspector",
        "unit_handler",
        "grid_worker",
        "leader",
        "viewer",
    ):
        mine = w.G if role == "grid_worker" else w.X
        for url in (f"/issues/{mine['id']}",):
            html = page(w, role, url)
            for tag, perm in controls(html):
                if perm is None:
                    problems.append(f"{role} {url}: no data-perm on {tag}")
                elif perm not in held(w, role):
                    problems.append(f"{role} {url}: {perm} not held, on {tag}")
    assert not problems, "\n".join(problems)
