"""Every JSON route declares a typed response model in OpenAPI.

A route whose 2xx ``application/json`` response has an empty schema (``{}``) or
a bare object (no properties, no ``additionalProperties`` schema) is untyped:
clients and the docs learn nothing about it. Files, HTML and GPX routes declare
their own media type instead (``responses=``), so they are not JSON routes here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from civgrid.api.app import create_app
from civgrid.api.settings import Settings

#: ``METHOD /path`` → why its JSON body stays untyped (keep this empty if you can).
ALLOWED_UNTYPED: dict[str, str] = {}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _untyped(spec: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    """True for ``{}``, a bare object, or an array/union of those."""
    if not schema:
        return True
    schema = _resolve(spec, schema)
    if not schema:
        return True
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return any(_untyped(spec, s) for s in schema[key] if s.get("type") != "null")
    kind = schema.get("type")
    if kind == "array":
        return _untyped(spec, schema.get("items"))
    if kind == "object" or (kind is None and "properties" not in schema):
        extra = schema.get("additionalProperties")
        return not schema.get("properties") and not (isinstance(extra, dict) and extra)
    return False


def untyped_json_routes(spec: dict[str, Any]) -> list[str]:
    """``METHOD /path`` of the routes whose 2xx JSON response has no typed schema."""
    bad = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, resp in op["responses"].items():
                if not str(status).startswith("2"):
                    continue
                content = resp.get("content") or {}
                if "application/json" not in content:
                    continue
                if _untyped(spec, content["application/json"].get("schema")):
                    bad.append(f"{method.upper()} {path}")
    return sorted(set(bad))


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(database_url=f"sqlite:///{tmp / 'o.sqlite'}", var_dir=tmp))
    return app.openapi()


def test_every_json_route_has_a_typed_response_model(spec):
    bad = [r for r in untyped_json_routes(spec) if r not in ALLOWED_UNTYPED]
    assert not bad, "JSON routes without a typed response model:\n" + "\n".join(bad)


def test_the_allowlist_names_only_untyped_routes(spec):
    stale = sorted(set(ALLOWED_UNTYPED) - set(untyped_json_routes(spec)))
    assert not stale, f"typed now, remove from ALLOWED_UNTYPED: {stale}"


def test_the_check_flags_untyped_schemas():
    spec = {"components": {"schemas": {"Bare": {"type": "object"}}}}
    assert _untyped(spec, {})
    assert _untyped(spec, {"type": "object"})
    assert _untyped(spec, {"$ref": "#/components/schemas/Bare"})
    assert _untyped(spec, {"type": "array", "items": {"type": "object"}})
    assert _untyped(spec, {"type": "object", "additionalProperties": True})
    assert not _untyped(spec, {"type": "object", "properties": {"a": {"type": "string"}}})
    assert not _untyped(spec, {"type": "object", "additionalProperties": {"type": "integer"}})
    assert not _untyped(spec, {"type": "string"})


def test_no_schema_points_into_its_own_defs(spec):
    """A ``#/$defs/…`` pointer left inside an operation breaks ReDoc (it cannot resolve
    it); nested models must live in ``components`` or be inlined."""
    text = json.dumps(spec)
    assert "$defs" not in text
