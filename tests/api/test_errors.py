"""api/errors.py: one status table, one handler, problem details."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civgrid.api import errors
from civgrid.api.ratelimit import PayloadTooLargeError, TooManyRequestsError
from civgrid.geo.errors import CoordinateError
from civgrid.grids.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from civgrid.grids.scoring.rules import RulesError


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (DomainError("x"), 400),
        (PermissionDeniedError("x"), 403),
        (NotFoundError("x"), 404),
        (ConflictError("x"), 409),
        (InvalidTransitionError("x"), 409),  # nearest class in the MRO wins
        (PayloadTooLargeError("x"), 413),
        (InvalidInputError("x"), 422),
        (RulesError("f.yaml", 3, "bad"), 422),
        (CoordinateError("x"), 422),
        (TooManyRequestsError("x"), 429),
        (ValueError("x"), None),
    ],
)
def test_status_table(exc, status):
    assert errors.status_for(exc) == status


def test_one_handler_renders_problem_details():
    app = FastAPI()
    errors.install(app)

    @app.get("/missing")
    def missing():
        raise NotFoundError("no such issue", field="id")

    @app.get("/busy")
    def busy():
        raise TooManyRequestsError("slow down")

    client = TestClient(app)
    r = client.get("/missing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "civgrid:NotFoundError",
        "title": "Not Found",
        "status": 404,
        "detail": "no such issue",
        "field": "id",
    }
    r = client.get("/busy")
    assert r.status_code == 429 and r.json()["title"] == "Too Many Requests"
