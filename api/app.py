"""The FastAPI application factory.

``create_app(settings)`` builds the app; its lifespan opens the database
(:class:`civgrid.grids.boundaries.store.Store`), runs migrations for the embedded SQLite
file, builds the in-process snap index from the active boundary generation and
keeps both on ``app.state`` — no module-level globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from civgrid.api import errors
from civgrid.api.deps import install_login_handler, method_permission
from civgrid.api.settings import Settings
from civgrid.api.version import __version__


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the civgrid web application.

    Parameters
    ----------
    settings : Settings, optional
        Configuration; read from ``CIVGRID_*`` environment variables when omitted.

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
        if settings.build_index_on_startup:
            store.rebuild_index()
        app.state.store = store
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="civgrid 创文网格化管理",
        version=__version__,
        description="Geospatial grid management for civilized-city campaigns.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.city = city
    errors.install(app)
    install_login_handler(app)

    from fastapi.middleware.gzip import GZipMiddleware

    app.add_middleware(GZipMiddleware, minimum_size=2048)  # GeoJSON layers compress ~10×

    from civgrid.api.bodylimit import BodyLimitMiddleware

    app.add_middleware(
        BodyLimitMiddleware,
        json_max_bytes=settings.json_max_bytes,
        upload_max_bytes=settings.upload_max_bytes,
    )

    from fastapi.staticfiles import StaticFiles

    from civgrid.api.routers import auth, health, issues, maps, open311, pages, patrol, scoring
    from civgrid.maps.assets import STATIC_DIR, STATIC_URL

    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(issues.router)
    app.include_router(open311.router)
    app.include_router(maps.router)
    # patrol and scoring: login and a read/write permission by HTTP method for every route;
    # the object-level scope is applied inside their routes (grids.permissions.Scope)
    app.include_router(patrol.router, dependencies=[method_permission("patrol")])
    app.include_router(patrol.leaders)  # leaders record their own visits
    app.include_router(scoring.router, dependencies=[method_permission("score")])
    app.include_router(scoring.pages, dependencies=[method_permission("score")])
    for extra in ("pages",):
        if hasattr(patrol, extra):
            app.include_router(getattr(patrol, extra), dependencies=[method_permission("patrol")])
    app.include_router(auth.router)
    app.include_router(auth.pages)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app
