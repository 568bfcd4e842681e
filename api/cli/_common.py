"""What every ``civgrid`` command shares: the database option, the store opener, errors.

* :data:`DatabaseUrl` — the one spelling of the database option:
  ``--database-url`` (alias ``--db``) or ``CIVGRID_DATABASE_URL``; default: settings.
* :func:`open_store` — opens the store and checks the Alembic revision on every
  command. A new, empty embedded SQLite database is created (migrated to head);
  any other database not at the newest revision (PostgreSQL, or SQLite at an older
  revision) is refused with :func:`stale_message` and exit status
  :data:`EXIT_STALE` — run ``civgrid db upgrade`` first.
* :func:`fail` / :func:`domain_errors` — a domain or geometry error is one line
  ``error: …`` on stderr and exit status :data:`EXIT_ERROR`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, Any, NoReturn

import typer

__all__ = [
    "EXIT_ERROR",
    "EXIT_STALE",
    "DatabaseUrl",
    "check_revision",
    "cli_actor",
    "database_url",
    "domain_errors",
    "fail",
    "open_store",
    "stale_message",
]

#: Exit status of a command refused by a domain rule (bad input, unknown key…).
EXIT_ERROR = 1
#: Exit status of a command refused because the database is not at the newest revision.
EXIT_STALE = 2

#: The database option of every command that opens the database.
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "--db",
        envvar="CIVGRID_DATABASE_URL",
        help="SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…). Default: settings.",
        show_envvar=True,
    ),
]


def database_url(url: str | None) -> str:
    """The given URL, else the configured one."""
    if url:
        return url
    from civgrid.api.settings import Settings

    return Settings().database_url


def stale_message(current: str | None, head: str | None) -> str:
    """The one line printed when a database is not at the newest revision.

    >>> stale_message("0300", "0400")
    'database is at revision 0300, not 0400: run `civgrid db upgrade` first'
    """
    return f"database is at revision {current}, not {head}: run `civgrid db upgrade` first"


def check_revision(store: Any) -> None:
    """Refuse (exit :data:`EXIT_STALE`) a database not at the newest revision.

    Only a new, empty embedded SQLite database is migrated here (the zero-setup
    demo); an existing database is never migrated behind the operator's back.
    """
    from civgrid.grids.core.migrate import head_revision

    current, head = store.revision(), head_revision()
    if current == head:
        return
    if current is None and store.backend == "sqlite":
        store.upgrade()
        return
    typer.echo(stale_message(current, head), err=True)
    raise typer.Exit(EXIT_STALE)


@contextmanager
def open_store(url: str | None, *, check: bool = True) -> Iterator[Any]:
    """The :class:`~civgrid.grids.boundaries.store.Store` of ``url`` (default: settings).

    ``check=False`` only for ``civgrid db upgrade|status``, which deal with the
    revision themselves.
    """
    from civgrid.grids.boundaries.store import Store
    from civgrid.grids.core.db import make_engine

    engine = make_engine(database_url(url))
    try:
        store = Store(engine)
        if check:
            check_revision(store)
        yield store
    finally:
        engine.dispose()


def fail(exc: BaseException) -> NoReturn:
    """Print ``error: <exc>`` on stderr and exit with :data:`EXIT_ERROR`."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(EXIT_ERROR) from exc


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command: domain and geometry errors → :func:`fail`."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from civgrid.geo.errors import GeoError
        from civgrid.grids.core.errors import DomainError

        try:
            return fn(*args, **kwargs)
        except (DomainError, GeoError) as exc:
            fail(exc)

    return wrapper


def cli_actor() -> Any:
    """The actor of a CLI command, for the audit log: ``cli:<login name>``."""
    from civgrid.grids.core.actors import Actor

    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "unknown"
    return Actor(f"cli:{who}")
