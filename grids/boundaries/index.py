"""The in-process snap index of one boundary generation (the adapter to ``civgrid.geo``).

Every lookup of the *current* generation is answered here, on SQLite and on
PostGIS alike: a PostGIS round trip alone costs more than a whole in-process
snap. :class:`GenerationIndex` is immutable; the store swaps the whole object
(one attribute assignment) when a generation is activated, so no request ever
sees half an index.

This module is the one place that talks to the geometry engine
(:class:`civgrid.geo.snap.SnapIndex`), so changing it touches nothing else.

Layers
------
tiling polygon layers (county, township, community, unit_grid)
    The area that **covers** the point (boundary included, as PostGIS
    ``ST_Covers``), tested in lon/lat; on a shared edge the smallest code wins.
supervision_area
    Every covering area (they may overlap).
road_section
    The nearest section within ``line_tolerance_m`` metres (default 30).
key_site
    Every site whose zone (``zone_radius_m`` around the site, default 400 m)
    contains the point, nearest first (0 m inside the site).

Distances are measured in the CGCS2000 Gauss-Krüger zone of the data
(:mod:`civgrid.geo.metric`), never in degrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np

from civgrid.geo.snap import (
    AreaArrays,
    AreaHit,
    AreaSetArrays,
    AreasHit,
    LineLayer,
    PolygonLayer,
    RoadArrays,
    RoadHit,
    SnapIndex,
    ZoneArrays,
    ZoneLayer,
    ZonesHit,
)

__all__ = [
    "DEFAULT_LINE_TOLERANCE_M",
    "DEFAULT_ZONE_RADIUS_M",
    "BulkHits",
    "GenerationIndex",
    "Hit",
    "IndexLayer",
    "ObjectInfo",
]

#: A road section "is at" a point when the point lies within this distance (metres).
DEFAULT_LINE_TOLERANCE_M = 30.0
#: Default key-site zone radius (周边400米范围), metres.
DEFAULT_ZONE_RADIUS_M = 400.0


@dataclass(frozen=True)
class ObjectInfo:
    """What the index knows about one indexed object (no geometry).

    Attributes
    ----------
    id : int
        Row id in the store (``areas.id``, ``road_sections.id`` or ``key_sites.id``).
    layer : str
        Layer name (``"community"``, ``"road_section"``…).
    code : str
        Stable code.
    name : str
    type : str
        Area type (``"street"``, ``"village"``…), the key-site kind, or the layer.
    extra : mapping
        Layer-specific values (``parent_code``, ``extent``, ``zone_radius_m``).
    """

    id: int
    layer: str
    code: str
    name: str
    type: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One object found at a point.

    Attributes
    ----------
    info : ObjectInfo
    distance_m : float
        Metres from the point to the object (0 when it covers the point).
    """

    info: ObjectInfo
    distance_m: float

    @property
    def layer(self) -> str:
        """Layer of the object."""
        return self.info.layer

    @property
    def code(self) -> str:
        """Code of the object."""
        return self.info.code


@dataclass(frozen=True)
class IndexLayer:
    """Input of :meth:`GenerationIndex.build`: one layer's objects.

    Attributes
    ----------
    name : str
        Layer name.
    kind : str
        ``"polygon"``, ``"line"`` or ``"zone"``.
    infos : sequence of ObjectInfo
    geoms : sequence of shapely geometries
        WGS84 lon/lat, aligned with ``infos``.
    tiling : bool
        Polygon layers: at most one area per point (the smallest code on a shared
        edge); False lists every covering area (supervision areas may overlap).
    radius_m : sequence of float, optional
        Zone radius per object (``"zone"`` layers), metres.
    tolerance_m : float
        Search distance of ``"line"`` layers, metres.
    """

    name: str
    kind: str
    infos: Sequence[ObjectInfo]
    geoms: Sequence[Any]
    tiling: bool = True
    radius_m: Sequence[float] | None = None
    tolerance_m: float = DEFAULT_LINE_TOLERANCE_M


class GenerationIndex:
    """An immutable snap index over one generation's layers.

    Build it with :meth:`build` (or :meth:`empty`); query it with :meth:`snap`.
    It wraps :class:`civgrid.geo.snap.SnapIndex` and maps its hits back to the
    stored objects.

    Attributes
    ----------
    generation_id : int or None
        The generation it was built from (None for the empty index).
    built_at : datetime
        UTC time of the build.
    metric_epsg : int or None
        The metric CRS used for distances.
    """

    def __init__(
        self,
        generation_id: int | None,
        snap_index: SnapIndex | None,
        infos: Mapping[str, tuple[ObjectInfo, ...]],
    ) -> None:
        self.generation_id = generation_id
        self.built_at = datetime.now(UTC)
        self._snap = snap_index
        self._infos = MappingProxyType(dict(infos))
        self.metric_epsg = snap_index.epsg if snap_index is not None else None
        self._by_code = MappingProxyType(
            {(name, info.code): info for name, infos_ in infos.items() for info in infos_}
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls) -> GenerationIndex:
        """An index with no layers (before any generation exists)."""
        return cls(None, None, {})

    @classmethod
    def build(cls, generation_id: int | None, layers: Sequence[IndexLayer]) -> GenerationIndex:
        """Build the index of one generation.

        Parameters
        ----------
        generation_id : int or None
            The generation the layers come from.
        layers : sequence of IndexLayer
            Geometries in WGS84 lon/lat; empty layers are left out.

        Returns
        -------
        GenerationIndex
        """
        specs: list[Any] = []
        infos: dict[str, tuple[ObjectInfo, ...]] = {}
        for lay in layers:
            if not lay.infos:
                continue
            codes = [i.code for i in lay.infos]
            geoms = list(lay.geoms)
            if lay.kind == "polygon":
                specs.append(PolygonLayer(lay.name, codes, geoms, tiling=lay.tiling))
            elif lay.kind == "line":
                specs.append(LineLayer(lay.name, codes, geoms, tolerance_m=lay.tolerance_m))
            elif lay.kind == "zone":
                radius = (
                    list(lay.radius_m)
                    if lay.radius_m is not None
                    else [DEFAULT_ZONE_RADIUS_M] * len(codes)
                )
                specs.append(ZoneLayer(lay.name, codes, geoms, radius_m=radius))
            else:
                raise ValueError(f"unknown index layer kind {lay.kind!r}")
            infos[lay.name] = tuple(lay.infos)
        if not specs:
            return cls(generation_id, None, {})
        return cls(generation_id, SnapIndex.build(specs), infos)

    # ------------------------------------------------------------------ queries
    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the indexed layers."""
        return tuple(self._infos)

    def counts(self) -> dict[str, int]:
        """Number of objects per layer."""
        return {name: len(infos) for name, infos in self._infos.items()}

    def info(self, layer: str, code: str) -> ObjectInfo | None:
        """The indexed object of ``layer`` with ``code``, if any."""
        return self._by_code.get((layer, code))

    def snap(
        self, lon: float, lat: float, layers: Sequence[str] | None = None
    ) -> dict[str, list[Hit]]:
        """Objects at a point, per layer.

        Parameters
        ----------
        lon, lat : float
            WGS84 degrees.
        layers : sequence of str, optional
            Only these layers (default: all).

        Returns
        -------
        dict
            Layer name → hits: the covering area of a tiling layer (smallest
            code on a shared edge), every covering supervision area, the nearest
            road section within tolerance, every key-site zone containing the
            point (nearest first). Layers with no hit are absent.
        """
        if self._snap is None:
            return {}
        names = [n for n in self._infos if layers is None or n in layers]
        result = self._snap.snap(lon, lat, layers=names)
        out: dict[str, list[Hit]] = {}
        for name in names:
            h = result[name]
            infos = self._infos[name]
            if isinstance(h, AreaHit):
                hits = [Hit(infos[h.id], 0.0)] if h.id >= 0 else []
            elif isinstance(h, AreasHit):
                hits = [Hit(infos[i], 0.0) for i in h.ids]
            elif isinstance(h, RoadHit):
                hits = [Hit(infos[h.id], float(h.distance_m))] if h.id >= 0 else []
            elif isinstance(h, ZonesHit):
                hits = [Hit(infos[i], float(d)) for i, (_c, d) in zip(h.ids, h.zones, strict=True)]
            else:  # pragma: no cover - geo.snap returns only these
                raise TypeError(f"unexpected hit {h!r}")
            if hits:
                out[name] = hits
        return out

    def snap_many(self, lon: Any, lat: Any) -> list[dict[str, list[Hit]]]:
        """Per point, layer → hits, like :meth:`snap` but for all points at once.

        The bulk path: one call into the geometry engine's
        :meth:`~civgrid.geo.snap.SnapIndex.snap_many` (points that are not finite
        WGS84 coordinates get no hits). :meth:`snap_arrays` gives the same answer as
        arrays, without a Python object per point.

        Parameters
        ----------
        lon, lat : array-like of float
            WGS84 degrees, same length.

        Returns
        -------
        list of dict
            One dict per point, as :meth:`snap` returns (layers with no hit absent).
        """
        bulk = self.snap_arrays(lon, lat)
        return [bulk.hits(k) for k in range(bulk.n)]

    def snap_arrays(self, lon: Any, lat: Any) -> BulkHits:
        """Every point's hits as arrays per layer (the back-fill's bulk snap).

        Parameters
        ----------
        lon, lat : array-like of float
            WGS84 degrees, same length.

        Returns
        -------
        BulkHits
        """
        n = len(lon)
        if self._snap is None or n == 0:
            return BulkHits(n, {}, {})
        result = self._snap.snap_many(lon, lat, on_invalid="skip")
        return BulkHits(n, result, {name: self._infos[name] for name in result})


class BulkHits:
    """Hits of many points as arrays per layer (:meth:`GenerationIndex.snap_arrays`).

    Holds the geometry engine's arrays as they come (per layer: object ids, ``-1``
    for none, and distances; offsets for layers where a point can have several
    objects); :meth:`hits` gives one point's hits exactly as
    :meth:`GenerationIndex.snap` would, :meth:`place_ids` numbers the distinct
    combinations of objects, :meth:`codes` and :meth:`places` read all points at once.

    Parameters
    ----------
    n : int
        Number of points.
    result : mapping
        Layer → :mod:`civgrid.geo.snap` bulk arrays (in layer order).
    infos : mapping
        Layer → the layer's :class:`ObjectInfo` by engine id.
    """

    def __init__(
        self, n: int, result: Mapping[str, Any], infos: Mapping[str, tuple[ObjectInfo, ...]]
    ) -> None:
        self.n = n
        self._arrays = dict(result)
        self._infos = dict(infos)
        self._shared: dict[tuple[str, int], Hit] = {}

    @property
    def layers(self) -> tuple[str, ...]:
        """Layer names, in the order hits are listed."""
        return tuple(self._arrays)

    def hits(self, k: int) -> dict[str, list[Hit]]:
        """Point ``k``'s layer → hits (nearest first; layers with no hit absent)."""
        out: dict[str, list[Hit]] = {}
        for name, arr in self._arrays.items():
            infos = self._infos[name]
            if isinstance(arr, AreaArrays):
                i = int(arr.ids[k])
                if i >= 0:  # a covering hit is the same object for every point
                    h = self._shared.get((name, i))
                    if h is None:
                        h = self._shared[(name, i)] = Hit(infos[i], 0.0)
                    out[name] = [h]
            elif isinstance(arr, RoadArrays):
                i = int(arr.ids[k])
                if i >= 0:
                    out[name] = [Hit(infos[i], float(arr.distance_m[k]))]
            elif isinstance(arr, AreaSetArrays | ZoneArrays):
                a, b = int(arr.offsets[k]), int(arr.offsets[k + 1])
                if b > a:
                    ids = arr.ids[a:b].tolist()
                    if isinstance(arr, ZoneArrays):
                        dist = arr.distance_m[a:b].tolist()
                    else:
                        dist = [0.0] * len(ids)
                    out[name] = [Hit(infos[i], float(d)) for i, d in zip(ids, dist, strict=True)]
        return out

    def place_ids(self, first_only: Iterable[str] = ()) -> np.ndarray:
        """Per point, a number for its combination of objects over every layer.

        Two points get the same number exactly when they lie on the same objects of
        every layer (what ``tuple((layer, *codes) for layer, hits in hits(k).items())``
        compares, distances left out); layers in ``first_only`` count only their
        nearest object.

        Returns
        -------
        numpy.ndarray of int64
            Dense numbers ``0 … m-1``.
        """
        first_only = set(first_only)
        key = np.zeros(self.n, dtype=np.int64)
        span = 1
        for name, arr in self._arrays.items():
            col = self._column(name, arr, name in first_only)
            width = int(col.max()) + 2 if self.n else 1
            if span * width >= 2**62:  # renumber densely before the key overflows
                uniq, key = np.unique(key, return_inverse=True)
                span = len(uniq)
            key = key * width + (col + 1)
            span *= width
        return np.unique(key, return_inverse=True)[1].astype(np.int64).reshape(-1)

    def _column(self, name: str, arr: Any, first_only: bool) -> np.ndarray:
        if isinstance(arr, AreaArrays | RoadArrays):
            return arr.ids.astype(np.int64)
        offs = arr.offsets
        counts = np.diff(offs)
        col = np.full(self.n, -1, dtype=np.int64)
        has = counts > 0
        col[has] = arr.ids[offs[:-1][has]]
        if first_only:
            return col
        base = len(self._infos[name])
        sets: dict[tuple[int, ...], int] = {}
        for k in np.flatnonzero(counts > 1).tolist():
            ids = tuple(arr.ids[offs[k] : offs[k + 1]].tolist())
            col[k] = base + sets.setdefault(ids, len(sets))
        return col

    def _nearest(self, arr: Any) -> np.ndarray:
        """Per point, the index of its (nearest) object in the layer, -1 if none."""
        if isinstance(arr, AreaArrays | RoadArrays):
            return arr.ids
        counts = np.diff(arr.offsets)
        ids = np.full(self.n, -1, dtype=np.int64)
        has = counts > 0
        ids[has] = arr.ids[arr.offsets[:-1][has]]
        return ids

    def codes(self, name: str) -> list[str | None]:
        """Per point, the code of its (nearest) object of layer ``name``, else None."""
        arr = self._arrays.get(name)
        if arr is None:
            return [None] * self.n
        table = [i.code for i in self._infos[name]] + [None]
        return [table[i] for i in self._nearest(arr).tolist()]

    def code_numbers(self, name: str) -> np.ndarray:
        """Per point, a number for the code of :meth:`codes` (-1: None): equal numbers
        for equal codes, without a string per point."""
        arr = self._arrays.get(name)
        if arr is None:
            return np.full(self.n, -1, dtype=np.int64)
        numbers: dict[str, int] = {}
        table = [numbers.setdefault(i.code, len(numbers)) for i in self._infos[name]]
        return np.array([*table, -1], dtype=np.int64)[self._nearest(arr)]

    def places(
        self, first_only: Iterable[str] = ()
    ) -> Iterator[tuple[str, np.ndarray, list[str], np.ndarray]]:
        """Every (point, object) pair, one layer at a time.

        Yields
        ------
        tuple
            ``(layer, point index array, codes, distances in metres)``; within a
            layer, points ascending and each point's objects nearest first (as
            :meth:`hits` lists them). Layers in ``first_only`` give only the nearest.
        """
        first_only = set(first_only)
        for name, arr in self._arrays.items():
            table = [i.code for i in self._infos[name]]
            if isinstance(arr, AreaArrays | RoadArrays) or name in first_only:
                if isinstance(arr, AreaArrays | RoadArrays):
                    k = np.flatnonzero(arr.ids >= 0)
                    ids, dist = arr.ids[k], arr.distance_m[k]
                    if isinstance(arr, AreaArrays):
                        dist = np.zeros(len(k))
                else:
                    counts = np.diff(arr.offsets)
                    k = np.flatnonzero(counts > 0)
                    first = arr.offsets[:-1][k]
                    ids = arr.ids[first]
                    dist = (
                        arr.distance_m[first] if isinstance(arr, ZoneArrays) else np.zeros(len(k))
                    )
            else:
                counts = np.diff(arr.offsets)
                k = np.repeat(np.arange(self.n), counts)
                ids = arr.ids
                dist = arr.distance_m if isinstance(arr, ZoneArrays) else np.zeros(len(ids))
            yield name, k, [table[i] for i in ids.tolist()], np.asarray(dist, dtype=float)
