"""``GET /healthz``: liveness plus what an operator needs to see at a glance."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from civgrid.api.deps import StoreDep
from civgrid.api.version import __version__
from civgrid.grids.core.db import postgis_version
from civgrid.grids.core.types import utc

router = APIRouter(tags=["health"])


class GenerationInfo(BaseModel):
    """The active boundary generation (边界版本)."""

    id: int
    source: str | None
    created: datetime | None
    note: str | None


class Health(BaseModel):
    """Health report."""

    status: str
    version: str
    database_backend: str
    postgis_version: str | None
    active_generation: GenerationInfo | None
    index_layers: dict[str, int]


@router.get("/healthz", response_model=Health, summary="Liveness and configuration")
def healthz(store: StoreDep) -> Health:
    """Return version, database backend (and PostGIS version) and the active generation."""
    with store.session() as session:
        gen = store.active_generation(session)
        gen_info = (
            GenerationInfo(id=gen.id, source=gen.source, created=utc(gen.created), note=gen.note)
            if gen is not None
            else None
        )
    return Health(
        status="ok",
        version=__version__,
        database_backend=store.backend,
        postgis_version=postgis_version(store.engine) if store.backend == "postgis" else None,
        active_generation=gen_info,
        index_layers=store.index_summary(),
    )
