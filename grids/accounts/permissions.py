"""Who may do what, and on which objects: the one place permissions are decided.

Two layers, both data plus one small class:

* :data:`ROLE_PERMISSIONS` — account role → the permissions it holds (a table,
  not if-chains). :meth:`Scope.require` raises
  :class:`~civgrid.grids.core.errors.PermissionDeniedError` (HTTP 403) for a
  permission the role lacks.
* :class:`Scope` — the objects an actor may see, built from the
  :class:`~civgrid.grids.issues.config.Actor`:

  - ``admin``, ``dispatcher``, ``viewer``, ``inspector`` and the system actor
    see every issue;
  - a ``unit_handler`` sees issues where their unit is owner or co-responsible,
    and acts only on those their unit owns — except the cooperation actions of
    :data:`UNIT_PARTY_ROLES` (a progress note, a transfer request), which a
    co-responsible unit may take too;
  - a ``leader`` sees issues on the townships (联系), communities (分包) and
    road sections (路长) assigned to them **at the time the issue was
    reported** (assignment validity dates), or naming them as a party;
  - a ``grid_worker`` sees the issues they reported;
  - the anonymous ``public`` sees nothing internal (Open311 public projection only).

  :meth:`Scope.issue_conditions` gives SQL conditions for list filters
  (:class:`~civgrid.grids.issues.service.IssueQuery` applies them); the object checks
  :meth:`Scope.check_issue` and friends raise
  :class:`~civgrid.grids.core.errors.NotFoundError` for an object outside the
  scope, so an id guessed outside it looks exactly like one that does not exist.

Examples
--------
>>> sorted(p.value for p in ROLE_PERMISSIONS[Role.leader])[:3]
['issue.read', 'leader_visit.record', 'lists.export']
>>> workflow_role(Role.unit_handler).value
'unit'
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from civgrid.grids.core.actors import Actor, ActorRole
from civgrid.grids.core.errors import NotFoundError, PermissionDeniedError
from civgrid.grids.core.labels import ACCOUNT_ROLE_LABELS
from civgrid.grids.issues.workflow import Action

__all__ = [
    "ALL_PERMISSIONS",
    "ISSUE_ACTION_PERMS",
    "ROLE_LABELS",
    "ROLE_PERMISSIONS",
    "UNIT_PARTY_ROLES",
    "Perm",
    "Role",
    "Scope",
    "account_role_of",
    "team_area",
    "team_covers_issue",
    "workflow_role",
]


class Role(enum.StrEnum):
    """Account roles (账号角色)."""

    admin = "admin"  # 创文办系统管理员
    dispatcher = "dispatcher"  # 指挥中心调度员
    inspector = "inspector"  # 督查员 (member of a supervision team)
    unit_handler = "unit_handler"  # 责任单位经办人
    grid_worker = "grid_worker"  # 网格员
    leader = "leader"  # 县级领导
    viewer = "viewer"  # 只读查看
    public = "public"  # 市民 (no account)


ROLE_LABELS: dict[Role, str] = {r: ACCOUNT_ROLE_LABELS[r.value] for r in Role}


class Perm(enum.StrEnum):
    """Permissions (what, not on which object)."""

    issue_read = "issue.read"
    issue_report = "issue.report"
    issue_transition = "issue.transition"
    issue_dispatch = "issue.dispatch"  # dispatch, reassign, merge, reject (command center)
    extension_request = "extension.request"
    extension_decide = "extension.decide"
    issue_note = "issue.note"  # a progress note (进展说明) with photos
    transfer_request = "transfer.request"  # 转办申请
    transfer_decide = "transfer.decide"  # approve or refuse a transfer request (command center)
    deadlines_check = "deadlines.check"
    lists_export = "lists.export"
    map_read = "map.read"
    notes_read = "notes.read"  # internal notes and history
    score_read = "score.read"
    score_write = "score.write"
    patrol_read = "patrol.read"
    patrol_write = "patrol.write"
    leader_visit_record = "leader_visit.record"  # a leader's 现场办公 / 看 (own, or by staff)
    user_manage = "user.manage"
    audit_read = "audit.read"


ALL_PERMISSIONS = frozenset(Perm)
_READ = {Perm.issue_read, Perm.map_read, Perm.notes_read, Perm.lists_export}

#: Account role → permissions. The command center (admin, dispatcher) alone
#: dispatches, reassigns, decides extensions and writes scores.
ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.admin: ALL_PERMISSIONS,
    Role.dispatcher: ALL_PERMISSIONS - {Perm.user_manage, Perm.audit_read},
    Role.inspector: frozenset(
        _READ
        | {Perm.issue_report, Perm.issue_transition, Perm.patrol_read, Perm.patrol_write}
        | {Perm.score_read, Perm.leader_visit_record}
    ),
    Role.unit_handler: frozenset(
        _READ
        | {Perm.issue_report, Perm.issue_transition, Perm.extension_request, Perm.score_read}
        | {Perm.issue_note, Perm.transfer_request}
    ),
    # a grid worker's transition is the reporter's reopen (the workflow table allows no other)
    Role.grid_worker: frozenset(_READ | {Perm.issue_report, Perm.issue_transition}),
    Role.leader: frozenset(_READ | {Perm.score_read, Perm.patrol_read, Perm.leader_visit_record}),
    Role.viewer: frozenset(_READ | {Perm.score_read, Perm.patrol_read}),
    Role.public: frozenset({Perm.issue_report}),
}

#: Account role → the workflow role (``workflow.TRANSITIONS``) of its actor.
_WORKFLOW_ROLE: dict[Role, ActorRole] = {
    Role.admin: ActorRole.command_center,
    Role.dispatcher: ActorRole.command_center,
    Role.inspector: ActorRole.inspector,
    Role.unit_handler: ActorRole.unit,
    Role.grid_worker: ActorRole.grid_worker,
    Role.leader: ActorRole.citizen,  # read-mostly: no workflow row lists it
    Role.viewer: ActorRole.citizen,
    Role.public: ActorRole.citizen,
}

#: Workflow role → account role, for actors built without an account (CLI, domain tests).
_FROM_WORKFLOW: dict[ActorRole, Role] = {
    ActorRole.command_center: Role.dispatcher,
    ActorRole.inspector: Role.inspector,
    ActorRole.unit: Role.unit_handler,
    ActorRole.grid_worker: Role.grid_worker,
    ActorRole.citizen: Role.public,
    ActorRole.reporter: Role.public,
}

#: Object-level actions on an issue that are not workflow transitions (or that the
#: command center alone takes) → the permission they need; any other action name is a
#: workflow transition (:data:`Perm.issue_transition`).
ISSUE_ACTION_PERMS: dict[str, Perm] = {
    "dispatch": Perm.issue_dispatch,
    "reassign": Perm.issue_dispatch,
    "merge": Perm.issue_dispatch,
    "unmerge": Perm.issue_dispatch,
    "reject": Perm.issue_dispatch,
    "extension_request": Perm.extension_request,
    "extension_decision": Perm.extension_decide,
    "progress_note": Perm.issue_note,
    "transfer_request": Perm.transfer_request,
    "transfer_decision": Perm.transfer_decide,
}

#: The party roles a unit handler's unit must hold on an issue to take an action there
#: (default :data:`_OWNER_ONLY`). Cooperation — a progress note (进展说明) and a transfer
#: request (转办申请) — is open to the co-responsible units; the fix stays the owner's.
#: A local choice, after notice 004 (Sheqi): "确保网格内每条道路、每个楼院都有责任人"
#: with the units working the grid together.
UNIT_PARTY_ROLES: dict[str, frozenset[str]] = {
    "progress_note": frozenset({"owner", "co_responsible"}),
    "transfer_request": frozenset({"owner", "co_responsible"}),
}
_OWNER_ONLY = frozenset({"owner"})

#: Leader assignment roles and the issue column naming the object they hold.
_LEADER_LAYERS = {"township": "contact", "community": "contract", "road_section": "road_chief"}


def workflow_role(role: Role | str) -> ActorRole:
    """The workflow role of an account role."""
    return _WORKFLOW_ROLE[Role(role)]


def account_role_of(actor: Actor) -> Role | None:
    """The account role of ``actor`` (None for the system actor, which may do everything)."""
    if actor.account_role:
        return Role(actor.account_role)
    if actor.role is ActorRole.system:
        return None
    return _FROM_WORKFLOW[actor.role]


# ----------------------------------------------------------------------------- team areas


def team_area(session: Session, team_key: str, on: date) -> set[str] | None:
    """Supervision-area codes of team ``team_key`` on day ``on``.

    The patrol teams table (:class:`civgrid.grids.patrol.models.PatrolTeam`,
    ``area_codes``) when the team is there, else the team unit's ``supervision``
    assignments valid on ``on``; None when neither names an area (the team then
    covers the whole county).
    """
    from civgrid.grids.boundaries.models import Assignment, Unit
    from civgrid.grids.patrol.models import PatrolTeam

    team = session.scalar(select(PatrolTeam).where(PatrolTeam.key == team_key))
    if team is not None and team.area_codes:
        return set(team.area_codes)
    rows = session.scalars(
        select(Assignment)
        .join(Unit, Assignment.unit_id == Unit.id)
        .where(Unit.key == team_key, Assignment.role == "supervision")
    ).all()
    codes = {a.object_code for a in rows if a.valid_on(on)}
    return codes or None


def team_covers_issue(session: Session, team_key: str, issue: Any, on: date) -> bool:
    """Whether issue ``issue`` lies in the area of supervision team ``team_key`` on ``on``.

    The team's area is its own polygon (patrol teams table, WGS84; the issue's
    point is tested) together with its supervision-area codes (:func:`team_area`;
    the issue's supervision-area places are tested). A team with neither covers
    the whole county.
    """
    from civgrid.grids.patrol.models import PatrolTeam
    from civgrid.grids.patrol.teams import team_area_geometry

    team = session.scalar(select(PatrolTeam).where(PatrolTeam.key == team_key))
    polygon = team_area_geometry(team) if team is not None else None
    if polygon is not None and issue.lon is not None:
        import shapely

        if shapely.covers(polygon, shapely.Point(issue.lon, issue.lat)):
            return True
    codes = team_area(session, team_key, on)
    if codes is None:
        return polygon is None
    return bool(codes & {p.code for p in issue.places if p.layer == "supervision_area"})


# ----------------------------------------------------------------------------- scope


def _day_start(d: date) -> datetime:
    from civgrid.grids.core.calendar import local_zone

    return datetime.combine(d, time.min, local_zone()).astimezone(UTC)


@dataclass
class Scope:
    """What one actor may do and see; build with :meth:`for_actor`.

    Attributes
    ----------
    actor : Actor
    role : Role or None
        None: the system actor (everything).
    permissions : frozenset of Perm
    leader_windows : list of (layer, code, start, end)
        A leader's assignments as UTC time windows (``end`` None = still valid).
    """

    actor: Actor
    role: Role | None
    permissions: frozenset[Perm]
    leader_windows: list[tuple[str, str, datetime, datetime | None]] = field(default_factory=list)
    leader_id: int | None = None
    unit_id: int | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def for_actor(cls, session: Session | None, actor: Actor) -> Scope:
        """The scope of ``actor`` (loads a leader's assignments, a unit's id).

        ``session`` may be None when :meth:`needs_query` is false.
        """
        from civgrid.grids.boundaries.models import Assignment, Leader, Unit

        role = account_role_of(actor)
        perms = ALL_PERMISSIONS if role is None else ROLE_PERMISSIONS[role]
        scope = cls(actor, role, perms)
        if role is Role.leader and actor.leader:
            assert session is not None
            leader = session.scalar(select(Leader).where(Leader.key == actor.leader))
            if leader is not None:
                scope.leader_id = leader.id
                for a in session.scalars(
                    select(Assignment).where(Assignment.leader_id == leader.id)
                ):
                    layer = str(a.object_layer)
                    if _LEADER_LAYERS.get(layer) == str(a.role):
                        end = _day_start(a.valid_to) if a.valid_to else None
                        scope.leader_windows.append(
                            (layer, a.object_code, _day_start(a.valid_from), end)
                        )
        if role is Role.unit_handler and actor.unit:
            assert session is not None
            scope.unit_id = session.scalar(select(Unit.id).where(Unit.key == actor.unit))
        return scope

    @staticmethod
    def needs_query(actor: Actor) -> bool:
        """Whether :meth:`for_actor` reads the database for ``actor`` (a leader, a unit
        handler); the other roles' scope is their permissions alone.
        """
        role = account_role_of(actor)
        return (role is Role.leader and bool(actor.leader)) or (
            role is Role.unit_handler and bool(actor.unit)
        )

    # ------------------------------------------------------------------ permissions
    @property
    def sees_all(self) -> bool:
        """Whether every issue is visible."""
        return self.role in (None, Role.admin, Role.dispatcher, Role.viewer, Role.inspector)

    def has(self, perm: Perm | str) -> bool:
        """Whether the role holds ``perm``."""
        return Perm(perm) in self.permissions

    def require(self, perm: Perm | str) -> None:
        """Raise :class:`PermissionDeniedError` unless the role holds ``perm``."""
        if not self.has(perm):
            role = "system" if self.role is None else self.role.value
            raise PermissionDeniedError(
                f"role {role} may not do this ({Perm(perm).value})",
                role=role,
                permission=Perm(perm).value,
            )

    # ------------------------------------------------------------------ issues
    def issue_conditions(self) -> list[Any]:
        """SQL conditions (AND) restricting ``issues`` rows to this scope."""
        from civgrid.grids.issues.member_sets import with_party
        from civgrid.grids.issues.models import Issue, PartySetMember

        if self.sees_all:
            return []
        if self.role is Role.unit_handler:
            if self.unit_id is None:
                return [false()]
            return [
                with_party(
                    PartySetMember.unit_id == self.unit_id,
                    PartySetMember.role.in_(["owner", "co_responsible"]),
                )
            ]
        if self.role is Role.leader:
            if self.leader_id is None:
                return [false()]
            column = {
                "township": Issue.township_code,
                "community": Issue.community_code,
                "road_section": Issue.road_section_code,
            }
            ors: list[Any] = [with_party(PartySetMember.leader_id == self.leader_id)]
            for layer, code, start, end in self.leader_windows:
                cond = and_(column[layer] == code, Issue.reported_at >= start)
                ors.append(cond if end is None else and_(cond, Issue.reported_at < end))
            return [or_(*ors)]
        if self.role is Role.grid_worker:
            return [Issue.reporter_who == self.actor.who, Issue.reporter_role == "grid_worker"]
        return [false()]

    def can_see_issue(self, issue: Any) -> bool:
        """Whether ``issue`` is in scope (same rules as :meth:`issue_conditions`)."""
        if not self.has(Perm.issue_read):
            return False
        if self.sees_all:
            return True
        if self.role is Role.unit_handler:
            return (
                any(
                    p.unit_id == self.unit_id and p.role in ("owner", "co_responsible")
                    for p in issue.parties
                )
                and self.unit_id is not None
            )
        if self.role is Role.leader:
            if self.leader_id is None:
                return False
            if any(p.leader_id == self.leader_id for p in issue.parties):
                return True
            codes = {
                "township": issue.township_code,
                "community": issue.community_code,
                "road_section": issue.road_section_code,
            }
            t = issue.reported_at
            return any(
                codes[layer] == code and start <= t and (end is None or t < end)
                for layer, code, start, end in self.leader_windows
            )
        if self.role is Role.grid_worker:
            return issue.reporter_who == self.actor.who and issue.reporter_role == "grid_worker"
        return False

    def check_issue(self, issue: Any, issue_id: int | None = None) -> Any:
        """Return ``issue`` if visible, else raise :class:`NotFoundError` (no existence leak).

        ``issue_id`` names the missing issue when ``issue`` is None (a lookup found nothing),
        so both answers read the same: "no issue 123".
        """
        if issue is None or not self.can_see_issue(issue):
            key = getattr(issue, "id", None) or issue_id
            raise NotFoundError(f"no issue {key}", kind="issue", key=key)
        return issue

    def check_issue_action(self, session: Session, issue: Any, action: Action | str) -> None:
        """Object-level check of a workflow event or extension request on ``issue``.

        Raises
        ------
        NotFoundError
            The issue is outside the scope.
        PermissionDeniedError
            The role may not act, a unit acts on an issue it does not own, or an
            inspector re-inspects outside their team's supervision area.
        """
        self.check_issue(issue)
        name = str(action)
        self.require(ISSUE_ACTION_PERMS.get(name, Perm.issue_transition))
        if self.role is Role.unit_handler:
            allowed = UNIT_PARTY_ROLES.get(name, _OWNER_ONLY)
            held = {p.role for p in issue.parties if p.unit_id == self.unit_id} - {"owner"}
            if self.unit_id is not None and issue.owner_unit_id == self.unit_id:
                held.add("owner")  # the owner is the issue's column (parties mirror it)
            if self.unit_id is None or not held & allowed:
                owner = issue.owner_unit.key if issue.owner_unit is not None else None
                who = "the owner unit" if allowed == _OWNER_ONLY else "a responsible unit"
                raise PermissionDeniedError(
                    f"only {who} ({owner}) may {name} on issue {issue.id}",
                    role=self.role.value,
                    unit=self.actor.unit,
                )
        if (
            self.role is Role.inspector
            and name == "reinspect"
            and self.actor.team
            and not team_covers_issue(session, self.actor.team, issue, datetime.now(UTC).date())
        ):
            raise PermissionDeniedError(
                f"issue {issue.id} lies outside the supervision area of team {self.actor.team}",
                role=self.role.value,
                team=self.actor.team,
            )

    # ------------------------------------------------------------------ other objects
    def check_leader(self, key: str) -> None:
        """A leader reads only their own page and objects (others: :class:`NotFoundError`)."""
        self.require(Perm.map_read)
        if self.role in (Role.leader,) and key != self.actor.leader:
            raise NotFoundError(f"no leader {key}", kind="leader", key=key)
        if self.role in (Role.unit_handler, Role.grid_worker, Role.public):
            raise NotFoundError(f"no leader {key}", kind="leader", key=key)

    def check_unit(self, key: str) -> None:
        """A unit handler reads only their own unit (inbox, scores); others 404."""
        if self.role is Role.unit_handler and key != self.actor.unit:
            raise NotFoundError(f"no unit {key!r}", kind="unit", key=key)
        if self.role in (Role.leader, Role.grid_worker, Role.public):
            raise NotFoundError(f"no unit {key!r}", kind="unit", key=key)

    def area_codes(self, layer: str, on: datetime | None = None) -> set[str] | None:
        """Codes of ``layer`` this scope may see on a map (None: all).

        A leader sees the objects assigned to them on ``on`` (default now).
        """
        if self.role is not Role.leader:
            return None
        t = on or datetime.now(UTC)
        return {
            code
            for lay, code, start, end in self.leader_windows
            if lay == layer and start <= t and (end is None or t < end)
        }

    def check_area(self, layer: str, code: str, on: datetime | None = None) -> None:
        """Scores/areas of ``layer``: a leader reads only their own objects, a unit handler
        only their own unit (``layer="unit"``); others :class:`NotFoundError`.
        """
        if layer == "unit":
            self.check_unit(code)
            return
        codes = self.area_codes(layer, on)
        if codes is not None and code not in codes:
            raise NotFoundError(f"no {layer} {code!r}", kind=layer, key=code)

    def can_see_point(self, point: Any) -> bool:
        """Whether this scope sees an assessment point (测评点位).

        A unit handler sees the points their unit answers for (包保); a leader the
        points in their townships and communities; everyone else with map access all
        (a local choice: points are public places, as on the map).
        """
        if self.role is Role.unit_handler:
            return point.responsible_unit_id == self.unit_id and self.unit_id is not None
        if self.role is Role.leader:
            towns = self.area_codes("township") or set()
            comms = self.area_codes("community") or set()
            return point.township_code in towns or point.community_code in comms
        return self.has(Perm.map_read)

    def check_point(self, point: Any, code: str) -> None:
        """:class:`NotFoundError` for a point outside the scope (a guess looks missing)."""
        if point is None or not self.can_see_point(point):
            raise NotFoundError(f"no assessment point {code!r}", kind="point", key=code)

    def filter_codes(self, layer: str, codes: Iterable[str]) -> list[str]:
        """``codes`` of ``layer`` this scope may see (lists, rankings, dashboards)."""
        if layer == "unit" and self.role is Role.unit_handler:
            return [c for c in codes if c == self.actor.unit]
        allowed = self.area_codes(layer)
        return list(codes) if allowed is None else [c for c in codes if c in allowed]

    # ------------------------------------------------------------------ scores
    def score_codes(
        self, level: str, codes: Iterable[str], during: tuple[date, date] | None = None
    ) -> list[str]:
        """Codes of scored units at ``level`` whose scores this scope reads.

        Everyone who reads scores and sees all issues reads every score. A leader
        reads the townships, communities and road sections assigned to them during
        the scored period ``during`` (local days, end exclusive; default: now); a
        unit handler reads its own unit (``level="department"``); nobody else reads
        any. Published bulletins are not filtered: a 通报 is issued to all.
        """
        codes = list(codes)
        if not self.has(Perm.score_read):
            return []
        if self.sees_all:
            return codes
        if self.role is Role.leader and level in ("township", "community", "road_section"):
            if during is None:
                return self.filter_codes(level, codes)
            start, end = _day_start(during[0]), _day_start(during[1])
            mine = {
                code
                for lay, code, s, e in self.leader_windows
                if lay == level and s < end and (e is None or e > start)
            }
            return [c for c in codes if c in mine]
        if self.role is Role.unit_handler and level == "department":
            return self.filter_codes("unit", codes)
        return []

    def check_score(self, level: str, code: str, during: tuple[date, date] | None = None) -> None:
        """One unit's score or negative list: :class:`NotFoundError` outside the scope."""
        if not self.score_codes(level, [code], during):
            raise NotFoundError(f"no {level} {code!r}", kind=level, key=code)

    def require_all_scores(self) -> None:
        """Drafts that rank every unit (a bulletin before it is issued): only roles that
        read every score; others :class:`PermissionDeniedError`."""
        self.require(Perm.score_read)
        if not self.sees_all:
            raise PermissionDeniedError(
                "a draft bulletin ranks every unit: command center, inspectors and viewers only;"
                " published bulletins are at /api/v1/bulletins",
                role=self.role.value if self.role else "system",
            )

    def sees_case(
        self,
        level: str,
        unit_code: str,
        leader_key: str | None,
        during: tuple[date, date] | None = None,
    ) -> bool:
        """An accountability case: about a unit whose score the scope reads (in the
        case's period ``during``), or naming the leader."""
        if self.role is Role.leader and leader_key and leader_key == self.actor.leader:
            return True
        return bool(self.score_codes(level, [unit_code], during))

    def visible_units(self) -> Iterable[str] | None:
        """Unit keys whose objects this scope reads (None: all)."""
        if self.role is Role.unit_handler:
            return [self.actor.unit] if self.actor.unit else []
        return None
