"""Reading and writing boundary and point files: GeoJSON, GeoPackage, Shapefile, CSV.

Everything is read into a :class:`FeatureTable` whose geometries are **WGS84
lon/lat**, whatever the file held:

* a named Chinese system (``crs="gcj02"`` for Amap/DataV boundaries,
  ``"bd09"`` for Baidu, ``"wgs84"``/``"cgcs2000"``) is converted with
  :mod:`civgrid.geo.crs`;
* a projected CRS in the file (e.g. a Gauss-Krüger shapefile with a ``.prj``)
  is unprojected with pyproj;
* a file that declares nothing is assumed to be WGS84, and ``notes`` says so.

The geometry and attributes as read are kept in ``raw_geometries`` (useful to
report how far a conversion moved things).

Files are read with ``pyogrio.raw`` (no geopandas, so ``civgrid.geo`` stays
light; pyogrio itself is imported on first use, as it pulls in GDAL and, when
installed, pandas); CSV files with the standard library. Every problem raises a
:class:`~civgrid.geo.errors.GeoError` subclass naming the row or feature index
(0-based) and the field, with a hint how to fix it.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io as _stdio
import json
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from civgrid.geo import convert
from civgrid.geo.crs import diagnose_lonlat, normalize_crs, to_wgs84
from civgrid.geo.errors import (
    CoordinateError,
    FileFormatError,
    GeometryError,
    UnknownCRSError,
)

__all__ = [
    "LAT_FIELD_NAMES",
    "LON_FIELD_NAMES",
    "WKT_FIELD_NAMES",
    "FeatureTable",
    "formula_safe",
    "read_features",
    "write_csv",
    "write_geojson",
    "write_gpkg",
    "write_shapefile",
]

#: Column names recognised as longitude / latitude / WKT in CSV files (case-insensitive).
LON_FIELD_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT_FIELD_NAMES = ("lat", "latitude", "y", "纬度", "北纬")
WKT_FIELD_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_WGS84_LIKE_EPSG = {4326, 4490, 4978, 4979, 4480, 4479}  # WGS84 and CGCS2000 flavours
_SUGGEST_ENCODINGS = ("gbk", "utf-8", "big5")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN1_HIGH_RE = re.compile(r"[\u0080-\u00ff]")


@dataclass
class FeatureTable:
    """Features read from a file, with geometries in WGS84 lon/lat.

    Attributes
    ----------
    geometries : ndarray of shapely.Geometry
        One per feature, **WGS84 lon/lat degrees** after CRS conversion.
    properties : list of dict
        One dict of attributes per feature, keys in ``fields`` order. CSV
        values are strings (codes keep their leading zeros); null is None.
    fields : list of str
        Attribute names in file order (CSV lon/lat/WKT columns excluded).
    source_crs : str
        The CRS the coordinates were read in: ``"wgs84"``, ``"cgcs2000"``,
        ``"gcj02"``, ``"bd09"`` or an authority code such as ``"EPSG:4547"``.
    driver : str
        GDAL driver name (``"GeoJSON"``, ``"GPKG"``, ``"ESRI Shapefile"``) or ``"CSV"``.
    encoding : str or None
        Encoding the attributes were decoded with.
    notes : list of str
        Assumptions and conversions made while reading, for the import report.
    raw_geometries : ndarray of shapely.Geometry
        Geometries exactly as read, before any CRS conversion (file units).
    layer : str or None
        Layer name for multi-layer formats.
    """

    geometries: NDArray[np.object_]
    properties: list[dict[str, Any]]
    fields: list[str]
    source_crs: str
    driver: str
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    raw_geometries: NDArray[np.object_] | None = None
    layer: str | None = None

    def __len__(self) -> int:
        return len(self.geometries)

    def column(self, name: str) -> list[Any]:
        """Values of one attribute for every feature.

        Parameters
        ----------
        name : str
            Field name.

        Returns
        -------
        list
            One value per feature.

        Raises
        ------
        FileFormatError
            No such field (with a close-match suggestion).
        """
        if name not in self.fields:
            raise _missing_field_error(name, self.fields)
        return [p.get(name) for p in self.properties]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minlon, minlat, maxlon, maxlat)`` of all geometries, WGS84 degrees."""
        return tuple(float(v) for v in shapely.total_bounds(self.geometries))

    def to_geojson(self, *, decimals: int | None = convert.OUTPUT_DECIMALS) -> dict:
        """The table as a GeoJSON FeatureCollection dict (WGS84 lon/lat).

        Parameters
        ----------
        decimals : int or None
            Coordinate rounding (default 7 ≈ 1 cm).

        Returns
        -------
        dict
        """
        return convert.feature_collection(
            convert.feature(g, p, decimals=decimals)
            for g, p in zip(self.geometries, self.properties, strict=True)
        )


# =========================================================================== reading


def _ogr() -> Any:
    """The pyogrio package, imported on first use (it is heavy: GDAL, maybe pandas)."""
    import pyogrio
    import pyogrio.errors
    import pyogrio.raw

    return pyogrio


def _ogr_errors() -> tuple[type[BaseException], ...]:
    """GDAL/pyogrio exceptions that mean "cannot read/write this file"."""
    e = _ogr().errors
    return (e.DataSourceError, e.DataLayerError, e.FieldError, OSError)


def read_features(
    path: str | Path,
    *,
    layer: str | int | None = None,
    encoding: str | None = None,
    crs: str | int | None = None,
    lon_field: str | None = None,
    lat_field: str | None = None,
    required_fields: Sequence[str] = (),
) -> FeatureTable:
    """Read a GeoJSON, GeoPackage, Shapefile or CSV file into WGS84 lon/lat features.

    Parameters
    ----------
    path : str or Path
        The file. ``.csv``/``.tsv``/``.txt`` are read as CSV with lon/lat (or
        WKT) columns; everything else through GDAL (pyogrio).
    layer : str or int, optional
        Layer of a multi-layer file (GeoPackage). Required when there are several.
    encoding : str, optional
        Attribute encoding, e.g. ``"gbk"``; overrides a Shapefile's ``.cpg``.
        Default: the ``.cpg``/driver's declaration, UTF-8 for CSV.
    crs : str or int, optional
        The geographic system the lon/lat values are in: ``"wgs84"``,
        ``"cgcs2000"``, ``"gcj02"`` or ``"bd09"`` (aliases as in
        :func:`civgrid.geo.crs.normalize_crs`). It overrides a geographic CRS
        declared by the file (GeoJSON always "declares" WGS84, yet Amap/DataV
        boundaries are GCJ-02). For a projected file it names the system of the
        unprojected lon/lat.
    lon_field, lat_field : str, optional
        CSV coordinate columns; by default detected from common names
        (lon/lng/longitude/经度, lat/latitude/纬度) or a WKT column.
    required_fields : sequence of str
        Attributes that must exist and be non-empty on every feature.

    Returns
    -------
    FeatureTable
        Geometries in WGS84 lon/lat degrees; see :class:`FeatureTable`.

    Raises
    ------
    FileFormatError
        Unreadable file, missing layer or field (with "did you mean" hints),
        attributes in the wrong encoding (with the ``--encoding`` to pass).
    UnknownCRSError
        ``crs`` is unknown, the file's CRS cannot be understood, or it declares
        none and its coordinates are not lon/lat.
    CoordinateError
        A CSV row with a non-numeric, NaN, out-of-range or swapped lon/lat
        (naming the row and column).
    GeometryError
        Null, empty or unparsable geometry (naming the feature).
    """
    path = Path(path)
    declared = None if crs is None else normalize_crs(crs)
    if encoding is not None:
        try:  # canonical codec name: GDAL/pyogrio do not know every Python alias
            encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise FileFormatError(
                f"unknown encoding {encoding!r}", hint="try --encoding gbk"
            ) from exc
    if not str(path).startswith("/vsi") and not path.exists():
        raise FileFormatError(f"cannot read {path}: no such file")
    if path.suffix.lower() in _CSV_SUFFIXES:
        table = _read_csv(path, encoding, declared, lon_field, lat_field)
    else:
        table = _read_ogr(path, layer, encoding, declared)
    _check_required(table, required_fields, row_based=table.driver == "CSV")
    return table


# --------------------------------------------------------------------------- OGR formats


def _check_prj(path: Path) -> None:
    """Raise UnknownCRSError for a Shapefile ``.prj`` that pyproj cannot understand."""
    if path.suffix.lower() != ".shp":
        return
    for suffix in (".prj", ".PRJ"):
        prj = path.with_suffix(suffix)
        if prj.exists():
            text = prj.read_text(encoding="utf-8", errors="replace").strip()
            try:
                CRS.from_wkt(text)
            except CRSError as exc:
                raise UnknownCRSError(
                    f"the coordinate system in {prj.name} cannot be understood: {text[:80]!r}",
                    hint="fix or delete the .prj (then pass --crs), or reproject to EPSG:4326",
                ) from exc
            return


def _read_ogr(
    path: Path, layer: str | int | None, encoding: str | None, declared: str | None
) -> FeatureTable:
    notes: list[str] = []
    _check_prj(path)
    try:
        layers = _ogr().list_layers(path)
    except _ogr_errors() as exc:
        raise FileFormatError(f"cannot read {path.name}: {_gdal_reason(exc)}") from exc
    layer_names = [str(n) for n in layers[:, 0]]
    if not layer_names:
        raise FileFormatError(f"{path.name} has no layers")
    if isinstance(layer, int) and not 0 <= layer < len(layer_names):
        raise FileFormatError(
            f"{path.name} has no layer number {layer}; layers: {', '.join(layer_names)}"
        )
    if layer is None and len(layer_names) > 1:
        raise FileFormatError(
            f"{path.name} has {len(layer_names)} layers: {', '.join(layer_names)}",
            hint="choose one with --layer NAME (layer=...)",
        )
    if isinstance(layer, str) and layer not in layer_names:
        raise FileFormatError(
            f"{path.name} has no layer {layer!r}; layers: {', '.join(layer_names)}",
            hint=_did_you_mean(layer, layer_names),
        )

    def _read(enc: str | None):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _ogr().raw.read(path, layer=layer, encoding=enc, datetime_as_string=True)
        return result, caught

    try:
        (meta, _fids, wkb, field_data), caught = _read(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable_error(path, layer, encoding or "UTF-8", exc) from exc
    except _ogr_errors() as exc:
        raise FileFormatError(f"cannot read {path.name}: {_gdal_reason(exc)}") from exc
    for w in caught:
        notes.append(f"GDAL: {w.message}")
    if wkb is None:
        raise FileFormatError(
            f"{path.name} has no geometry column",
            hint="for a table of points use a CSV with lon/lat columns",
        )

    layer_name = layer_names[layer] if isinstance(layer, int) else (layer or layer_names[0])
    driver = _driver_of(path, layer_name)
    fields = [str(f) for f in meta["fields"]]
    columns = [
        _column_values(arr, ogr_type)
        for arr, ogr_type in zip(
            field_data, meta.get("ogr_types") or [None] * len(fields), strict=True
        )
    ]
    properties = [
        {name: col[i] for name, col in zip(fields, columns, strict=True)} for i in range(len(wkb))
    ]
    read_encoding = encoding or _declared_encoding(path) or meta.get("encoding")
    if encoding is None:
        _check_mojibake(path, fields, columns, read_encoding)

    raw = _parse_geometries(wkb)
    _check_empty(raw)
    geoms, source_crs = _to_wgs84(raw, meta.get("crs"), declared, driver, notes)
    _note_crs_property(fields, properties, source_crs, notes)
    return FeatureTable(
        geometries=geoms,
        properties=properties,
        fields=fields,
        source_crs=source_crs,
        driver=driver,
        encoding=read_encoding,
        notes=notes,
        raw_geometries=raw,
        layer=layer_name,
    )


def _declared_encoding(path: Path) -> str | None:
    """The encoding named by a Shapefile's ``.cpg`` sidecar, if any."""
    if path.suffix.lower() != ".shp":
        return None
    for suffix in (".cpg", ".CPG"):
        cpg = path.with_suffix(suffix)
        if cpg.exists():
            return cpg.read_text(encoding="ascii", errors="replace").strip() or None
    return None


def _driver_of(path: Path, layer: str) -> str:
    try:
        return str(_ogr().read_info(path, layer=layer)["driver"])
    except Exception:  # pragma: no cover - read already succeeded
        return "unknown"


def _gdal_reason(exc: BaseException) -> str:
    text = str(exc).split("; It might help")[0]
    return text.replace("\n", " ").strip() or type(exc).__name__


def _column_values(arr: NDArray[Any], ogr_type: str | None) -> list[Any]:
    """Python values of one attribute column; null (NaN in numeric columns) becomes None."""
    values = arr.tolist()
    if arr.dtype.kind == "f":
        integer = ogr_type in ("OFTInteger", "OFTInteger64")
        return [
            None
            if (v is None or (isinstance(v, float) and math.isnan(v)))
            else (int(v) if integer else v)
            for v in values
        ]
    if arr.dtype.kind == "O":
        return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]
    return values


def _parse_geometries(wkb: NDArray[np.object_] | None) -> NDArray[np.object_]:
    if wkb is None:
        return np.array([], dtype=object)
    return convert.from_wkb_array(wkb)


# --------------------------------------------------------------------------- encodings


def _encoding_hint(enc: str) -> str:
    return f"pass --encoding {enc} (encoding={enc!r})"


def _guess_encoding(data: bytes) -> str | None:
    """A CJK-capable encoding that decodes ``data`` into text with Chinese characters."""
    for enc in _SUGGEST_ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _CJK_RE.search(text):
            return enc
    return None


def _check_mojibake(
    path: Path, fields: list[str], columns: list[list[Any]], read_encoding: str | None
) -> None:
    """Raise if strings decoded as a single-byte encoding are really GBK/UTF-8 Chinese.

    Shapefiles without a ``.cpg`` (or with a wrong one) are decoded by GDAL as
    ISO-8859-1: GBK "民权县" comes out as "ÃñÈ¨ÏØ". Such text consists of
    Latin-1 high characters whose bytes decode cleanly as Chinese.
    """
    for name, col in zip(fields, columns, strict=True):
        for i, value in enumerate(col):
            if not isinstance(value, str) or not _LATIN1_HIGH_RE.search(value):
                continue
            try:
                data = value.encode("latin-1")
            except UnicodeEncodeError:
                continue
            guess = _guess_encoding(data)
            if guess is None:
                continue
            decoded = data.decode(guess)
            raise FileFormatError(
                f"text reads as {value!r}, which looks like {guess.upper()} Chinese "
                f"({decoded!r}) decoded as {read_encoding or 'ISO-8859-1'}",
                feature=i,
                field=name,
                hint=_encoding_hint(guess)
                + (" or add a .cpg file" if path.suffix.lower() == ".shp" else ""),
            )


def _first_undecodable(
    path: Path, layer: str | int | None, encoding: str
) -> tuple[int | None, str | None, bytes | None]:
    """(feature, field, raw bytes) of the first attribute that is not valid ``encoding``."""
    try:
        meta, _f, _g, data = _ogr().raw.read(
            path, layer=layer, encoding="iso8859-1", read_geometry=False
        )
    except Exception:  # best effort: the caller still reports the original error
        return None, None, None
    for name, arr in zip(meta["fields"], data, strict=True):
        if arr.dtype.kind != "O":
            continue
        for i, value in enumerate(arr.tolist()):
            if not isinstance(value, str):
                continue
            raw = value.encode("latin-1", errors="replace")
            try:
                raw.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                return i, str(name), raw
    return None, None, None


def _undecodable_error(
    path: Path, layer: str | int | None, encoding: str, exc: UnicodeDecodeError
) -> FileFormatError:
    """Locate the first attribute that does not decode and suggest an encoding."""
    feature, field_name, raw = _first_undecodable(path, layer, encoding)
    guess = _guess_encoding(raw) if raw else None
    if guess is None and isinstance(exc.object, bytes):
        guess = _guess_encoding(exc.object)
    return FileFormatError(
        f"attribute text is not valid {encoding} ({exc.reason} at byte {exc.start})",
        feature=feature,
        field=field_name,
        hint=_encoding_hint(guess or "gbk"),
    )


# --------------------------------------------------------------------------- CRS


def _crs_label(c: CRS) -> str:
    auth = c.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else c.name


def _is_wgs84_like(c: CRS) -> bool:
    epsg = c.to_epsg(min_confidence=70)
    if epsg in _WGS84_LIKE_EPSG:
        return True
    if c.to_authority() == ("OGC", "CRS84"):
        return True
    datum = (c.datum.name if c.datum else "").lower()
    return ("wgs" in datum and "84" in datum) or ("2000" in datum and "china" in datum)


def _to_wgs84(
    raw: NDArray[np.object_],
    file_crs: str | None,
    declared: str | None,
    driver: str,
    notes: list[str],
) -> tuple[NDArray[np.object_], str]:
    """Convert raw geometries (file CRS / declared system) to WGS84 lon/lat."""
    geoms = raw
    source = declared
    if file_crs:
        try:
            c = CRS.from_user_input(file_crs)
        except CRSError as exc:
            raise UnknownCRSError(
                f"the file's coordinate system cannot be understood: {str(file_crs)[:80]}",
                hint="fix the .prj / CRS definition, or reproject the file to EPSG:4326",
            ) from exc
        label = _crs_label(c)
        if not c.is_geographic:
            transformer = Transformer.from_crs(c, 4326, always_xy=True)
            geoms = shapely.transform(
                raw, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            )
            notes.append(f"reprojected from {label} ({c.name}) to WGS84 lon/lat")
            source = label if declared in (None, "wgs84", "cgcs2000") else declared
            if declared in ("gcj02", "bd09"):
                notes.append(f"unprojected lon/lat treated as {declared} as declared")
        elif _is_wgs84_like(c):
            if declared is None:
                source = "cgcs2000" if c.to_epsg() == 4490 else "wgs84"
                if driver == "GeoJSON":
                    notes.append(
                        "GeoJSON coordinates taken as WGS84 (RFC 7946); boundary files from "
                        "Amap/DataV are GCJ-02 even so: pass --crs gcj02 for them"
                    )
            elif declared in ("gcj02", "bd09") and driver != "GeoJSON":
                notes.append(
                    f"file declares {label}; coordinates treated as {declared} as declared"
                )
        elif declared is None:
            transformer = Transformer.from_crs(c, 4326, always_xy=True)
            geoms = shapely.transform(
                raw, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            )
            source = label
            notes.append(
                f"converted from {label} ({c.name}) to WGS84 with pyproj; without a local "
                "transformation grid the datum shift may be off by tens of metres"
            )
        else:
            notes.append(f"file declares {label} ({c.name}); treated as {declared} as declared")
    elif declared is None:
        source = "wgs84"
        notes.append(
            "the file declares no coordinate system; assumed WGS84 lon/lat "
            "(pass --crs gcj02 / bd09 / cgcs2000 if it is not)"
        )
    if source is None:  # pragma: no cover - every branch sets it
        source = "wgs84"
    _check_geographic(geoms, file_crs)
    if source in ("gcj02", "bd09"):
        system = source
        geoms = shapely.transform(
            geoms, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], system))
        )
        notes.append(f"converted {system} to WGS84")
    return geoms, source


def _note_crs_property(
    fields: list[str], properties: list[dict[str, Any]], used: str, notes: list[str]
) -> None:
    """Note when an attribute such as ``crs: "GCJ-02"`` names another system than the one used."""
    for name in fields:
        if name.lower() not in ("crs", "coord_sys", "coordsys", "坐标系"):
            continue
        values = {p.get(name) for p in properties}
        if len(values) != 1:
            continue
        value = values.pop()
        try:
            named = normalize_crs(value) if isinstance(value, str) else None
        except UnknownCRSError:
            named = None
        if named and named != used:
            notes.append(
                f"attribute {name!r} says {value!r} but the coordinates were read as {used}: "
                f"pass --crs {named} if the attribute is right"
            )


def _check_geographic(geoms: NDArray[np.object_], file_crs: str | None) -> None:
    """Raise if coordinates (after unprojection) are not lon/lat."""
    if geoms.size == 0:
        return
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        bad = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
    if not np.any(bad):
        return
    i = int(np.flatnonzero(bad)[0])
    x, y = b[i, 0], b[i, 1]
    if file_crs:
        raise CoordinateError(
            f"coordinates ({x:.6g}, {y:.6g}) are not lon/lat after conversion",
            feature=i,
            hint="check the file's coordinate system",
        )
    raise UnknownCRSError(
        f"coordinates such as ({x:.6g}, {y:.6g}) are not lon/lat degrees (projected metres?) "
        "and the file declares no coordinate system",
        feature=i,
        hint="add the .prj file (or reproject the data to EPSG:4326)",
    )


# --------------------------------------------------------------------------- CSV


def _decode_csv(path: Path, encoding: str | None) -> tuple[str, str]:
    data = path.read_bytes()
    enc = encoding or "utf-8-sig"
    try:
        codecs.lookup(enc)
    except LookupError as exc:
        raise FileFormatError(f"unknown encoding {encoding!r}", hint="try --encoding gbk") from exc
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad_line = data.splitlines()[line - 1] if data.splitlines() else b""
        guess = _guess_encoding(bad_line) or "gbk"
        raise FileFormatError(
            f"{path.name} is not valid {encoding or 'UTF-8'} (line {line}, byte {exc.start})",
            hint=_encoding_hint(guess),
        ) from exc
    if encoding is None:
        enc = "utf-8"
    return text, enc


def _find_column(fields: list[str], explicit: str | None, candidates: Sequence[str]) -> str | None:
    if explicit is not None:
        if explicit not in fields:
            raise _missing_field_error(explicit, fields, what="column")
        return explicit
    lowered = {f.strip().lower(): f for f in fields}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    return None


def _parse_float(text: str | None) -> float | None:
    if text is None:
        return math.nan
    s = text.strip().replace("\u00b0", "")
    if s == "":
        return math.nan
    try:
        return float(s)
    except ValueError:
        return None


def _read_csv(
    path: Path,
    encoding: str | None,
    declared: str | None,
    lon_field: str | None,
    lat_field: str | None,
) -> FeatureTable:
    text, enc = _decode_csv(path, encoding)
    notes: list[str] = []
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(_stdio.StringIO(text), dialect)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise FileFormatError(f"{path.name} is empty") from exc
    rows = [r for r in reader if any(cell.strip() for cell in r)]

    lon_col = _find_column(header, lon_field, LON_FIELD_NAMES)
    lat_col = _find_column(header, lat_field, LAT_FIELD_NAMES)
    wkt_col = None
    if lon_col is None or lat_col is None:
        wkt_col = _find_column(header, None, WKT_FIELD_NAMES)
        if wkt_col is None or lon_field or lat_field:
            missing = "lon" if lon_col is None else "lat"
            raise FileFormatError(
                f"no {'longitude' if missing == 'lon' else 'latitude'} column found in "
                f"{path.name}; columns: {', '.join(header)}",
                field=lon_field if missing == "lon" else lat_field,
                hint="name the columns with --lon-field/--lat-field (lon_field=, lat_field=) "
                "or give a WKT column",
            )
    geom_cols = {c for c in (lon_col, lat_col, wkt_col) if c is not None}
    fields = [h for h in header if h not in geom_cols]
    index = {h: k for k, h in enumerate(header)}

    def cell(r: list[str], name: str) -> str | None:
        k = index[name]
        return r[k] if k < len(r) else None

    properties = [
        {f: (cell(r, f) if cell(r, f) not in ("", None) else None) for f in fields} for r in rows
    ]
    system = declared or "wgs84"
    if declared is None:
        notes.append(
            "the CSV declares no coordinate system; assumed WGS84 lon/lat "
            "(pass --crs gcj02 / bd09 if it is not)"
        )

    def line_of(i: int) -> str:
        return f" (CSV line {i + 2})"

    if wkt_col is not None:
        raw_list = []
        for i, r in enumerate(rows):
            value = cell(r, wkt_col)
            if value is None or not value.strip():
                raise GeometryError("null geometry (empty WKT)" + line_of(i), row=i, field=wkt_col)
            try:
                raw_list.append(convert.to_shapely(value))
            except GeometryError as exc:
                raise GeometryError(exc.message + line_of(i), row=i, field=wkt_col) from exc
        raw = _obj_array(raw_list)
        _check_empty(raw, row_based=True)
        geoms, source = _to_wgs84(raw, None, system, "CSV", notes)
    else:
        lon = np.empty(len(rows))
        lat = np.empty(len(rows))
        parse_problems: list[dict[str, Any]] = []
        for i, r in enumerate(rows):
            for col, out in ((lon_col, lon), (lat_col, lat)):
                v = _parse_float(cell(r, col))
                if v is None:
                    parse_problems.append(
                        {
                            "row": i,
                            "problem": "not_a_number",
                            "field": col,
                            "message": f"not a number: {cell(r, col)!r}",
                        }
                    )
                    v = 0.0
                out[i] = v
        problems = diagnose_lonlat(lon, lat, lon_name=lon_col, lat_name=lat_col)
        bad_rows = {p["row"] for p in parse_problems}
        problems = sorted(
            parse_problems + [p for p in problems if p["row"] not in bad_rows],
            key=lambda p: p["row"],
        )
        if problems:
            for p in problems:
                p["line"] = p["row"] + 2
            first = problems[0]
            raise CoordinateError(
                first["message"] + line_of(first["row"]),
                row=first["row"],
                field=first["field"],
                problems=problems,
            )
        raw = shapely.points(lon, lat) if len(rows) else np.array([], dtype=object)
        raw = np.asarray(raw, dtype=object)
        if system in ("gcj02", "bd09"):
            wlon, wlat = to_wgs84(lon, lat, system)
            geoms = np.asarray(shapely.points(wlon, wlat), dtype=object)
            notes.append(f"converted {system} to WGS84")
        else:
            geoms = raw.copy()
        source = system
    return FeatureTable(
        geometries=geoms,
        properties=properties,
        fields=fields,
        source_crs=source,
        driver="CSV",
        encoding=enc,
        notes=notes,
        raw_geometries=raw,
        layer=None,
    )


# --------------------------------------------------------------------------- checks


def _did_you_mean(name: str, choices: Sequence[str]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return f"did you mean {lowered[name.lower()]!r}?"
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


def _missing_field_error(
    name: str, fields: Sequence[str], *, what: str = "field"
) -> FileFormatError:
    available = ", ".join(fields) if fields else "(none)"
    hint = _did_you_mean(name, fields)
    return FileFormatError(
        f"missing required {what} {name!r}; available {what}s: {available}",
        field=name,
        hint=hint,
    )


def _check_empty(geoms: NDArray[np.object_], *, row_based: bool = False) -> None:
    problems = []
    for i, g in enumerate(geoms):
        if g is None:
            problems.append({"feature": i, "problem": "null_geometry", "message": "null geometry"})
        elif g.is_empty:
            problems.append(
                {"feature": i, "problem": "empty_geometry", "message": "empty geometry"}
            )
    if problems:
        first = problems[0]
        if row_based:
            for p in problems:
                p["row"] = p.pop("feature")
            raise GeometryError(first["message"], row=first["row"], problems=problems)
        raise GeometryError(first["message"], feature=first["feature"], problems=problems)


def _check_required(table: FeatureTable, required: Sequence[str], *, row_based: bool) -> None:
    missing = [name for name in required if name not in table.fields]
    if missing:
        err = _missing_field_error(missing[0], table.fields)
        if len(missing) > 1:
            err = FileFormatError(
                err.message,
                field=missing[0],
                hint=err.hint,
                problems=[_missing_field_error(m, table.fields).to_dict() for m in missing],
            )
        raise err
    problems = []
    for i, props in enumerate(table.properties):
        for name in required:
            value = props.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                loc = {"row": i} if row_based else {"feature": i}
                problems.append(
                    {**loc, "field": name, "message": f"required field {name!r} is empty"}
                )
    if problems:
        first = problems[0]
        raise FileFormatError(
            first["message"],
            row=first.get("row"),
            feature=first.get("feature"),
            field=first["field"],
            problems=problems,
        )


# =========================================================================== writing


def _records(obj: Any) -> tuple[NDArray[np.object_], list[dict[str, Any]], list[str]]:
    """(geometries, properties, fields) of a FeatureTable, FeatureCollection, features or pairs."""
    if isinstance(obj, FeatureTable):
        return obj.geometries, obj.properties, list(obj.fields)
    if isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection":
        obj = obj.get("features", [])
    if (
        isinstance(obj, tuple)
        and len(obj) == 2
        and not isinstance(obj[0], Mapping)
        and isinstance(obj[1], Sequence)
    ):
        geoms = _obj_array(list(obj[0]))
        props = [dict(p or {}) for p in obj[1]]
        if len(props) != len(geoms):
            raise GeometryError(f"{len(geoms)} geometries but {len(props)} property dicts")
    else:
        items = list(obj) if isinstance(obj, Iterable) else []
        geoms_list, props = [], []
        for i, item in enumerate(items):
            if not (isinstance(item, Mapping) and item.get("type") == "Feature"):
                raise GeometryError(
                    f"expected a GeoJSON Feature, got {type(item).__name__}", feature=i
                )
            g = item.get("geometry")
            geoms_list.append(None if g is None else convert.to_shapely(g, feature=i))
            props.append(dict(item.get("properties") or {}))
        geoms = _obj_array(geoms_list)
    fields: list[str] = []
    seen = set()
    for p in props:
        for k in p:
            if k not in seen:
                seen.add(k)
                fields.append(str(k))
    return geoms, props, fields


def _obj_array(values: list[Any]) -> NDArray[np.object_]:
    """1-D object array of the values (never a 2-D array of nested sequences)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _prepare(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_geojson(
    path: str | Path,
    table_or_features: Any,
    *,
    decimals: int | None = convert.OUTPUT_DECIMALS,
    name: str | None = None,
) -> Path:
    """Write features as an RFC 7946 GeoJSON FeatureCollection (UTF-8, WGS84 lon/lat).

    Parameters
    ----------
    path : str or Path
        Output file (overwritten).
    table_or_features : FeatureTable, dict, iterable or tuple
        A :class:`FeatureTable`, a FeatureCollection dict, an iterable of
        Feature dicts, or a ``(geometries, properties_list)`` pair. Geometries
        must be WGS84 lon/lat.
    decimals : int or None
        Coordinate rounding (default 7 ≈ 1 cm).
    name : str, optional
        ``name`` member of the collection.

    Returns
    -------
    Path
        The written file.
    """
    path = _prepare(path)
    geoms, props, _fields = _records(table_or_features)
    members = {"name": name} if name else {}
    fc = convert.feature_collection(
        (convert.feature(g, p, decimals=decimals) for g, p in zip(geoms, props, strict=True)),
        **members,
    )
    with path.open("w", encoding="utf-8") as f:
        json.dump(fc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    return path


def _geometry_type(geoms: NDArray[np.object_]) -> tuple[str, bool]:
    types = {g.geom_type for g in geoms if g is not None}
    if len(types) == 1:
        return types.pop(), False
    for base in ("Point", "LineString", "Polygon"):
        if types == {base, "Multi" + base}:
            return "Multi" + base, True
    return "Unknown", False


def _field_arrays(
    props: list[dict[str, Any]], fields: list[str]
) -> tuple[list[NDArray[Any]], list[NDArray[np.bool_] | None]]:
    data, masks = [], []
    for name in fields:
        values = [convert.to_json_value(p.get(name)) for p in props]
        present = [v for v in values if v is not None]
        mask = np.array([v is None for v in values], dtype=bool)
        if present and all(isinstance(v, bool) for v in present):
            arr = np.array([bool(v) if v is not None else False for v in values])
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            arr = np.array([v if v is not None else 0 for v in values], dtype=np.int64)
        elif present and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in present
        ):
            arr = np.array([float(v) if v is not None else np.nan for v in values])
        else:
            arr = np.array(
                [
                    None
                    if v is None
                    else (
                        json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else str(v)
                    )
                    for v in values
                ],
                dtype=object,
            )
        data.append(arr)
        masks.append(mask if mask.any() and arr.dtype.kind in "bi" else None)
    return data, masks


def _write_ogr(
    path: Path,
    table_or_features: Any,
    driver: str,
    layer: str | None,
    encoding: str | None,
) -> Path:
    geoms, props, fields = _records(table_or_features)
    gtype, promote = _geometry_type(geoms)
    if driver == "ESRI Shapefile" and gtype in ("Unknown", "GeometryCollection"):
        raise GeometryError(
            "a Shapefile holds one geometry type; these features mix "
            + ", ".join(sorted({g.geom_type for g in geoms if g is not None})),
            hint="write GeoPackage or GeoJSON instead",
        )
    data, masks = _field_arrays(props, fields)
    field_mask = masks if any(m is not None for m in masks) else None
    try:
        _ogr().raw.write(
            path,
            convert.to_wkb_array(geoms),
            data,
            fields,
            field_mask=field_mask,
            layer=layer,
            driver=driver,
            geometry_type=gtype,
            crs="EPSG:4326",
            encoding=encoding,
            promote_to_multi=promote,
        )
    except _ogr_errors() as exc:
        raise FileFormatError(f"cannot write {path.name}: {_gdal_reason(exc)}") from exc
    return path


def write_gpkg(path: str | Path, table_or_features: Any, *, layer: str | None = None) -> Path:
    """Write features to a GeoPackage layer (EPSG:4326 lon/lat, UTF-8).

    Parameters
    ----------
    path : str or Path
        Output file. An existing GeoPackage keeps its other layers; a layer of
        the same name is replaced.
    table_or_features : FeatureTable, dict, iterable or tuple
        As for :func:`write_geojson`; geometries WGS84 lon/lat.
    layer : str, optional
        Layer name (default: the file stem).

    Notes
    -----
    A layer holds one geometry type: Polygon and MultiPolygon features mixed
    are all written as MultiPolygon (likewise for points and lines); other
    mixtures give a generic geometry layer.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileFormatError
        GDAL could not write the file.
    """
    path = _prepare(path)
    return _write_ogr(path, table_or_features, "GPKG", layer or path.stem, None)


def write_shapefile(path: str | Path, table_or_features: Any, *, encoding: str = "UTF-8") -> Path:
    """Write features to an ESRI Shapefile (EPSG:4326 ``.prj`` and a ``.cpg``).

    Parameters
    ----------
    path : str or Path
        The ``.shp`` file; its ``.shx``/``.dbf``/``.prj``/``.cpg`` siblings are
        written next to it. Field names longer than 10 characters are truncated
        by the format.
    table_or_features : FeatureTable, dict, iterable or tuple
        As for :func:`write_geojson`; one geometry type (Polygon and
        MultiPolygon may mix).
    encoding : str
        Attribute encoding, recorded in the ``.cpg`` (default UTF-8; ``"GBK"``
        for old Chinese desktop GIS).

    Returns
    -------
    Path
        The written ``.shp`` file.

    Raises
    ------
    GeometryError
        Mixed geometry types.
    FileFormatError
        GDAL could not write the file.
    """
    path = _prepare(path)
    return _write_ogr(path, table_or_features, "ESRI Shapefile", None, encoding)


def write_csv(
    path: str | Path,
    table_or_features: Any,
    *,
    lon_field: str = "lon",
    lat_field: str = "lat",
    wkt_field: str = "wkt",
    decimals: int = convert.OUTPUT_DECIMALS,
    bom: bool = False,
) -> Path:
    """Write features to CSV: lon/lat columns for points, a WKT column otherwise.

    Parameters
    ----------
    path : str or Path
        Output file (overwritten), UTF-8.
    table_or_features : FeatureTable, dict, iterable or tuple
        As for :func:`write_geojson`; geometries WGS84 lon/lat.
    lon_field, lat_field : str
        Column names for point coordinates (written after the attributes).
    wkt_field : str
        Column name for WKT when any geometry is not a point.
    decimals : int
        Coordinate decimals (default 7 ≈ 1 cm).
    bom : bool
        Start with a UTF-8 byte-order mark so that Excel opens Chinese text correctly.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileFormatError
        An attribute has the same name as a coordinate column.
    """
    path = _prepare(path)
    geoms, props, fields = _records(table_or_features)
    points = all(g is None or g.geom_type == "Point" for g in geoms)
    geom_cols = [lon_field, lat_field] if points else [wkt_field]
    clash = [f for f in fields if f in geom_cols]
    if clash:
        raise FileFormatError(
            f"attribute {clash[0]!r} has the name of a coordinate column",
            field=clash[0],
            hint="choose other names with lon_field=/lat_field=/wkt_field=",
        )
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*fields, *geom_cols])
        for g, p in zip(geoms, props, strict=True):
            row = [_csv_value(p.get(name)) for name in fields]
            if g is None or g.is_empty:
                row += [""] * len(geom_cols)
            elif points:
                row += [f"{g.x:.{decimals}f}", f"{g.y:.{decimals}f}"]
            else:
                row.append(shapely.to_wkt(g, rounding_precision=decimals, trim=True))
            writer.writerow(row)
    return path


def _csv_value(value: Any) -> str:
    value = convert.to_json_value(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return formula_safe(str(value)) if isinstance(value, str) else str(value)


#: What a spreadsheet takes as the start of a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it: a leading ``'`` when it starts
    like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return).

    A plain number (``-3.5``) is left alone: it is a value, not a formula.

    Examples
    --------
    >>> print(formula_safe('=HYPERLINK("http://x","点我")'))
    '=HYPERLINK("http://x","点我")
    >>> formula_safe("@SUM(A1)"), formula_safe("-3.5"), formula_safe("望东庄村")
    ("'@SUM(A1)", '-3.5', '望东庄村')
    """
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
