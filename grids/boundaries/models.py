"""The domain model: generations, areas, road sections, key sites, units, leaders,
assignments, categories and routing rules (SQLAlchemy 2 typed ORM + GeoAlchemy2).

Geometry columns are :class:`~civgrid.grids.core.types.GeometryType` (SRID 4326,
WGS84 lon/lat; shapely on the Python side), indexed with GiST on PostGIS.

Boundaries follow MapIt: a :class:`Generation` is one boundary import, and
every spatial object (:class:`Area`, :class:`RoadSection`, :class:`KeySite`)
carries ``generation_low_id``/``generation_high_id``. An unchanged object just
has its ``generation_high_id`` raised by the next import; a changed one gets a
new row. So the object valid in generation *g* is the row with
``generation_low_id <= g <= generation_high_id``, and old generations stay
queryable. Parents and assignments refer to objects by their stable **code**
(never by row id), so they resolve correctly in every generation.

Routing follows FixMyStreet: who answers for a category at a place is data
(:class:`RoutingRule` rows matched against :class:`Assignment` rows), not code.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from civgrid.grids.core.db import Base
from civgrid.grids.core.types import GeometryType

__all__ = [
    "AREA_LAYERS",
    "LAYER_OF_TYPE",
    "LEVEL_TYPES",
    "ROUTING_STAMP_TABLES",
    "Area",
    "AreaType",
    "Assignment",
    "Base",
    "Category",
    "Generation",
    "KeySite",
    "Layer",
    "Leader",
    "OwnerCondition",
    "OwnerRule",
    "RoadSection",
    "Role",
    "RoutingRule",
    "RoutingStamp",
    "Shop",
    "SubjectKind",
    "Unit",
    "UnitKind",
]


class AreaType(enum.StrEnum):
    """Kinds of :class:`Area` (see the glossary)."""

    county = "county"  # 县 / 区
    township = "township"  # 乡镇
    street = "street"  # 街道
    community = "community"  # 社区
    village = "village"  # 行政村
    unit_grid = "unit_grid"  # 单元网格
    supervision_area = "supervision_area"  # 督导范围
    central_city = "central_city"  # 中心城区


class Layer(enum.StrEnum):
    """Spatial layers used by imports, routing rules and assignments.

    Area layers are *levels*: ``township`` holds areas of type township and
    street (乡镇/街道), ``community`` holds community and village (社区/行政村).
    """

    county = "county"
    township = "township"
    community = "community"
    unit_grid = "unit_grid"
    supervision_area = "supervision_area"
    road_section = "road_section"
    key_site = "key_site"
    central_city = "central_city"
    shop = "shop"  # 沿街商户: its frontage (门前五包); assignments and rules only
    assessment_point = "assessment_point"  # 测评点位: assignments and rules only


#: Area types of each area layer (level).
LEVEL_TYPES: dict[Layer, tuple[AreaType, ...]] = {
    Layer.county: (AreaType.county,),
    Layer.township: (AreaType.township, AreaType.street),
    Layer.community: (AreaType.community, AreaType.village),
    Layer.unit_grid: (AreaType.unit_grid,),
    Layer.supervision_area: (AreaType.supervision_area,),
    Layer.central_city: (AreaType.central_city,),
}
#: Layer of each area type.
LAYER_OF_TYPE: dict[AreaType, Layer] = {t: lay for lay, ts in LEVEL_TYPES.items() for t in ts}
#: The area layers, from the largest to the smallest, then supervision areas.
AREA_LAYERS: tuple[Layer, ...] = tuple(LEVEL_TYPES)


class UnitKind(enum.StrEnum):
    """Kinds of :class:`Unit`."""

    department = "department"  # 县直部门 / 责任单位
    street_office = "street_office"  # 街道办事处 / 乡镇人民政府
    community_committee = "community_committee"  # 居委会 / 村委会
    civilized_unit = "civilized_unit"  # 文明单位
    property_company = "property_company"  # 物业公司
    supervision_team = "supervision_team"  # 督查组 / 督导分队
    command_group = "command_group"  # 指挥部工作组


class Role(enum.StrEnum):
    """Roles of an :class:`Assignment` (who answers for what, and how)."""

    contact = "contact"  # 联系 (leader ↔ township)
    contract = "contract"  # 分包 (leader ↔ community)
    road_chief = "road_chief"  # 路长
    pairing = "pairing"  # 联建 / 结对共建
    responsible = "responsible"  # 责任单位
    lead = "lead"  # 牵头单位
    supervision = "supervision"  # 督导


class SubjectKind(enum.StrEnum):
    """Who holds an assignment: a unit or a leader."""

    unit = "unit"
    leader = "leader"


def _enum(cls: type[enum.StrEnum], name: str) -> SAEnum:
    """A portable enum column: VARCHAR(32) + CHECK constraint, values = the enum values."""
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _gen_fk() -> Any:
    return ForeignKey("generations.id", ondelete="RESTRICT")


class Generation(Base):
    """One boundary import (边界版本), as in MapIt.

    ``active`` is set when the import is complete; the *current* generation is
    the active one with the highest id. Deactivating the newest generation makes
    the previous one current again.
    """

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    activated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    def __repr__(self) -> str:
        return f"<Generation {self.id} active={self.active} source={self.source!r}>"


class _Versioned:
    """Columns shared by spatial objects that live in a range of generations."""

    generation_low_id: Mapped[int] = mapped_column(_gen_fk(), nullable=False)
    generation_high_id: Mapped[int] = mapped_column(_gen_fk(), nullable=False)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def in_generation(self, generation_id: int) -> bool:
        """Whether this row is valid in generation ``generation_id``."""
        return self.generation_low_id <= generation_id <= self.generation_high_id


class Area(_Versioned, Base):
    """A polygonal area: county, township/street, community/village, unit grid or
    supervision area. Geometry: MultiPolygon, WGS84 lon/lat.

    ``code`` is the 12-digit statistical division code (统计用区划代码) for
    townships and communities, 6 or 12 digits for a county, 15 digits for a unit
    grid (the community's 12 + a 3-digit sequence); supervision areas keep the
    code of their source. ``parent_code`` names the parent area, resolved in the
    same generation.
    """

    __tablename__ = "areas"
    __table_args__ = (
        UniqueConstraint("type", "code", "generation_low_id", name="uq_areas_type_code_gen"),
        Index("ix_areas_type_code", "type", "code"),
        Index("ix_areas_generations", "generation_low_id", "generation_high_id"),
        Index("ix_areas_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[AreaType] = mapped_column(_enum(AreaType, "area_type"), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(String(32))
    geom: Mapped[Any] = mapped_column(GeometryType("MULTIPOLYGON"), nullable=False)

    @property
    def layer(self) -> Layer:
        """The layer (level) of this area's type."""
        return LAYER_OF_TYPE[AreaType(self.type)]

    def __repr__(self) -> str:
        return (
            f"<Area {self.type} {self.code} {self.name} "
            f"gen {self.generation_low_id}–{self.generation_high_id}>"
        )


class RoadSection(_Versioned, Base):
    """A road section (路段) with a road chief (路长). Geometry: LineString, lon/lat."""

    __tablename__ = "road_sections"
    __table_args__ = (
        UniqueConstraint("code", "generation_low_id", name="uq_road_sections_code_gen"),
        Index("ix_road_sections_code", "code"),
        Index("ix_road_sections_generations", "generation_low_id", "generation_high_id"),
        Index("ix_road_sections_geom", "geom", postgresql_using="gist").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    extent: Mapped[str | None] = mapped_column(String(500))
    geom: Mapped[Any] = mapped_column(GeometryType("LINESTRING"), nullable=False)

    @property
    def layer(self) -> Layer:
        """Always :attr:`Layer.road_section`."""
        return Layer.road_section

    def __repr__(self) -> str:
        return f"<RoadSection {self.code} {self.name}>"


class KeySite(_Versioned, Base):
    """A key site (重点点位) and its zone (周边 ``zone_radius_m`` metres, default 400).

    Geometry: Point or (Multi)Polygon, WGS84 lon/lat. ``kind`` is e.g. market,
    bus_station, hsr_station, school, hospital, park, square, public_toilet,
    commercial_complex.
    """

    __tablename__ = "key_sites"
    __table_args__ = (
        UniqueConstraint("code", "generation_low_id", name="uq_key_sites_code_gen"),
        Index("ix_key_sites_code", "code"),
        Index("ix_key_sites_generations", "generation_low_id", "generation_high_id"),
        Index("ix_key_sites_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
        CheckConstraint("zone_radius_m >= 0", name="zone_radius_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    zone_radius_m: Mapped[float] = mapped_column(Float, nullable=False, default=400.0)
    geom: Mapped[Any] = mapped_column(GeometryType("GEOMETRY"), nullable=False)

    @property
    def layer(self) -> Layer:
        """Always :attr:`Layer.key_site`."""
        return Layer.key_site

    def __repr__(self) -> str:
        return f"<KeySite {self.code} {self.kind} {self.name}>"


class Unit(Base):
    """An organisation: department, street office, community committee, civilized
    unit, property company, supervision team or command group.

    A supervision team is a unit of kind ``supervision_team`` whose areas are
    ``supervision_area`` areas linked by ``supervision`` assignments.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    kind: Mapped[UnitKind] = mapped_column(_enum(UnitKind, "unit_kind"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    area_code: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Unit {self.key} {self.kind} {self.name}>"


class Leader(Base):
    """A county/city leader (县级领导), recorded by a stable key and title.

    ``name`` is optional (absent in the demo). There is deliberately no phone column.
    """

    __tablename__ = "leaders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    rank: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<Leader {self.key} {self.title}>"


class Category(Base):
    """An issue category (问题类别) in a tree, linked to the assessment item it protects.

    ``deadline_hours`` is the default time to fix (限期整改); ``tags`` mark
    groups such as ``hard_item`` (the nine hard items), ``five_clean`` (五清)
    and ``shopfront_five`` (门前五包).
    """

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    deadline_hours: Mapped[int | None] = mapped_column(Integer)
    assessment_item: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(JSON)

    parent: Mapped[Category | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Category {self.code} {self.name}>"


class Assignment(Base):
    """Who answers for what: a unit or leader → an area, road section or key site.

    The object is named by ``object_layer`` and its stable ``object_code`` so
    the assignment survives boundary generations. ``category_code`` narrows a
    duty to one category subtree (a department leading *traffic* county-wide);
    null means every category. Valid on dates ``valid_from`` ≤ d < ``valid_to``
    (``valid_to`` null = still valid). ``person_title`` names the responsible person
    of the holding unit **by title** (物业经理, 网格长, 路长, 点位负责人 …), never by
    name (see :mod:`civgrid.grids.boundaries.responsibility`).
    """

    __tablename__ = "assignments"
    __table_args__ = (
        CheckConstraint(
            "(subject_kind = 'unit' AND unit_id IS NOT NULL AND leader_id IS NULL) OR "
            "(subject_kind = 'leader' AND leader_id IS NOT NULL AND unit_id IS NULL)",
            name="one_subject",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("ix_assignments_object", "object_layer", "object_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "assignment_role"), nullable=False)
    subject_kind: Mapped[SubjectKind] = mapped_column(
        _enum(SubjectKind, "subject_kind"), nullable=False
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), index=True
    )
    leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("leaders.id", ondelete="CASCADE"), index=True
    )
    object_layer: Mapped[Layer] = mapped_column(_enum(Layer, "object_layer"), nullable=False)
    object_code: Mapped[str] = mapped_column(String(32), nullable=False)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("categories.code", ondelete="CASCADE")
    )
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    person_title: Mapped[str | None] = mapped_column(Text)

    unit: Mapped[Unit | None] = relationship()
    leader: Mapped[Leader | None] = relationship()

    def valid_on(self, day: date) -> bool:
        """Whether the assignment holds on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    # The one "assignment in force" condition: assignments are half-open,
    # valid_from <= d < valid_to, so a contract ending on the 1st is over on the 1st.
    @classmethod
    def in_force_on(cls, day: date) -> ColumnElement[bool]:
        """SQL condition: the assignment holds on ``day``."""
        return and_(cls.valid_from <= day, or_(cls.valid_to.is_(None), cls.valid_to > day))

    @classmethod
    def in_force_during(cls, first: date, last: date) -> ColumnElement[bool]:
        """SQL condition: the assignment holds on at least one day of ``first``…``last``
        (both inclusive).
        """
        return and_(cls.valid_from <= last, or_(cls.valid_to.is_(None), cls.valid_to > first))

    @property
    def subject_key(self) -> str:
        """Key of the unit or leader."""
        subject = self.unit if self.subject_kind == SubjectKind.unit else self.leader
        return subject.key if subject is not None else ""

    def __repr__(self) -> str:
        return (
            f"<Assignment {self.id} {self.subject_kind}:{self.subject_key} {self.role} "
            f"{self.object_layer}:{self.object_code}>"
        )


class RoutingRule(Base):
    """Routing as data: for a category (subtree) and a layer, which role answers.

    A rule says: when an issue of ``category_code`` (or a descendant; null = any
    category) lies on an object of ``layer``, the holders of ``role``
    assignments on that object (restricted to ``subject_kind`` and, for units,
    ``unit_kind``) are part of the answer. The rules of the most specific
    category for a (layer, role, subject_kind) replace those of its ancestors;
    ``priority`` orders the answer (smaller first).
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint(
            "category_code",
            "layer",
            "role",
            "subject_kind",
            "unit_kind",
            name="uq_routing_rules_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("categories.code", ondelete="CASCADE")
    )
    layer: Mapped[Layer] = mapped_column(_enum(Layer, "rule_layer"), nullable=False)
    role: Mapped[Role] = mapped_column(_enum(Role, "rule_role"), nullable=False)
    subject_kind: Mapped[SubjectKind] = mapped_column(
        _enum(SubjectKind, "rule_subject_kind"), nullable=False
    )
    unit_kind: Mapped[UnitKind | None] = mapped_column(_enum(UnitKind, "rule_unit_kind"))
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=100)
    note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return (
            f"<RoutingRule {self.id} {self.category_code or '*'} × {self.layer} → "
            f"{self.subject_kind}/{self.unit_kind or '*'} {self.role}>"
        )


class RoutingStamp(Base):
    """One row whose ``stamp`` changes with every write to what routing reads.

    Triggers (migration ``0535``; on SQLite also :func:`sqlite_stamp_triggers` after
    every upgrade) give ``stamp`` a new random value in the same
    transaction as any insert, update or delete of categories, routing rules,
    owner rules, assignments, units and leaders (and, since migration 0630, assessment
    points) — whoever writes (the API, the
    CLI, another worker, plain SQL). Each process caches those tables and reads
    this row to know whether its copy is current
    (:class:`civgrid.grids.boundaries.routing.RoutingTables`).
    """

    __tablename__ = "routing_stamps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger, nullable=False)


#: The tables whose writes change the routing stamp (everything routing reads).
ROUTING_STAMP_TABLES = (
    "categories",
    "routing_rules",
    "owner_rules",
    "assignments",
    "units",
    "leaders",
)
#: Tables whose writes also change the stamp since migration 0630: the assessment-point
#: register, kept with the routing tables (``RoutingTables.point_index``).
POINT_STAMP_TABLES = ("assessment_points",)


def sqlite_stamp_triggers(tables: Sequence[str] = ROUTING_STAMP_TABLES) -> list[str]:
    """SQLite's routing-stamp triggers, as ``CREATE TRIGGER IF NOT EXISTS`` statements.

    SQLite's ``ALTER`` copies a table to change a constraint (Alembic's batch mode), and
    the copy has no triggers: the migration environment runs these after every upgrade,
    so a later migration that copies one of the tables cannot silently switch the
    routing cache off (PostgreSQL alters in place and keeps its statement triggers).

    >>> sqlite_stamp_triggers()[0].split(" ON ")[0]
    'CREATE TRIGGER IF NOT EXISTS trg_categories_insert_routing_stamp AFTER INSERT'
    """
    return [
        f"CREATE TRIGGER IF NOT EXISTS trg_{table}_{event}_routing_stamp AFTER "
        f"{event.upper()} ON {table} BEGIN UPDATE routing_stamps SET stamp = random() "
        "WHERE id = 1; END"
        for table in tables
        for event in ("insert", "update", "delete")
    ]


class OwnerCondition(enum.StrEnum):
    """When an :class:`OwnerRule` step applies to the object found on its layer."""

    at_place = "at_place"  # the object is at the point (covers it, nearest road, nearest zone)
    on_site = "on_site"  # key sites: inside the polygon, or within ``on_site_m`` of a point site;
    # shops: within ``on_site_m`` of the frontage


class OwnerRule(Base):
    """One step of an owner precedence list: who **owns** an issue (must fix it).

    The routing rules say who answers; the owner rules say which of them owns.
    For a category, the steps of the most specific category in its chain that
    has any replace the default list (``category_code`` null); the first step,
    by ``rank``, that finds a holder of ``role`` on an object of ``layer`` at
    the point (under ``condition``) gives the owner. Where several responsible
    units hold one place and a lead unit is designated on it, the lead owns
    (notice 001: "几个单位共同建设的，反馈给牵头单位").
    """

    __tablename__ = "owner_rules"
    __table_args__ = (UniqueConstraint("category_code", "rank", name="uq_owner_rules_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("categories.code", ondelete="CASCADE")
    )
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    layer: Mapped[Layer] = mapped_column(_enum(Layer, "owner_layer"), nullable=False)
    role: Mapped[Role] = mapped_column(_enum(Role, "owner_role"), nullable=False)
    condition: Mapped[OwnerCondition] = mapped_column(
        _enum(OwnerCondition, "owner_condition"), nullable=False, default=OwnerCondition.at_place
    )
    #: For ``on_site``: metres from a point site that still count as on the site.
    on_site_m: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return (
            f"<OwnerRule {self.category_code or '*'} #{self.rank} {self.layer} "
            f"{self.role} {self.condition}>"
        )


class Shop(Base):
    """A street-front shop (沿街商户) in the register and its frontage (门前五包).

    ``frontage`` is the stretch of pavement the shop answers for, a LineString or
    (Multi)Polygon in WGS84 lon/lat; ``min_/max_`` lon/lat are its bounding box
    (degrees), a portable pre-filter for the snap. ``frontage_duties`` are the keys
    of the duties its signed responsibility letter (责任书, signed on
    ``responsibility_letter``) lists (:data:`civgrid.grids.boundaries.shops.DUTIES`).
    ``enforcement_grid_unit`` is the unit of the 城管 grid officer
    (城管网格员所在单位); the register also writes it as the ``responsible``
    assignment on (``shop``, ``code``), so routing and the owner rules treat the
    shop like any other object. Shops are not versioned by boundary generation.
    """

    __tablename__ = "shops"
    __table_args__ = (
        Index("ix_shops_bbox", "min_lon", "min_lat"),
        Index("ix_shops_street", "street"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    street: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    responsibility_letter: Mapped[date | None] = mapped_column(Date)
    frontage_duties: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    enforcement_grid_unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=False
    )
    frontage: Mapped[Any] = mapped_column(GeometryType("GEOMETRY"), nullable=False)
    min_lon: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lon: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    enforcement_grid_unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<Shop {self.code} {self.name}>"


class AssessmentPoint(Base):
    """A field-assessment point (测评点位) in the register.

    ``geom`` is a Point (a point site: a bus stop, a toilet, a school gate) or a
    (Multi)Polygon (a market, a square, a compound), WGS84 lon/lat. A report snaps to
    the point inside its polygon, or within ``radius_m`` metres of a point site
    (:mod:`civgrid.grids.boundaries.assessment_points`). ``min_/max_`` lon/lat are the
    bounding box of the geometry (degrees), a portable pre-filter. ``point_type`` is a
    type code of the point standards (:mod:`civgrid.grids.points.standards`);
    ``township_code``/``community_code`` are the areas the point lies in (by snapping
    at import); ``point_chief`` is the point chief (点位长) by title, never by name;
    ``key_site_code`` links the key site the point also is. The responsible unit
    (包保单位) is also written as the ``responsible`` assignment on
    (``assessment_point``, ``code``), so routing and the owner rules use it like any
    other object. Points are not versioned by boundary generation.
    """

    __tablename__ = "assessment_points"
    __table_args__ = (
        Index("ix_assessment_points_bbox", "min_lon", "min_lat"),
        Index("ix_assessment_points_type", "point_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    point_type: Mapped[str] = mapped_column(String(32), nullable=False)
    geom: Mapped[Any] = mapped_column(GeometryType("GEOMETRY"), nullable=False)
    radius_m: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lon: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    township_code: Mapped[str | None] = mapped_column(String(32))
    community_code: Mapped[str | None] = mapped_column(String(32), index=True)
    responsible_unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    point_chief: Mapped[str | None] = mapped_column(String(100))
    must_check: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    key_site_code: Mapped[str | None] = mapped_column(String(32))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    responsible_unit: Mapped[Unit] = relationship()

    def __repr__(self) -> str:
        return f"<AssessmentPoint {self.code} {self.name}>"
