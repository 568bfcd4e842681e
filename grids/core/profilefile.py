"""Reading a profile YAML file with the line of every node, for ``file:line`` errors.

Shared by the city settings (:mod:`civgrid.grids.core.city`) and the scoring rules
(:mod:`civgrid.grids.scoring.rules`): both read sections of the same profile file
(``grids/profiles/<name>.yaml``) and report a bad value as ``file:line: reason``.

Examples
--------
>>> data, lines = compose("a: 1\\nb:\\n  c: [x, y]\\n", "p.yaml")
>>> data["b"], lines[("b", "c")], line_for(lines, ("b", "c", 1, "deeper"))
({'c': ['x', 'y']}, 3, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from civgrid.grids.core.errors import InvalidInputError

__all__ = ["ProfileFileError", "compose", "line_for", "line_map", "validation_error"]


class ProfileFileError(InvalidInputError):
    """A profile file that cannot be used: ``file``, ``line`` (1-based) and ``reason``."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {reason}", field="rules", file=file, line=line, row=line)
        self.file, self.line, self.reason = file, line, reason


def line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Path (keys and list indexes) → 1-based line of every node of a composed YAML tree."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            line_map(v, (*path, key), out)
            out[(*path, key)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            line_map(v, (*path, i), out)
    return out


def line_for(lines: Mapping[tuple, int], loc: Iterable[Any]) -> int | None:
    """The line of the deepest known prefix of a pydantic error location."""
    parts = tuple(str(x) if not isinstance(x, int) else x for x in loc)
    for n in range(len(parts), -1, -1):
        if parts[:n] in lines:
            return lines[parts[:n]]
    return None


def compose(
    text: str,
    file: str,
    error: type[ProfileFileError] = ProfileFileError,
    *,
    loader_class: type[yaml.SafeLoader] = yaml.SafeLoader,
    allow_empty: bool = False,
) -> tuple[dict[str, Any], dict[tuple, int]]:
    """Parse ``text`` (a YAML mapping) into data and the line of every node.

    ``loader_class`` may be a stricter :class:`yaml.SafeLoader` (the calendar file
    keeps dates as text); ``allow_empty`` makes an empty file an empty mapping.

    Raises
    ------
    ProfileFileError
        (or ``error``) Bad YAML, an empty file, or not a mapping — with the line.
    """
    try:
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            if node is None:
                if allow_empty:
                    return {}, {}
                raise error(file, 1, "empty profile file")
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error(file, line, f"YAML: {exc.problem or exc.context}") from exc
    if not isinstance(data, dict):
        raise error(file, node.start_mark.line + 1, "a profile must be a mapping")
    return data, line_map(node)


def validation_error(
    exc: ValidationError,
    file: str,
    lines: Mapping[tuple, int],
    prefix: tuple = (),
    error: type[ProfileFileError] = ProfileFileError,
) -> ProfileFileError:
    """The ``file:line: where: message`` error of the first pydantic error of ``exc``.

    ``prefix`` is the path of the validated section inside the file (``("city",)``).
    """
    err = exc.errors()[0]
    loc = (*prefix, *tuple(err.get("loc", ())))
    if (extra := (err.get("ctx") or {}).get("field")) is not None:
        loc = (*loc, extra)
    where = ".".join(str(x) for x in loc)
    return error(file, line_for(lines, loc), f"{where}: {err.get('msg')}")
