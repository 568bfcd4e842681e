"""Domain exceptions for geometry input (coordinates, CRS names, geometries, files).

Every exception is a :class:`ValueError` (bad input, not a bug) and carries the
location of the problem as structured data, so the CLI can print it and the
API layer (``civgrid.api.errors``) can map it to HTTP 422 problem details
without parsing messages. Nothing here imports a web framework.

Examples
--------
>>> err = CoordinateError("not a number (NaN)", row=17, field="lon")
>>> str(err)
"row 17, field 'lon': not a number (NaN)"
>>> err.to_dict()["row"]
17
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CoordinateError",
    "FileFormatError",
    "GeoError",
    "GeometryError",
    "UnknownCRSError",
]


def _location(row: int | None, feature: int | str | None, field: str | None) -> str:
    parts = []
    if row is not None:
        parts.append(f"row {row}")
    if feature is not None:
        parts.append(f"feature {feature!r}" if isinstance(feature, str) else f"feature {feature}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)


class GeoError(ValueError):
    """Base class of every civgrid.geo input error.

    Parameters
    ----------
    message : str
        What is wrong, without the location (it is prefixed from ``row``,
        ``feature`` and ``field``).
    row : int, optional
        0-based index of the offending row or record in the input.
    feature : int or str, optional
        Index or identifier of the offending feature.
    field : str, optional
        Name of the offending attribute or column.
    problems : list of dict, optional
        Every problem found when several rows are bad (each a dict with at
        least ``message`` and usually ``row``/``feature``/``field``). The
        exception's own location describes the first of them.
    hint : str, optional
        How to fix it (e.g. "pass --encoding gbk").

    Attributes
    ----------
    code : str
        Stable machine-readable name of the error class (``"coordinate_error"`` …).
    """

    code = "geo_error"

    def __init__(
        self,
        message: str,
        *,
        row: int | None = None,
        feature: int | str | None = None,
        field: str | None = None,
        problems: list[dict[str, Any]] | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.row = None if row is None else int(row)
        self.feature = feature
        self.field = field
        self.problems: list[dict[str, Any]] = list(problems or [])
        self.hint = hint
        super().__init__(self._text())

    def _text(self) -> str:
        loc = _location(self.row, self.feature, self.field)
        text = f"{loc}: {self.message}" if loc else self.message
        extra = len(self.problems) - 1
        if extra > 0:
            text += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        if self.hint:
            text += f" — {self.hint}"
        return text

    def __str__(self) -> str:
        return self._text()

    def to_dict(self) -> dict[str, Any]:
        """Structured, JSON-serialisable details for problem+json bodies and CLI reports.

        Returns
        -------
        dict
            Keys ``code``, ``message`` and ``detail`` (the full text) always;
            ``row``, ``feature``, ``field``, ``hint`` and ``problems`` when set.
            It never contains ``type``/``title``/``status`` so it can be merged
            into an RFC 9457 body.
        """
        out: dict[str, Any] = {"code": self.code, "message": self.message, "detail": str(self)}
        for key in ("row", "feature", "field", "hint"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.problems:
            out["problems"] = [_jsonable(p) for p in self.problems]
        return out


def _jsonable(problem: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in problem.items():
        if hasattr(value, "item") and callable(value.item):  # numpy scalar
            value = value.item()
        if isinstance(value, float) and value != value:  # NaN is not valid JSON
            value = None
        out[key] = value
    return out


class CoordinateError(GeoError):
    """Bad lon/lat: NaN/inf, out of range, likely swapped, or far outside the jurisdiction."""

    code = "coordinate_error"


class UnknownCRSError(GeoError):
    """A coordinate reference system name or definition civgrid does not know."""

    code = "unknown_crs"


class GeometryError(GeoError):
    """A geometry that is null, empty, malformed, invalid or cannot be repaired."""

    code = "geometry_error"


class FileFormatError(GeoError):
    """An unreadable file, a missing field, or attributes in the wrong encoding."""

    code = "file_format_error"
