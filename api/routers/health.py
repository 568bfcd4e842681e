"""``GET /healthz``: liveness plus what an operator needs to see at a glance."""

from __future__ import annotations

import logging
import os
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from civgrid.api.deps import StoreDep
from civgrid.api.version import __version__
from civgrid.grids.core.db import postgis_version
from civgrid.grids.core.types import utc

router = APIRouter(tags=["health"])
log = logging.getLogger("civgrid.calendar")


class GenerationInfo(BaseModel):
    """The active boundary generation (边界版本)."""

    id: int
    source: str | None
    created: datetime | None
    note: str | None


class CalendarHealth(BaseModel):
    """The working-day calendar: years covered and years in use it lacks (weekends only)."""

    first_year: int | None
    last_year: int | None
    missing_years: list[int]


class Health(BaseModel):
    """Health report."""

    status: str
    version: str
    database_backend: str
    postgis_version: str | None
    active_generation: GenerationInfo | None
    index_generation_id: int | None
    index_layers: dict[str, int]
    worker_pid: int
    calendar: CalendarHealth | None = None


@router.get("/healthz", response_model=Health, summary="Liveness and configuration")
def healthz(request: Request, store: StoreDep) -> Health:
    """Return version, database backend (and PostGIS version), the active generation,
    the generation this worker's snap index holds, and the worker's process id.
    """
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
        index_generation_id=store.snap_index.generation_id,
        index_layers=store.index_summary(),
        worker_pid=os.getpid(),
        calendar=_calendar_health(request),
    )


def _calendar_health(request: Request) -> CalendarHealth:
    # the app's one issue configuration (built once): building the calendar from the
    # environment here cost more than the rest of the probe, which must stay light
    from civgrid.api.routers.issues import get_issue_config

    st = get_issue_config(request).calendar.status()
    return CalendarHealth(
        first_year=st.first_year, last_year=st.last_year, missing_years=list(st.missing_years)
    )


def log_calendar_status() -> None:
    """Log, at start-up, the years the working-day calendar lacks (a warning) or covers."""
    from civgrid.grids.issues.config import configured_calendar

    st = configured_calendar().status()
    if st.missing_years:
        log.warning(
            "working-day calendar lacks %s: deadlines, plans and scores there count weekends "
            "only (install a newer chinesecalendar or add the year to the county calendar file)",
            ", ".join(str(y) for y in st.missing_years),
        )
    else:
        log.info("working-day calendar covers %s–%s", st.first_year, st.last_year)
