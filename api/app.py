"""The FastAPI application factory.

``create_app(settings)`` builds the app; its lifespan opens the database
(:class:`civgrid.grids.boundaries.store.Store`), runs migrations for the embedded SQLite
file, builds the in-process snap index from the active boundary generation and
keeps both on ``app.state`` — no module-level globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from civgrid.api import errors
from civgrid.api.deps import install_login_handler, method_permission
from civgrid.api.settings import Settings
from civgrid.api.version import __version__

log = logging.getLogger("civgrid.api")


async def _watch_generation(store: object, every_s: float) -> None:
    """Keep this worker's snap index on the current generation.

    A boundary import or ``civgrid db activate`` in another process (the CLI,
    another worker) changes the active generation in the database; each worker
    checks a one-row query every ``every_s`` seconds and rebuilds its index in a
    thread when it changed (readers keep the old index until the swap).
    """
    while True:
        await asyncio.sleep(every_s)
        try:
            if await asyncio.to_thread(store.refresh_index):  # type: ignore[attr-defined]
                log.info("snap index moved to generation %s", store.snap_index.generation_id)  # type: ignore[attr-defined]
        except Exception:  # a database hiccup must not end the watch
            log.warning("generation check failed", exc_info=True)


def create_app(settings: Settings | None = None, *, freeze_gc: bool = False) -> FastAPI:
    """Build the civgrid web application.

    Parameters
    ----------
    settings : Settings, optional
        Configuration; read from ``CIVGRID_*`` environment variables when omitted.
    freeze_gc : bool
        After start-up, move every object alive then out of the garbage collector's
        reach (:func:`gc.freeze`). The served app does (:mod:`civgrid.api.asgi`): a
        worker holds some 300,000 long-lived objects (the app, its models and
        mappers, the snap index, the routing caches), and a full collection walks all
        of them — about 0.3 s of a core, every request of the worker waiting — each time
        enough young objects have survived; frozen, a full collection walks only what
        came later. Off by default: a test process builds many apps, and what one
        freezes is never collected.

    Returns
    -------
    FastAPI
        The app, with routers, error handlers and a lifespan that opens the store.
    """
    settings = settings or Settings()
    # the city (county name, map centre, prefixes, time zone): selected once, here
    city = settings.activate_city()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from civgrid.grids.boundaries.store import Store
        from civgrid.grids.core.db import make_engine

        engine = make_engine(settings.database_url, busy_timeout_s=settings.sqlite_busy_timeout_s)
        store = Store(engine)
        if store.backend == "sqlite":
            # the embedded file is ours to migrate; production runs `civgrid db upgrade`
            store.upgrade()
        watcher = None
        if settings.build_index_on_startup:
            store.rebuild_index()
            if settings.generation_poll_seconds > 0:
                watcher = asyncio.create_task(
                    _watch_generation(store, settings.generation_poll_seconds)
                )
        app.state.store = store
        notifier = None
        if settings.notify_worker:
            from civgrid.api.notifications import channels_from_settings, notify_loop
            from civgrid.grids.notify.worker import Worker

            worker = Worker(engine, channels_from_settings(settings), name="serve")
            notifier = asyncio.create_task(notify_loop(worker, settings.notify_interval_seconds))
        from civgrid.api.routers.health import log_calendar_status

        log_calendar_status()  # a year the calendar lacks is said at start-up
        if freeze_gc:
            gc.collect()  # garbage of the start-up goes now, not frozen for ever
            gc.freeze()
        try:
            yield
        finally:
            for task in (watcher, notifier):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            engine.dispose()

    app = FastAPI(
        title="civgrid 创文网格化管理",
        version=__version__,
        description="Geospatial grid management for civilized-city campaigns.",
        lifespan=lifespan,
        docs_url=None,  # /docs is served from local assets (api/routers/pages.py)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.city = city
    from civgrid.api.microcache import MicroCache

    app.state.map_cache = MicroCache(settings.map_cache_seconds)
    errors.install(app)
    install_login_handler(app)

    from fastapi.middleware.gzip import GZipMiddleware

    # GeoJSON layers compress ~10×. Level 6 (zlib's default), a local choice: Starlette's
    # 9 took about three times the CPU on a year's heat points and hexbins for a few per
    # cent fewer bytes, on a server whose requests share its cores
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=6)

    from civgrid.api.bodylimit import BodyLimitMiddleware

    app.add_middleware(
        BodyLimitMiddleware,
        json_max_bytes=settings.json_max_bytes,
        upload_max_bytes=settings.upload_max_bytes,
    )

    from civgrid.api.servertiming import ServerTiming

    # Server-Timing: app;dur=<ms> — the request's own cost, inside the load shedder
    # (the wait in line is not counted); read by bench/load.py
    app.add_middleware(ServerTiming)

    from civgrid.api.overload import LoadShedding

    # a request waits for a slot before any work; at most as many run as the
    # database pool can serve (5 + 10 connections; a request may hold two)
    app.add_middleware(
        LoadShedding,
        limit=settings.max_concurrent_requests,
        queue_s=settings.queue_seconds,
        retry_after_s=max(1, round(settings.queue_seconds)),
    )
    from civgrid.api.websecurity import BrowserSecurity

    # outermost: CSRF refusal and the security headers (CSP, frame, nosniff) on every
    # answer, the load-shedding 503 included
    app.add_middleware(BrowserSecurity, settings=settings)

    from fastapi.staticfiles import StaticFiles

    from civgrid.api.routers import (
        auth,
        dispatching,
        health,
        issues,
        maps,
        open311,
        pages,
        patrol,
        points,
        responsibility,
        scoring,
        shops,
        transfers,
        work,
    )
    from civgrid.maps.assets import STATIC_DIR, STATIC_URL

    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(dispatching.router)  # before issues: /issues/bulk-reassign
    app.include_router(issues.router)
    app.include_router(transfers.router)
    app.include_router(transfers.pages)
    app.include_router(work.pages)
    app.include_router(open311.router)
    app.include_router(maps.router)
    app.include_router(responsibility.router)
    app.include_router(points.router)
    app.include_router(shops.router)
    # patrol and scoring: login and a read/write permission by HTTP method for every route;
    # the object-level scope is applied inside their routes (grids.permissions.Scope)
    app.include_router(patrol.router, dependencies=[method_permission("patrol")])
    app.include_router(patrol.leaders)  # leaders record their own visits
    app.include_router(scoring.router, dependencies=[method_permission("score")])
    app.include_router(scoring.pages, dependencies=[method_permission("score")])
    for extra in ("pages",):
        if hasattr(patrol, extra):
            app.include_router(getattr(patrol, extra), dependencies=[method_permission("patrol")])
    from civgrid.api.routers import campaigns

    app.include_router(campaigns.router, dependencies=[method_permission("score")])
    app.include_router(campaigns.pages, dependencies=[method_permission("score")])
    app.include_router(auth.router)
    app.include_router(auth.pages)
    from civgrid.api.routers import field

    app.include_router(field.router)  # the public receipt status
    app.include_router(field.pages)  # the field app under /m/
    from civgrid.api.routers import notifications

    app.include_router(notifications.router)
    app.include_router(notifications.pages)
    from civgrid.api.routers import documents

    app.include_router(documents.router)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app
