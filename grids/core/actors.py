"""Who acts: :class:`Actor` (a person or the system, their role and unit), the
:data:`SYSTEM_ACTOR` of jobs, and the :class:`Guard` protocol through which a
caller's permissions reach the domain.

Every domain call takes an actor. Features below ``accounts`` in the dependency
order never import permissions; a caller passes a guard (``accounts`` implements
it with ``Scope``) and the feature asks it.

Examples
--------
>>> Actor("inspector_01", ActorRole.inspector, "ST01").to_dict()
{'who': 'inspector_01', 'role': 'inspector', 'unit': 'ST01'}
>>> SYSTEM_ACTOR.role is ActorRole.system
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from civgrid.grids.core.errors import InvalidInputError

__all__ = ["SYSTEM_ACTOR", "Actor", "ActorRole", "Guard"]


class ActorRole(enum.StrEnum):
    """Roles that act on issues (permissions are checked against the table).

    ``system`` is the actor used until accounts exist; it may do everything.
    """

    system = "system"
    command_center = "command_center"  # 创文办 / 指挥部 dispatcher
    inspector = "inspector"  # 督查组 / supervision team member
    unit = "unit"  # staff of a responsible unit
    grid_worker = "grid_worker"  # 网格员
    citizen = "citizen"  # 市民
    reporter = "reporter"  # whoever reported this issue (resolved per issue)


@dataclass(frozen=True)
class Actor:
    """Who does something: a person or system (``who``), their role, their unit key.

    Every domain call takes one, so that accounts and permissions can be added
    later without changing signatures. The API builds it from the logged-in
    account (:mod:`civgrid.grids.accounts.permissions` decides what it may see and do);
    CLI jobs use :data:`SYSTEM_ACTOR`.
    """

    who: str
    role: ActorRole = ActorRole.system
    unit: str | None = None
    #: Account role (``civgrid.grids.accounts.permissions.Role``) when the actor logged in.
    account_role: str | None = None
    #: Leader key of a leader's account.
    leader: str | None = None
    #: Supervision team (unit key) of an inspector.
    team: str | None = None

    def __post_init__(self) -> None:
        if not str(self.who or "").strip():
            raise InvalidInputError("an actor needs a name (who)", field="who")
        try:
            object.__setattr__(self, "role", ActorRole(self.role))
        except ValueError as exc:
            raise InvalidInputError(
                f"unknown role {self.role!r}; roles are " + ", ".join(r.value for r in ActorRole),
                field="role",
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        out: dict[str, Any] = {"who": self.who, "role": self.role.value, "unit": self.unit}
        if self.account_role:
            out["account_role"] = self.account_role
        return out


#: The actor of every call until accounts exist: may do everything.
SYSTEM_ACTOR = Actor("system", ActorRole.system, None)


@runtime_checkable
class Guard(Protocol):
    """What a caller may do to an object, asked by features that sit below accounts.

    ``civgrid.grids.accounts.permissions.Scope`` implements it; the API builds one
    per request and passes it to the domain call (``guard=``), so issue functions
    never import permissions nor rebuild the scope themselves.
    """

    def check_issue_action(self, session: Any, issue: Any, action: str) -> None:
        """Raise ``NotFoundError`` (out of scope) or ``PermissionDeniedError``."""
        ...
