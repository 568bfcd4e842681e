"""``civgrid backup DIR`` and ``civgrid restore DIR``: the database, photos, documents,
installed scoring profiles and the secret key, with a manifest of sha256 checksums.

What is where comes from the settings: the database (``--database-url`` or
``CIVGRID_DATABASE_URL``), ``CIVGRID_VAR_DIR`` (``secret_key``, ``profiles/``,
``bulletins/`` — the issued documents) and ``CIVGRID_PHOTO_DIR`` (default
``<var_dir>/photos``). The procedure and schedule are in ``docs/operations.md``;
the format in :mod:`civgrid.grids.core.backup`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from civgrid.api.cli._common import DatabaseUrl, database_url, domain_errors

if TYPE_CHECKING:
    from civgrid.grids.core.backup import Locations

PgBin = Annotated[
    Path | None,
    typer.Option(
        "--pg-bin",
        envvar="CIVGRID_PG_BIN",
        help="Folder of pg_dump/pg_restore (PostgreSQL); default: PATH, else the newest "
        "/usr/lib/postgresql/*/bin.",
    ),
]
VarDir = Annotated[
    Path | None,
    typer.Option("--var-dir", help="Data directory (default: CIVGRID_VAR_DIR / settings)."),
]


def locations(url: str | None, var_dir: Path | None = None) -> Locations:
    """Where this instance keeps its state, from the settings."""
    from civgrid.api.settings import Settings
    from civgrid.grids.core.backup import Locations
    from civgrid.grids.issues.config import IssueSettings

    settings = Settings()
    var = Path(var_dir or settings.var_dir)
    photos = IssueSettings().photo_dir or var / "photos"
    return Locations(
        database_url=database_url(url),
        trees={"photos": photos, "profiles": var / "profiles", "documents": var / "bulletins"},
        secret_key_file=None if settings.secret_key else var / "secret_key",
    )


@domain_errors
def backup_command(
    directory: Annotated[Path, typer.Argument(help="New or empty folder for the backup.")],
    db: DatabaseUrl = None,
    var_dir: VarDir = None,
    pg_bin: PgBin = None,
) -> None:
    """Back up a running instance (online: SQLite's backup API, PostgreSQL's pg_dump -Fc)."""
    from civgrid.api.version import __version__
    from civgrid.grids.core.backup import backup

    report = backup(locations(db, var_dir), directory, version=__version__, pg_bin=pg_bin)
    for line in report.lines():
        typer.echo(line)


@domain_errors
def restore_command(
    directory: Annotated[Path, typer.Argument(help="A folder written by `civgrid backup`.")],
    db: DatabaseUrl = None,
    var_dir: VarDir = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the data the target already holds.")
    ] = False,
    pg_bin: PgBin = None,
) -> None:
    """Check every checksum, then restore into an empty target (stop the server first)."""
    from civgrid.grids.core.backup import restore

    report = restore(directory, locations(db, var_dir), force=force, pg_bin=pg_bin)
    for line in ["restored", *report.lines()]:
        typer.echo(line)
