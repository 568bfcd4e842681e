"""The geometry column type: PostGIS ``geometry(…, 4326)`` or WKB in a SQLite BLOB.

The SRID is declared here once (:data:`SRID`). On PostgreSQL the column is a
GeoAlchemy2 :class:`~geoalchemy2.types.Geometry` with a typmod
(``geometry(MULTIPOLYGON,4326)``), indexed with GiST by the models; on SQLite
it is a BLOB holding ISO WKB and spatial questions are answered in shapely.
Either way the ORM attribute is a **shapely geometry in WGS84 lon/lat**; the
conversions go through :mod:`civgrid.geo.convert`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from civgrid.geo import convert

__all__ = ["SRID", "GeometryType"]

#: EPSG code of every stored geometry: WGS84 lon/lat (CGCS2000 treated as identical).
SRID = 4326


class GeometryType(TypeDecorator):
    """A shapely-valued geometry column that works on PostGIS and on SQLite.

    Parameters
    ----------
    geometry_type : str
        ``"MULTIPOLYGON"``, ``"LINESTRING"``, ``"POINT"`` or ``"GEOMETRY"``.

    Notes
    -----
    GeoAlchemy2 inspects ``spatial_index``/``srid``… on column types; they are
    set here so that it leaves index creation to the migrations (GiST on
    PostGIS only).
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type.upper()
        # attributes GeoAlchemy2's DDL hooks read on spatial column types
        self.srid = SRID
        self.spatial_index = False
        self.use_N_D_index = False
        self.dimension = 2
        self.management = False
        self.use_typmod = None
        self.nullable = True

    def _postgis_type(self) -> Geometry:
        return Geometry(self.geometry_type, srid=SRID, spatial_index=False)

    def load_dialect_impl(self, dialect: Dialect | None) -> TypeEngine[Any]:  # type: ignore[override]
        """PostGIS geometry on PostgreSQL (and when GeoAlchemy2 asks without a dialect)."""
        if dialect is None:
            return self._postgis_type()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(self._postgis_type())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Shapely geometry → WKBElement (PostGIS) or WKB bytes (SQLite)."""
        if value is None:
            return None
        geom = convert.to_shapely(value)
        wkb = convert.to_wkb(geom)
        if dialect.name == "postgresql":
            return WKBElement(wkb, srid=SRID)
        return wkb

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """WKBElement / EWKB / WKB (bytes or hex) → shapely geometry."""
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        return convert.from_wkb(value)

    def copy(self, **kw: Any) -> GeometryType:
        """A copy with the same geometry type (SQLAlchemy copies column types)."""
        return GeometryType(self.geometry_type)


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Aware → UTC (naive SQLite storage drops the offset after conversion)."""
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Naive (SQLite) or aware (PostgreSQL) → aware UTC."""
        return utc(value)
