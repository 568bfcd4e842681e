"""The store: one API over SQLite (embedded) and PostgreSQL + PostGIS (production).

Reads and lookups live here; boundary imports are in
:mod:`civgrid.grids.boundaries.imports`, routing in :mod:`civgrid.grids.boundaries.routing`.

Spatial lookups
---------------
* The **current** generation is answered by the in-process snap index
  (:attr:`Store.snap_index`, a :class:`~civgrid.grids.boundaries.index.GenerationIndex`)
  on both backends. It is built by :meth:`Store.rebuild_index` at start-up and
  replaced by one attribute assignment when a generation is activated.
* An **older** generation is answered by the database on PostGIS
  (``ST_Covers``; ``ST_DWithin`` in the metric CRS for road sections and zones)
  and, on SQLite, by an index built on demand from that generation's
  geometries and cached (a few generations, least recently used first out).

All coordinates are WGS84 lon/lat degrees, lon first; distances are metres.
"""

from __future__ import annotations

import copy
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, func, inspect, select, update
from sqlalchemy import types as sa_types
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from civgrid.geo.metric import metric_epsg_for
from civgrid.grids.boundaries.index import (
    DEFAULT_LINE_TOLERANCE_M,
    GenerationIndex,
    Hit,
    IndexLayer,
    ObjectInfo,
)
from civgrid.grids.boundaries.models import (
    AREA_LAYERS,
    LAYER_OF_TYPE,
    LEVEL_TYPES,
    Area,
    AreaType,
    Category,
    Generation,
    KeySite,
    Layer,
    Leader,
    RoadSection,
    Unit,
)
from civgrid.grids.core import migrate
from civgrid.grids.core.db import Backend, backend_name
from civgrid.grids.core.errors import InvalidInputError, NotFoundError
from civgrid.grids.core.types import SRID

if TYPE_CHECKING:
    from civgrid.grids.boundaries.routing import Responsibility, RoutingTables

#: ``Session.info`` key of the routing tables pinned by Store.pinned_routing_tables.
_PINNED_TABLES = "civgrid.pinned_routing_tables"


#: The tables whose whole rows may be cached with the routing tables: written only
#: under the routing stamp (ROUTING_STAMP_TABLES).
_STAMPED_MODELS = (Category, Unit, Leader)


@functools.cache  # mappings do not change once configured
def _attr_columns(model: type) -> dict[str, str]:
    """Attribute key → column name of ``model``."""
    return {a.key: a.columns[0].name for a in inspect(model).column_attrs}


@functools.cache
def _json_attrs(model: type) -> tuple[str, ...]:
    """Attributes of ``model`` whose values are mutable (JSON columns)."""
    return tuple(
        a.key for a in inspect(model).column_attrs if isinstance(a.columns[0].type, sa_types.JSON)
    )


def cached_object(session: Session, model: type[Any], key: str, value: Any) -> Any:
    """The ``model`` row whose ``key`` is ``value``, persistent in ``session``, read from
    the copy kept with the routing tables pinned in ``session``
    (:meth:`Store.pinned_routing_tables`, or read just before by
    :meth:`Store.routing_tables`); None when there is no such row.

    For categories, units and leaders: every write to them changes the routing stamp,
    so the copy is as current as the stamp read in this transaction. The whole table
    is read once per stamp. The object is new and the session's own, as if queried
    (never shared between sessions or threads; JSON values copied), or the one the
    session already holds.

    Raises
    ------
    ValueError
        No routing tables pinned in ``session``, or a model not under the stamp.
    """
    rows = cached_rows(session, model, key)
    values = rows.get(value)
    if values is None:
        return None
    ident = inspect(model).identity_key_from_primary_key([values["id"]])
    known = session.identity_map.get(ident)
    if known is not None:
        return known
    row = {k: values[name] for k, name in _attr_columns(model).items()}
    for k in _json_attrs(model):  # mutable: each object its own copy
        row[k] = copy.deepcopy(row[k])
    obj = model(**row)
    make_transient_to_detached(obj)  # its values become the loaded state
    session.add(obj)  # persistent and clean, as if loaded here (merge() costs more)
    return obj


def routing_pinned(session: Session) -> bool:
    """Whether ``session`` has routing tables pinned (:meth:`Store.pinned_routing_tables`)."""
    return session.info.get(_PINNED_TABLES) is not None


def cached_rows(session: Session, model: type[Any], key: str) -> dict[Any, dict[str, Any]]:
    """Every row of ``model`` by its ``key`` column, cached with the routing tables in
    ``session`` (see :func:`cached_object`); read in ``session`` on first use."""
    tables = session.info.get(_PINNED_TABLES)
    if tables is None or model not in _STAMPED_MODELS:
        raise ValueError(f"no cached rows of {model.__name__} here: pin the routing tables")
    name = f"{model.__tablename__}.{key}"
    rows = tables.rows.get(name)
    if rows is None:
        table = model.__table__
        rows = {r[key]: dict(r) for r in session.execute(select(table)).mappings()}
        # kept as long as the tables are: tables without a stamp serve one pin only
        tables.rows[name] = rows
    return rows


__all__ = ["GenerationRef", "Store", "valid_in"]

#: A generation given by id or as the row itself.
GenerationRef = int | Generation

_TYPE_ORDER = {t: i for i, t in enumerate(AreaType)}
#: Area layers where a point belongs to at most one area (smallest code on a shared edge).
TILING_LAYERS = frozenset({Layer.county, Layer.township, Layer.community, Layer.unit_grid})


def valid_in(model: Any, generation_id: int) -> Any:
    """SQL condition: ``model`` rows valid in generation ``generation_id``."""
    return and_(model.generation_low_id <= generation_id, model.generation_high_id >= generation_id)


def _gen_id(generation: GenerationRef) -> int:
    return generation.id if isinstance(generation, Generation) else int(generation)


class Store:
    """The civgrid database and the in-process index of its current generation.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        From :func:`civgrid.grids.core.db.make_engine` (SQLite or PostgreSQL + PostGIS).
    line_tolerance_m : float
        How far (metres) a point may lie from a road section to be "on" it.
    old_index_cache_size : int
        How many on-demand indexes of older generations to keep (SQLite).

    Attributes
    ----------
    engine : sqlalchemy.Engine
    backend : str
        ``"sqlite"`` or ``"postgis"``.
    snap_index : GenerationIndex
        The index of the current generation; replaced as a whole, never mutated.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        line_tolerance_m: float = DEFAULT_LINE_TOLERANCE_M,
        old_index_cache_size: int = 4,
    ) -> None:
        self.engine = engine
        self.backend: Backend = backend_name(engine)
        self.line_tolerance_m = float(line_tolerance_m)
        self._sessionmaker = sessionmaker(engine, expire_on_commit=False)
        self.snap_index: GenerationIndex = GenerationIndex.empty()
        self._lock = threading.Lock()
        self._old_indexes: OrderedDict[int, GenerationIndex] = OrderedDict()
        self._old_index_cache_size = old_index_cache_size
        self._routing_tables: RoutingTables | None = None

    def __repr__(self) -> str:
        return f"<Store {self.backend} {self.engine.url.render_as_string(hide_password=True)}>"

    # ------------------------------------------------------------------ sessions
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        Yields
        ------
        sqlalchemy.orm.Session
            Objects stay usable after the block (``expire_on_commit=False``).
        """
        session = self._sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reads only, each statement on its own.

        On PostgreSQL it runs in autocommit: no ``BEGIN`` and ``COMMIT`` round trips
        around a one-query lookup such as a request's account. Nothing is written
        through it. On SQLite, a plain :meth:`session` (its driver begins
        transactions only before writes anyway).

        Yields
        ------
        sqlalchemy.orm.Session
            Objects stay usable after the block.
        """
        if self.backend != "postgis":
            with self.session() as s:
                yield s
            return
        with self.engine.connect() as conn:
            session = Session(
                bind=conn.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
            try:
                yield session
            finally:
                session.close()

    @contextmanager
    def _use(self, session: Session | None) -> Iterator[Session]:
        """The caller's session (left alone) or a new one."""
        if session is not None:
            yield session
            return
        with self.session() as s:
            yield s

    # ------------------------------------------------------------------ schema
    def upgrade(self, revision: str = "head") -> str | None:
        """Run the Alembic migrations up to ``revision`` (default: newest).

        Returns
        -------
        str or None
            The revision the database is at afterwards.
        """
        return migrate.upgrade(self.engine, revision)

    def revision(self) -> str | None:
        """The migration revision of the database (None when empty)."""
        return migrate.current_revision(self.engine)

    # ------------------------------------------------------------------ generations
    def active_generation(self, session: Session | None = None) -> Generation | None:
        """The current generation: the active one with the highest id (None if none)."""
        with self._use(session) as s:
            return s.scalars(
                select(Generation)
                .where(Generation.active.is_(True))
                .order_by(Generation.id.desc())
                .limit(1)
            ).first()

    def generation(self, generation: GenerationRef, session: Session | None = None) -> Generation:
        """One generation by id.

        Raises
        ------
        NotFoundError
            No such generation.
        """
        with self._use(session) as s:
            gen = s.get(Generation, _gen_id(generation))
            if gen is None:
                raise NotFoundError(
                    f"no generation {_gen_id(generation)}", kind="generation", key=generation
                )
            return gen

    def generations(self, session: Session | None = None) -> list[Generation]:
        """Every generation, oldest first."""
        with self._use(session) as s:
            return list(s.scalars(select(Generation).order_by(Generation.id)))

    def generation_at(
        self, when: date | datetime, session: Session | None = None
    ) -> Generation | None:
        """The generation that was current at ``when`` (a date means the end of that day).

        Parameters
        ----------
        when : date or datetime
            Naive datetimes are taken as UTC.

        Returns
        -------
        Generation or None
            The active generation with the highest id activated at or before ``when``.
        """
        if not isinstance(when, datetime):
            when = datetime.combine(when, time.max)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._use(session) as s:
            gens = s.scalars(
                select(Generation)
                .where(Generation.active.is_(True), Generation.activated.is_not(None))
                .order_by(Generation.id.desc())
            )
            for gen in gens:
                activated = gen.activated
                if activated is not None and activated.tzinfo is None:
                    activated = activated.replace(tzinfo=UTC)
                if activated is not None and activated <= when:
                    return gen
            return None

    def _first_active(self, session: Session) -> Generation | None:
        return session.scalars(
            select(Generation).where(Generation.active.is_(True)).order_by(Generation.id).limit(1)
        ).first()

    def set_generation_active(self, generation: GenerationRef, active: bool = True) -> Generation:
        """Activate (or deactivate) a generation and rebuild the snap index.

        Deactivating the newest generation makes the previous one current again.

        Returns
        -------
        Generation
        """
        with self.session() as s:
            gen = self.generation(generation, session=s)
            gen.active = active
            if active and gen.activated is None:
                gen.activated = datetime.now(UTC)
        self.rebuild_index()
        return gen

    def _resolve_generation(self, generation: GenerationRef | None, session: Session) -> int | None:
        if generation is not None:
            return _gen_id(generation)
        idx = self.snap_index
        if idx.generation_id is not None:
            return idx.generation_id
        gen = self.active_generation(session)
        return gen.id if gen is not None else None

    # ------------------------------------------------------------------ index
    def build_index(
        self, generation: GenerationRef, session: Session | None = None
    ) -> GenerationIndex:
        """Build (but do not install) the snap index of a generation.

        Returns
        -------
        GenerationIndex
        """
        gen_id = _gen_id(generation)
        with self._use(session) as s:
            layers: list[IndexLayer] = []
            areas = s.execute(
                select(Area.id, Area.type, Area.code, Area.name, Area.parent_code, Area.geom)
                .where(valid_in(Area, gen_id))
                .order_by(Area.code)
            ).all()
            by_layer: dict[Layer, tuple[list[ObjectInfo], list[Any]]] = {
                lay: ([], []) for lay in AREA_LAYERS
            }
            for a in areas:
                lay = LAYER_OF_TYPE[AreaType(a.type)]
                by_layer[lay][0].append(
                    ObjectInfo(
                        a.id, lay.value, a.code, a.name, str(a.type), {"parent_code": a.parent_code}
                    )
                )
                by_layer[lay][1].append(a.geom)
            for lay, (infos, geoms) in by_layer.items():
                if infos:
                    layers.append(
                        IndexLayer(lay.value, "polygon", infos, geoms, tiling=lay in TILING_LAYERS)
                    )
            roads = s.execute(
                select(
                    RoadSection.id,
                    RoadSection.code,
                    RoadSection.name,
                    RoadSection.extent,
                    RoadSection.geom,
                )
                .where(valid_in(RoadSection, gen_id))
                .order_by(RoadSection.code)
            ).all()
            if roads:
                layers.append(
                    IndexLayer(
                        Layer.road_section.value,
                        "line",
                        [
                            ObjectInfo(
                                r.id,
                                Layer.road_section.value,
                                r.code,
                                r.name,
                                Layer.road_section.value,
                                {"extent": r.extent},
                            )
                            for r in roads
                        ],
                        [r.geom for r in roads],
                        tolerance_m=self.line_tolerance_m,
                    )
                )
            sites = s.execute(
                select(
                    KeySite.id,
                    KeySite.code,
                    KeySite.name,
                    KeySite.kind,
                    KeySite.zone_radius_m,
                    KeySite.geom,
                )
                .where(valid_in(KeySite, gen_id))
                .order_by(KeySite.code)
            ).all()
            if sites:
                layers.append(
                    IndexLayer(
                        Layer.key_site.value,
                        "zone",
                        [
                            ObjectInfo(
                                k.id,
                                Layer.key_site.value,
                                k.code,
                                k.name,
                                k.kind,
                                # "point": the owner rule's on-site test differs for
                                # point sites (a radius) and polygons (inside).
                                {
                                    "zone_radius_m": k.zone_radius_m,
                                    "point": k.geom.geom_type == "Point",
                                },
                            )
                            for k in sites
                        ],
                        [k.geom for k in sites],
                        radius_m=[k.zone_radius_m for k in sites],
                    )
                )
        return GenerationIndex.build(gen_id, layers)

    def current_generation_id(self) -> int | None:
        """The id of the current generation, read from the database (one small query).

        Other processes (a CLI import or activation, another server worker) change
        it; :meth:`refresh_index` compares it with the index this process holds.
        """
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.max(Generation.id)).where(Generation.active.is_(True))
            ).scalar()

    def refresh_index(self) -> bool:
        """Rebuild the snap index if another process changed the current generation.

        Returns
        -------
        bool
            True when the index was rebuilt.
        """
        if self.current_generation_id() == self.snap_index.generation_id:
            return False
        self.rebuild_index()
        return True

    def rebuild_index(self) -> GenerationIndex:
        """Build the index of the current generation and install it atomically.

        Returns
        -------
        GenerationIndex
            The new :attr:`snap_index` (empty when there is no generation yet).
        """
        with self._lock:
            gen = self.active_generation()
            index = self.build_index(gen) if gen is not None else GenerationIndex.empty()
            self.snap_index = index  # one assignment: readers see the old or the new index
            return index

    def index_summary(self) -> dict[str, int]:
        """Objects per layer in the current snap index."""
        return self.snap_index.counts()

    def _index_for(self, gen_id: int, session: Session) -> GenerationIndex | None:
        """An in-process index for ``gen_id``: the snap index, or (SQLite) a cached one."""
        current = self.snap_index
        if current.generation_id == gen_id:
            return current
        if self.backend == "postgis":
            return None
        with self._lock:
            cached = self._old_indexes.get(gen_id)
            if cached is not None:
                self._old_indexes.move_to_end(gen_id)
                return cached
        built = self.build_index(gen_id, session=session)
        with self._lock:
            self._old_indexes[gen_id] = built
            while len(self._old_indexes) > self._old_index_cache_size:
                self._old_indexes.popitem(last=False)
        return built

    # ------------------------------------------------------------------ reads
    def areas(
        self,
        *,
        layer: Layer | str | None = None,
        type: AreaType | str | None = None,
        generation: GenerationRef | None = None,
        session: Session | None = None,
    ) -> list[Area]:
        """Areas of a generation (default: current), by code.

        Parameters
        ----------
        layer : Layer or str, optional
            Only this level (``"township"`` includes streets).
        type : AreaType or str, optional
            Only this area type.
        generation : int or Generation, optional
        session : Session, optional

        Returns
        -------
        list of Area
        """
        with self._use(session) as s:
            gen_id = self._resolve_generation(generation, s)
            if gen_id is None:
                return []
            q = select(Area).where(valid_in(Area, gen_id))
            if layer is not None:
                q = q.where(Area.type.in_([t.value for t in LEVEL_TYPES[Layer(layer)]]))
            if type is not None:
                q = q.where(Area.type == AreaType(type))
            return list(s.scalars(q.order_by(Area.code)))

    def area(
        self,
        code: str,
        *,
        layer: Layer | str | None = None,
        generation: GenerationRef | None = None,
        session: Session | None = None,
    ) -> Area:
        """The area with ``code`` in a generation (default: current).

        Raises
        ------
        NotFoundError
            No such area in that generation.
        """
        with self._use(session) as s:
            gen_id = self._resolve_generation(generation, s)
            q = select(Area).where(Area.code == code)
            if gen_id is not None:
                q = q.where(valid_in(Area, gen_id))
            if layer is not None:
                q = q.where(Area.type.in_([t.value for t in LEVEL_TYPES[Layer(layer)]]))
            area = s.scalars(q.order_by(Area.type)).first()
            if area is None or gen_id is None:
                raise NotFoundError(f"no area {code} in generation {gen_id}", kind="area", key=code)
            return area

    def parent_of(self, area: Area, session: Session | None = None) -> Area | None:
        """The parent of ``area`` in the newest generation the area belongs to."""
        if not area.parent_code:
            return None
        with self._use(session) as s:
            return s.scalars(
                select(Area)
                .where(Area.code == area.parent_code, valid_in(Area, area.generation_high_id))
                .limit(1)
            ).first()

    def road_sections(
        self, *, generation: GenerationRef | None = None, session: Session | None = None
    ) -> list[RoadSection]:
        """Road sections of a generation (default: current), by code."""
        with self._use(session) as s:
            gen_id = self._resolve_generation(generation, s)
            if gen_id is None:
                return []
            return list(
                s.scalars(
                    select(RoadSection)
                    .where(valid_in(RoadSection, gen_id))
                    .order_by(RoadSection.code)
                )
            )

    def key_sites(
        self, *, generation: GenerationRef | None = None, session: Session | None = None
    ) -> list[KeySite]:
        """Key sites of a generation (default: current), by code."""
        with self._use(session) as s:
            gen_id = self._resolve_generation(generation, s)
            if gen_id is None:
                return []
            return list(
                s.scalars(select(KeySite).where(valid_in(KeySite, gen_id)).order_by(KeySite.code))
            )

    # ------------------------------------------------------------------ lookups
    def hits_at(
        self,
        lon: float,
        lat: float,
        generation: GenerationRef | None = None,
        session: Session | None = None,
    ) -> tuple[int | None, dict[str, list[Hit]]]:
        """Everything at a point in one generation, per layer.

        Parameters
        ----------
        lon, lat : float
            WGS84 degrees.
        generation : int or Generation, optional
            Default: the current generation (answered by :attr:`snap_index`).

        Returns
        -------
        (int or None, dict)
            The generation id used and layer → hits (see
            :meth:`GenerationIndex.snap`).
        """
        _check_lonlat(lon, lat)
        if generation is None:
            index = self.snap_index  # read once: a concurrent swap cannot split this lookup
            if index.generation_id is not None:
                return index.generation_id, index.snap(lon, lat)
        with self._use(session) as s:
            gen_id = self._resolve_generation(generation, s)
            if gen_id is None:
                return None, {}
            index = self._index_for(gen_id, s)
            if index is not None:
                return gen_id, index.snap(lon, lat)
            return gen_id, self._sql_hits(s, gen_id, lon, lat)

    def areas_covering(
        self,
        lon: float,
        lat: float,
        generation: GenerationRef | None = None,
        types: Sequence[AreaType | str] | None = None,
        session: Session | None = None,
    ) -> list[Area]:
        """The areas covering a point (boundary included), largest level first.

        Parameters
        ----------
        lon, lat : float
            WGS84 degrees.
        generation : int or Generation, optional
            Default: the current generation (in-process index). An older
            generation is answered with ST_Covers on PostGIS and an on-demand
            cached index on SQLite.
        types : sequence of AreaType or str, optional
            Only these area types.
        session : Session, optional

        Returns
        -------
        list of Area
            County, township/street, community/village, unit grid, then
            supervision areas.
        """
        wanted = {AreaType(t) for t in types} if types is not None else None
        _, hits = self.hits_at(lon, lat, generation, session)
        ids = [
            h.info.id
            for lay in AREA_LAYERS
            for h in hits.get(lay.value, [])
            if wanted is None or AreaType(h.info.type) in wanted
        ]
        if not ids:
            return []
        with self._use(session) as s:
            rows = list(s.scalars(select(Area).where(Area.id.in_(ids))))
        return sorted(rows, key=lambda a: (_TYPE_ORDER[AreaType(a.type)], a.code))

    def responsible_for(
        self,
        lon: float,
        lat: float,
        category: str,
        at: date | datetime | None = None,
        generation: GenerationRef | None = None,
        session: Session | None = None,
    ) -> Responsibility:
        """Who answers for an issue of ``category`` at a point, each part with its reason.

        Parameters
        ----------
        lon, lat : float
            WGS84 degrees.
        category : str
            Category code (e.g. ``"street_vending"``).
        at : date or datetime, optional
            Assignments valid on that day and, unless ``generation`` is given,
            the boundaries current at that time (before the first import: the
            first generation, the oldest boundaries known). Default: now.
        generation : int or Generation, optional
            Boundaries of this generation.
        session : Session, optional

        Returns
        -------
        Responsibility
            Township, community, unit grid, road section and road chief,
            key-site zones, responsible units, lead unit and leaders; every
            element carries a structured :class:`~civgrid.grids.boundaries.routing.Reason`.
        """
        from civgrid.grids.boundaries.routing import resolve

        with self._use(session) as s:
            if generation is None and at is not None:
                gen = self.generation_at(at, session=s) or self._first_active(s)
                generation = gen.id if gen is not None else None
            gen_id, hits = self.hits_at(lon, lat, generation, s)
            day = at.date() if isinstance(at, datetime) else (at or datetime.now(UTC).date())
            return resolve(
                s,
                lon=lon,
                lat=lat,
                category=category,
                day=day,
                generation_id=gen_id,
                hits=hits,
                tables=self.routing_tables(s),
            )

    def routing_tables(self, session: Session) -> RoutingTables:
        """The routing tables (rules, categories, assignments), cached while current.

        One small query per call: the routing stamp (changed by database triggers
        on every write to those tables, by any process). The cached copy is used
        while the stamp is unchanged; otherwise the tables are read again in
        ``session`` (a session that wrote to them sees its own writes).

        Returns
        -------
        RoutingTables
        """
        from civgrid.grids.boundaries.routing import RoutingTables, routing_stamp

        pinned = session.info.get(_PINNED_TABLES)
        if pinned is not None:  # read once for this unit of work (pinned_routing_tables)
            return pinned
        stamp = routing_stamp(session)  # read first: the tables are at least this new
        cached = self._routing_tables
        if cached is not None and stamp is not None and cached.stamp == stamp:
            return cached
        tables = RoutingTables.load(session, stamp)
        self._routing_tables = tables
        return tables

    @contextmanager
    def pinned_routing_tables(self, session: Session) -> Iterator[RoutingTables]:
        """The routing tables read once for a unit of work that does not write them.

        Inside the block, :meth:`routing_tables` in ``session`` answers these tables
        without reading the stamp again: an intake reads it once (its category, then
        its routing), not once per lookup. Not for work that writes categories,
        rules, assignments, units or leaders in ``session``.

        Yields
        ------
        RoutingTables
        """
        outer = session.info.get(_PINNED_TABLES)
        tables = self.routing_tables(session)
        session.info[_PINNED_TABLES] = tables
        try:
            yield tables
        finally:
            if outer is None:
                session.info.pop(_PINNED_TABLES, None)
            else:
                session.info[_PINNED_TABLES] = outer

    def category(self, session: Session, code: str) -> Category | None:
        """The category ``code``, persistent in ``session``, without a query while the
        routing stamp is unchanged (None when there is none).

        See :func:`cached_object`: the rows are cached with the routing tables (the
        stamp changes with every write to ``categories``).
        """
        with self.pinned_routing_tables(session):  # the stamp, read unless pinned
            return cached_object(session, Category, "code", code)

    # ------------------------------------------------------------------ PostGIS
    # ------------------------------------------------------------------ PostGIS
    def _sql_hits(self, s: Session, gen_id: int, lon: float, lat: float) -> dict[str, list[Hit]]:
        """Hits computed in SQL (PostGIS): ST_Covers for areas, ST_DWithin in metres."""
        point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), SRID)
        epsg = metric_epsg_for(lon)
        out: dict[str, list[Hit]] = {}
        rows = s.execute(
            select(Area.id, Area.type, Area.code, Area.name, Area.parent_code)
            .where(valid_in(Area, gen_id), func.ST_Covers(Area.geom, point))
            .order_by(Area.code)
        ).all()
        for r in rows:  # code order: the first of a tiling layer wins, as in the index
            lay = LAYER_OF_TYPE[AreaType(r.type)]
            if lay in TILING_LAYERS and lay.value in out:
                continue
            info = ObjectInfo(
                r.id, lay.value, r.code, r.name, str(r.type), {"parent_code": r.parent_code}
            )
            out.setdefault(lay.value, []).append(Hit(info, 0.0))
        metric_point = func.ST_Transform(point, epsg)

        def near(model: Any, radius: Any, max_radius_m: float, extra: Sequence[Any]) -> list[Any]:
            margin = _degrees_margin(max_radius_m, lat)
            dist = func.ST_Distance(func.ST_Transform(model.geom, epsg), metric_point)
            return s.execute(
                select(model.id, model.code, model.name, *extra, dist.label("d"))
                .where(
                    valid_in(model, gen_id),
                    model.geom.op("&&")(func.ST_Expand(point, margin)),
                    func.ST_DWithin(func.ST_Transform(model.geom, epsg), metric_point, radius),
                )
                .order_by("d", model.code)
            ).all()

        tol = self.line_tolerance_m
        for r in near(RoadSection, tol, tol, [RoadSection.extent])[:1]:
            info = ObjectInfo(
                r.id,
                Layer.road_section.value,
                r.code,
                r.name,
                Layer.road_section.value,
                {"extent": r.extent},
            )
            out.setdefault(Layer.road_section.value, []).append(Hit(info, float(r.d)))
        max_radius = s.scalar(
            select(func.max(KeySite.zone_radius_m)).where(valid_in(KeySite, gen_id))
        )
        if max_radius is not None:
            extra = [
                KeySite.kind,
                KeySite.zone_radius_m,
                func.ST_Dimension(KeySite.geom).label("dim"),
            ]
            for r in near(KeySite, KeySite.zone_radius_m, float(max_radius), extra):
                info = ObjectInfo(
                    r.id,
                    Layer.key_site.value,
                    r.code,
                    r.name,
                    r.kind,
                    {"zone_radius_m": r.zone_radius_m, "point": r.dim == 0},
                )
                out.setdefault(Layer.key_site.value, []).append(Hit(info, float(r.d)))
        return out

    # ------------------------------------------------------------------ maintenance
    def extend_generation(
        self, session: Session, base_id: int, new_id: int, model: Any, where: Any = None
    ) -> int:
        """Raise ``generation_high_id`` to ``new_id`` for rows valid in ``base_id``.

        Returns
        -------
        int
            Number of rows extended.
        """
        stmt = update(model).where(valid_in(model, base_id))
        if where is not None:
            stmt = stmt.where(where)
        result = session.execute(stmt.values(generation_high_id=new_id))
        return int(result.rowcount or 0)


def _degrees_margin(metres: float, lat: float) -> float:
    """A bounding-box margin in degrees that surely contains ``metres`` around ``lat``."""
    cos = max(math.cos(math.radians(min(abs(lat), 85.0))), 0.05)
    return metres / (111_000.0 * cos) * 1.2 + 1e-6


def _check_lonlat(lon: float, lat: float) -> None:
    if not (isinstance(lon, int | float) and isinstance(lat, int | float)):
        raise InvalidInputError("lon and lat must be numbers", lon=lon, lat=lat)
    if (
        not (math.isfinite(lon) and math.isfinite(lat))
        or not (-180 <= lon <= 180)
        or not (-90 <= lat <= 90)
    ):
        raise InvalidInputError(
            f"not a WGS84 lon/lat: {lon}, {lat}", lon=lon, lat=lat, hint="lon first, then lat"
        )
