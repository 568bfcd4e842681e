"""ORM models of issues (问题) and their life: history, photos, 督办 notices, extensions.

* :class:`Issue` — one reported problem at a place. Optimistic concurrency by
  a ``version`` column (SQLAlchemy ``version_id_col``: a stale update raises
  and the service turns it into a conflict). The place is kept as snapped at
  report time (area codes + the boundary generation), so an old issue keeps
  its original area after boundaries change.
* :class:`PartySet` / :class:`PartySetMember` — who answers for it: exactly one
  ``owner`` unit (the lead unit from the routing rules), ``co_responsible`` units,
  and the leaders (``contract``, ``contact``, ``road_chief``) at report time. The
  list is an immutable, content-addressed set shared by every issue with the same
  parties (``issues.party_set_id``; :mod:`civgrid.grids.issues.member_sets`).
* :class:`PlaceSet` / :class:`PlaceSetMember` — every object the point lay on
  (layer + code), shared the same way (``issues.place_set_id``), so queries by area
  of any level, road section or key site are one ``IN`` over a few thousand sets.
* :class:`IssueEvent` — the append-only history (who, role, unit, when,
  from → to, note, photos). Updates and deletes are refused.
* :class:`Photo` — a stored image (content hash, path, type, size).
* :class:`SupervisionNotice` — a numbered 督办通知 chasing an overdue issue.
* :class:`ExtensionRequest` — a request for more time (延期) or a
  postponement (缓办) and the command center's decision.
* :class:`TransferRequest` — a unit's request to give the issue to another
  unit (转办申请) and the command center's decision
  (:mod:`civgrid.grids.issues.transfers`).

Timestamps are stored in UTC (:class:`UTCDateTime`: aware on PostgreSQL,
naive UTC in SQLite) and always come back as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import (
    Mapped,
    mapped_column,
    object_session,
    relationship,
)

from civgrid.grids.core.db import Base
from civgrid.grids.core.errors import DomainError
from civgrid.grids.core.types import GeometryType, UTCDateTime, utc
from civgrid.grids.issues.workflow import State

__all__ = [
    "ExtensionRequest",
    "Issue",
    "IssueCampaign",
    "IssueEvent",
    "IssueRouting",
    "PartySet",
    "PartySetMember",
    "Photo",
    "PlaceSet",
    "PlaceSetMember",
    "SupervisionNotice",
    "TransferRequest",
    "UTCDateTime",
    "utc",
]


#: The open states as SQL (the predicate of the partial index of the queues; a state
#: added to the table as open needs a migration of that index).
OPEN_STATES_SQL = "state IN ('triage', 'assigned', 'rectifying', 'submitted', 'returned')"


def _ts() -> Any:
    return UTCDateTime()


def _state_enum() -> Enum:
    """Workflow state: VARCHAR(16) + CHECK constraint (portable, like the grids enums)."""
    return Enum(
        State,
        name="issue_state",
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Issue(Base):
    """A reported problem at a place (问题).

    The lifecycle is :mod:`civgrid.grids.issues.workflow`; ``state`` holds a
    :class:`~civgrid.grids.issues.workflow.State` value. ``overdue``, ``escalated``
    and ``extension_pending`` are flags on an open issue.
    """

    __tablename__ = "issues"
    __table_args__ = (
        Index("ix_issues_state_category", "state", "category_code"),
        Index("ix_issues_category_lonlat", "category_code", "lon", "lat"),
        # bbox filters on SQLite; PostGIS answers them from the GiST on geom (0620)
        Index("ix_issues_lonlat", "lon", "lat").ddl_if(dialect="sqlite"),
        Index("ix_issues_reported_at", "reported_at"),
        Index("ix_issues_deadline", "deadline"),
        Index("ix_issues_closed_at", "closed_at"),  # closed in a month (bulletins, campaigns)
        Index("ix_issues_owner", "owner_unit_id"),
        Index("ix_issues_unit_grid", "unit_grid_code"),
        Index("ix_issues_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
        # a unit's or leader's issues: ``party_set_id IN (sets naming it)``, by state
        # (the to-do queues); an area's, road's or site's issues likewise
        Index("ix_issues_party_set_state", "party_set_id", "state"),
        Index("ix_issues_place_set", "place_set_id"),
        # the to-do queues: open issues by deadline (a few thousand of 10⁶, bench/scale.py)
        Index(
            "ix_issues_open_deadline",
            "deadline",
            "id",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))

    state: Mapped[State] = mapped_column(_state_enum(), nullable=False)
    category_code: Mapped[str] = mapped_column(
        ForeignKey("categories.code", ondelete="RESTRICT"), nullable=False
    )
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False, default="normal")
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(500))

    # reporter (the actor who reported, plus optional citizen details)
    reporter_who: Mapped[str | None] = mapped_column(String(200))
    reporter_role: Mapped[str] = mapped_column(String(32), nullable=False)
    reporter_unit_key: Mapped[str | None] = mapped_column(String(32))
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))
    anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    # the place, WGS84 lon/lat, as given and as snapped
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(GeometryType("POINT"), nullable=True)
    input_crs: Mapped[str | None] = mapped_column(String(16))
    input_lon: Mapped[float | None] = mapped_column(Float)
    input_lat: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(16), nullable=False, default="point")
    generation_id: Mapped[int | None] = mapped_column(
        ForeignKey("generations.id", ondelete="RESTRICT")
    )
    county_code: Mapped[str | None] = mapped_column(String(32))
    township_code: Mapped[str | None] = mapped_column(String(32), index=True)
    community_code: Mapped[str | None] = mapped_column(String(32), index=True)
    unit_grid_code: Mapped[str | None] = mapped_column(String(32))
    road_section_code: Mapped[str | None] = mapped_column(String(32))
    # The routing answer (:meth:`Responsibility.to_dict
    # <civgrid.grids.boundaries.routing.Responsibility.to_dict>`): the issue's own copy
    # (column ``routing``), or — back-fill — a shared one (``routing_id``): read both
    # through :attr:`routing`.
    own_routing: Mapped[dict[str, Any] | None] = mapped_column("routing", JSON)
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("issue_routings.id"))
    triage_reason: Mapped[str | None] = mapped_column(String(32))

    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    # who answers for it and where it lay: shared immutable sets (None: no member); no
    # ON DELETE action, as ``routing_id`` (migration 0610 adds them in place on SQLite)
    party_set_id: Mapped[int | None] = mapped_column(ForeignKey("party_sets.id"))
    place_set_id: Mapped[int | None] = mapped_column(ForeignKey("place_sets.id"))

    # time
    reported_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    assigned_at: Mapped[datetime | None] = mapped_column(_ts())
    deadline: Mapped[datetime | None] = mapped_column(_ts())
    deadline_rule: Mapped[str | None] = mapped_column(String(16))
    submitted_at: Mapped[datetime | None] = mapped_column(_ts())
    closed_at: Mapped[datetime | None] = mapped_column(_ts())

    # flags on an open issue, and when each first happened
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    extension_pending: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    overdue_at: Mapped[datetime | None] = mapped_column(_ts())
    escalated_at: Mapped[datetime | None] = mapped_column(_ts())

    # counters (statistics)
    return_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    notice_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    # links (not indexed: read from this row, followed by the parent's key; 0620)
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL")
    )
    recurrence_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL")
    )
    repeat_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    measures: Mapped[str | None] = mapped_column(Text)  # 整改措施, from the last submission
    reinspection_result: Mapped[str | None] = mapped_column(String(16))  # passed / failed
    reinspection_note: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    owner_unit = relationship("Unit", foreign_keys=[owner_unit_id], lazy="joined")
    category = relationship("Category", foreign_keys=[category_code], lazy="joined")
    # Read-only views of the shared sets: writers point the issue at another set
    # (:func:`civgrid.grids.issues.member_sets.point_at_parties` / ``…_places``).
    parties: Mapped[list[PartySetMember]] = relationship(
        primaryjoin="Issue.party_set_id == foreign(PartySetMember.set_id)",
        viewonly=True,
        order_by="PartySetMember.id",
    )
    places: Mapped[list[PlaceSetMember]] = relationship(
        primaryjoin="Issue.place_set_id == foreign(PlaceSetMember.set_id)",
        viewonly=True,
        order_by="PlaceSetMember.id",
    )
    events: Mapped[list[IssueEvent]] = relationship(
        back_populates="issue", order_by="IssueEvent.id", passive_deletes="all"
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="issue", order_by="Photo.id", passive_deletes="all"
    )
    notices: Mapped[list[SupervisionNotice]] = relationship(
        back_populates="issue", order_by="SupervisionNotice.id", passive_deletes="all"
    )
    extensions: Mapped[list[ExtensionRequest]] = relationship(
        back_populates="issue", order_by="ExtensionRequest.id", passive_deletes="all"
    )
    transfers: Mapped[list[TransferRequest]] = relationship(
        back_populates="issue", order_by="TransferRequest.id", passive_deletes="all"
    )
    duplicate_of: Mapped[Issue | None] = relationship(
        remote_side=[id], foreign_keys=[duplicate_of_id]
    )
    recurrence_of: Mapped[Issue | None] = relationship(
        remote_side=[id], foreign_keys=[recurrence_of_id]
    )

    shared_routing: Mapped[IssueRouting | None] = relationship(foreign_keys=[routing_id])

    @property
    def routing(self) -> dict[str, Any] | None:
        """The routing answer: the issue's own copy, else the shared one it points at."""
        if self.own_routing is not None:
            return self.own_routing
        shared = self.shared_routing if self.routing_id is not None else None
        return shared.answer if shared is not None else None

    @routing.setter
    def routing(self, value: dict[str, Any] | None) -> None:
        self.own_routing = value
        if value is not None:
            self.routing_id = None

    def __repr__(self) -> str:
        return f"<Issue {self.id} {self.state} {self.category_code} v{self.version}>"


class IssueRouting(Base):
    """A routing answer stored once for every issue that shares it (back-fill).

    Back-fill resolves each place × category × assignment epoch once
    (:mod:`civgrid.grids.issues.backfill`); its answer — the same for thousands of
    issues — is kept here once, keyed by the SHA-256 of its canonical JSON
    (:func:`civgrid.grids.issues.routing_store.answer_hash`), and the issues point
    at it (``issues.routing_id``). Rows are never changed: an issue re-routed later
    gets its own copy (:attr:`Issue.routing`'s setter).
    """

    __tablename__ = "issue_routings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class PartySet(Base):
    """An immutable list of parties shared by every issue that has exactly these.

    Keyed by the SHA-256 of its members (:func:`civgrid.grids.issues.member_sets.party_hash`):
    back-fill writes one per routing group, live intake finds the one of its answer.
    Rows are never changed or deleted; an issue whose parties change points at
    another set.
    """

    __tablename__ = "party_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class PartySetMember(Base):
    """A unit or leader answering for the issues of a party set, with their role.

    Roles: ``owner`` (the one unit that must fix it and is scored),
    ``co_responsible`` (other responsible units; they see it), and the
    leaders ``contract``, ``contact``, ``road_chief``. Why each answers (the rule, the
    assignment, the distance) is in the issue's routing answer (:attr:`Issue.routing`),
    not here: it differs from point to point and would defeat the sharing.
    """

    __tablename__ = "party_set_members"
    __table_args__ = (
        CheckConstraint(
            "(unit_id IS NOT NULL AND leader_id IS NULL) OR "
            "(leader_id IS NOT NULL AND unit_id IS NULL)",
            name="one_subject",
        ),
        # "the sets naming this unit / leader (in this role)", answered from the index
        Index("ix_party_set_members_unit", "unit_id", "role", "set_id"),
        Index("ix_party_set_members_leader", "leader_id", "role", "set_id"),
        Index("ix_party_set_members_set", "set_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(
        ForeignKey("party_sets.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("leaders.id", ondelete="RESTRICT"))

    unit = relationship("Unit", lazy="joined")
    leader = relationship("Leader", lazy="joined")

    @property
    def key(self) -> str:
        """Key of the unit or leader."""
        subject = self.unit if self.unit_id is not None else self.leader
        return subject.key if subject is not None else ""


class PlaceSet(Base):
    """An immutable list of places (layer, code) shared by every issue that lay on exactly
    these objects (keyed like :class:`PartySet`)."""

    __tablename__ = "place_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class PlaceSetMember(Base):
    """One object the issues of a place set lay on at report time: (layer, code).

    The distance of an issue's point from the object is in its routing answer.
    """

    __tablename__ = "place_set_members"
    __table_args__ = (
        UniqueConstraint("set_id", "layer", "code", name="uq_place_set_members_set_layer_code"),
        Index("ix_place_set_members_layer_code", "layer", "code", "set_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(
        ForeignKey("place_sets.id", ondelete="CASCADE"), nullable=False
    )
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)


class IssueCampaign(Base):
    """An issue reported inside an active campaign (专项行动) of the city profile.

    ``campaign_key`` is the campaign's ``key`` in ``city.campaigns``; the tag is set
    at report time (:mod:`civgrid.grids.issues.campaigns`) and kept if the profile
    changes later.
    """

    __tablename__ = "issue_campaigns"
    __table_args__ = (
        UniqueConstraint("issue_id", "campaign_key", name="uq_issue_campaigns_issue_campaign"),
        Index("ix_issue_campaigns_campaign", "campaign_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="CASCADE"), nullable=False
    )
    campaign_key: Mapped[str] = mapped_column(String(32), nullable=False)


class IssueEvent(Base):
    """One entry of an issue's append-only history.

    ``action`` is a workflow :class:`~civgrid.grids.issues.workflow.Action` or a
    non-transition event (``report``, ``supervise``, ``escalate``,
    ``extension_request``, ``extension_decision``, ``duplicate_linked``,
    ``duplicate_unlinked``, ``recurrence``, ``overdue``, ``comment``).
    """

    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_issue", "issue_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor_who: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_unit_key: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    issue: Mapped[Issue] = relationship(back_populates="events")
    photos: Mapped[list[Photo]] = relationship(back_populates="event", order_by="Photo.id")

    def __repr__(self) -> str:
        move = f"{self.from_state}→{self.to_state}"
        return f"<IssueEvent {self.id} #{self.issue_id} {self.action} {move}>"


@event.listens_for(IssueEvent, "before_update")
def _no_update(_mapper: Any, _conn: Any, target: IssueEvent) -> None:
    session = object_session(target)
    if session is not None and not session.is_modified(target, include_collections=False):
        return  # only a collection (its photos) changed: no UPDATE is emitted
    raise DomainError("issue history is append-only", kind="issue_event", key=target.id)


@event.listens_for(IssueEvent, "before_delete")
def _no_delete(_mapper: Any, _conn: Any, target: IssueEvent) -> None:
    raise DomainError("issue history is append-only", kind="issue_event", key=target.id)


class Photo(Base):
    """A photo of an issue (at report, fix or re-inspection), stored on disk by content hash.

    ``path`` is relative to the configured photo directory.
    """

    __tablename__ = "issue_photos"
    __table_args__ = (Index("ix_issue_photos_sha256", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("issue_events.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    mime: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    filename: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(16), nullable=False, default="report")
    created_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)

    issue: Mapped[Issue] = relationship(back_populates="photos")
    event: Mapped[IssueEvent | None] = relationship(back_populates="photos")


class SupervisionNotice(Base):
    """A numbered 督办通知 chasing an overdue (or repeatedly returned) issue.

    Addressed to the owner unit and the leaders answering for the place;
    ``deadline`` is the second deadline after which the issue escalates.
    ``number`` is unique, e.g. ``<prefix>〔2025〕第012号``
    (the city's ``notice_prefix``) (``year`` + ``seq``).
    """

    __tablename__ = "supervision_notices"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_supervision_notices_year_seq"),
        UniqueConstraint("number", name="uq_supervision_notices_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    leader_keys: Mapped[list[str] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    deadline: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    escalated_at: Mapped[datetime | None] = mapped_column(_ts())
    resolved_at: Mapped[datetime | None] = mapped_column(_ts())
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)

    issue: Mapped[Issue] = relationship(back_populates="notices")
    unit = relationship("Unit", lazy="joined")


class ExtensionRequest(Base):
    """A unit's request for more time (``extension`` 延期) or a postponement
    (``postponement`` 缓办), and the command center's decision.

    ``status``: ``pending`` → ``approved`` or ``refused``.
    """

    __tablename__ = "extension_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused')", name="status_known"),
        CheckConstraint("kind IN ('extension', 'postponement')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="extension")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    old_deadline: Mapped[datetime | None] = mapped_column(_ts())
    requested_deadline: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_unit_key: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(_ts())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_note: Mapped[str | None] = mapped_column(Text)
    granted_deadline: Mapped[datetime | None] = mapped_column(_ts())

    issue: Mapped[Issue] = relationship(back_populates="extensions")


class TransferRequest(Base):
    """A unit's request to give an issue to another unit (转办申请) and the decision.

    ``state``: ``pending`` → ``approved`` / ``refused`` by the command center, or
    ``lapsed`` when the issue stops being open first (the table of
    :mod:`civgrid.grids.issues.transfers`). At most one ``pending`` request per
    issue and requesting unit (a partial unique index, and a 409 before it).
    ``new_owner_unit`` is the unit an approval gave the issue to (the proposed
    one or another).
    """

    __tablename__ = "transfer_requests"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'approved', 'refused', 'lapsed')", name="state_known"
        ),
        Index("ix_transfer_requests_unit_state", "requesting_unit_id", "state"),
        Index(
            "uq_transfer_requests_one_pending",
            "issue_id",
            "requesting_unit_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issues.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    requesting_unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=False
    )
    #: The requester's role on the issue when asking: ``owner`` or ``co_responsible``.
    requesting_role: Mapped[str] = mapped_column(String(32), nullable=False)
    proposed_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT")
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_at: Mapped[datetime] = mapped_column(_ts(), nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(_ts())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_owner_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT")
    )

    issue: Mapped[Issue] = relationship(back_populates="transfers")
    requesting_unit = relationship("Unit", foreign_keys=[requesting_unit_id], lazy="joined")
    proposed_unit = relationship("Unit", foreign_keys=[proposed_unit_id], lazy="joined")
    new_owner_unit = relationship("Unit", foreign_keys=[new_owner_unit_id], lazy="joined")

    def __repr__(self) -> str:
        return f"<TransferRequest {self.id} #{self.issue_id} {self.state}>"
