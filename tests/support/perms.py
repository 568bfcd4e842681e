"""The ``data-perm`` rule of the pages (issue 21), shared by the server-rendered walk
(``tests/maps/test_work_pages.py``) and the browser walk of script-built controls
(``tests/browser/test_layout_browser.py``): every control carries the permission it needs,
and a role is offered only controls whose permission it holds.

``session`` marks a control any signed-in account may use (log out, collapse a panel);
``public`` one anyone may use, signed in or not (the citizen's report and status look-up).

>>> sorted(held("viewer"))[:3]
['issue.read', 'lists.export', 'map.read']
>>> for p in problems("viewer", "/map", [("<a id=x>", None), ("<a id=y>", "issue.dispatch")]):
...     print(p)
viewer /map: no data-perm on <a id=x>
viewer /map: issue.dispatch not held, on <a id=y>
"""

from __future__ import annotations

from collections.abc import Iterable

#: Every account role, in the order the walks visit them.
STAFF = ("admin", "dispatcher", "inspector", "unit_handler", "grid_worker", "leader", "viewer")
#: Pseudo-permissions every account holds.
ALWAYS = frozenset({"session", "public"})


def held(role: str) -> set[str]:
    """The permissions of ``role`` (``public``: the signed-out citizen) and :data:`ALWAYS`."""
    from civgrid.grids.accounts.permissions import ROLE_PERMISSIONS, Role

    return {str(p) for p in ROLE_PERMISSIONS[Role(role)]} | set(ALWAYS)


def problems(role: str, where: str, controls: Iterable[tuple[str, str | None]]) -> list[str]:
    """What is wrong with the ``(control, data-perm)`` pairs a page shows ``role``."""
    mine = held(role)
    out = []
    for tag, perm in controls:
        if perm is None:
            out.append(f"{role} {where}: no data-perm on {tag}")
        elif perm not in mine:
            out.append(f"{role} {where}: {perm} not held, on {tag}")
    return out
