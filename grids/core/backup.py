"""Backup and restore of one civgrid instance: database, photos, documents, secret key.

A backup is a directory::

    manifest.json          format, versions, Alembic revision, row counts, sha256 per file
    database/civgrid.sqlite  SQLite: the online backup API's copy (WAL included)
    database/civgrid.dump    PostgreSQL: ``pg_dump -Fc`` (custom format, for ``pg_restore``)
    photos/…               the photo store (content addressed, ``ab/cd/<sha256>.<ext>``)
    profiles/…             installed scoring profiles (``<var_dir>/profiles``)
    documents/…            issued bulletins (``<var_dir>/bulletins``)
    secret_key             the token signing key file, when the key is not in the environment

Consistency (a local choice, explained in ``docs/operations.md``): the database is
copied first, as one snapshot — SQLite through ``sqlite3.Connection.backup`` in a
single step (a read transaction: committed pages still in the WAL are included,
writers go on); PostgreSQL by ``pg_dump --snapshot`` of a REPEATABLE READ
transaction whose row counts go into the manifest. Files are copied afterwards:
a photo is written (atomically, ``os.replace``) before the row naming it commits
and is never rewritten, so every photo the snapshot names is in the backup
(a few newer, unreferenced ones may be too). ``manifest.json`` is written last;
a directory without it is not a backup.

:func:`restore` verifies every checksum before it touches anything, refuses a
target that is not empty unless ``force``, restores, and compares the restored
row counts with the manifest's.

>>> _within(Path("/a/b"), Path("/a/b/c"))
True
>>> _within(Path("/a/b"), Path("/a/bc"))
False
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from civgrid.grids.core.errors import ConflictError, InvalidInputError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "BackupReport",
    "Locations",
    "backup",
    "pg_tool",
    "restore",
    "verify",
]

#: Version of the backup layout; :func:`restore` refuses another.
FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database/civgrid.sqlite"
PG_FILE = "database/civgrid.dump"
SECRET_FILE = "secret_key"
#: Tables left out of the counts: owned by PostGIS (its own rows, not ours).
_NOT_COUNTED = frozenset({"spatial_ref_sys"})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Locations:
    """Where one instance keeps its state.

    Attributes
    ----------
    database_url : str
        SQLAlchemy URL (``sqlite:///…`` or ``postgresql+psycopg://…``).
    trees : Mapping[str, Path]
        Folders by backup name: ``photos``, ``profiles``, ``documents``.
    secret_key_file : Path or None
        The generated signing key (``<var_dir>/secret_key``); None when the key is
        given in the environment (``CIVGRID_SECRET_KEY``: keep it with the backup).
    """

    database_url: str
    trees: Mapping[str, Path]
    secret_key_file: Path | None = None


@dataclass
class BackupReport:
    """What a backup or a restore did."""

    directory: Path
    backend: str
    revision: str | None
    counts: dict[str, int]
    files: int
    bytes: int
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report, one fact a line (for the CLI)."""
        main = ("issues", "issue_events", "issue_photos", "users", "audit_log")
        shown = ", ".join(f"{t} {self.counts[t]}" for t in main if t in self.counts)
        return [
            f"backup: {self.directory}",
            f"database: {self.backend} at revision {self.revision}; rows: {shown}",
            f"files: {self.files} ({self.bytes} bytes), sha256 checked",
            *self.notes,
        ]


# ----------------------------------------------------------------------------- helpers


def _within(parent: Path, child: Path) -> bool:
    """Whether ``child`` is ``parent`` or below it."""
    return child == parent or parent in child.parents


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_hashed(src: Path, dst: Path) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` (parents made, mode 600); its sha256 and size."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    h, n = hashlib.sha256(), 0
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file (restore --force) too
    with src.open("rb") as fin, os.fdopen(fd, "wb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
            fout.write(chunk)
    return h.hexdigest(), n


def _tree_files(root: Path) -> Iterator[Path]:
    """Regular files below ``root``, sorted; half-written uploads (``.upload-*``) left out."""
    if not root.is_dir():
        return
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and not p.name.startswith(".upload-"):
            yield p


def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name in ("postgresql", "postgis"):
        return "postgresql"
    raise InvalidInputError(f"cannot back up a {name!r} database", field="database_url")


def _sqlite_path(url: str) -> Path:
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        raise InvalidInputError(f"not a SQLite file database: {url!r}", field="database_url")
    return Path(db).expanduser()


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment carrying it (never in argv)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    plain = u.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def pg_tool(name: str, pg_bin: Path | None = None) -> str:
    """The path of ``pg_dump``/``pg_restore``: in ``pg_bin``, on PATH, or the newest Debian one."""
    if pg_bin is not None:
        return str(Path(pg_bin) / name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    if not versions:
        raise InvalidInputError(f"{name} not found: install postgresql-client or pass --pg-bin")
    return str(versions[-1])


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise ConflictError(f"{Path(cmd[0]).name} failed: {' / '.join(msg[-3:])}")


# ----------------------------------------------------------------------------- database


def _sqlite_counts(conn: sqlite3.Connection) -> tuple[dict[str, int], str | None]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    counts = {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    rev = None
    if "alembic_version" in counts:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        rev = row[0] if row else None
    counts.pop("alembic_version", None)
    return {k: v for k, v in counts.items() if k not in _NOT_COUNTED}, rev


def _backup_sqlite(url: str, out: Path) -> tuple[dict[str, int], str | None]:
    """One-step online backup (a consistent snapshot, WAL included) into ``out``."""
    src_path = _sqlite_path(url)
    if not src_path.is_file():
        raise InvalidInputError(f"no SQLite database at {src_path}", field="database_url")
    out.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(src_path, timeout=60)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, one read transaction
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        counts, rev = _sqlite_counts(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(out, 0o600)
    return counts, rev


def _pg_counts(cur: Any) -> tuple[dict[str, int], str | None]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        " AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    names = [r[0] for r in cur.fetchall()]
    counts = {}
    for n in names:
        cur.execute(f'SELECT count(*) FROM public."{n}"')
        counts[n] = cur.fetchone()[0]
    rev = None
    if "alembic_version" in counts:
        cur.execute("SELECT version_num FROM public.alembic_version")
        row = cur.fetchone()
        rev = row[0] if row else None
    counts.pop("alembic_version", None)
    return {k: v for k, v in counts.items() if k not in _NOT_COUNTED}, rev


def _backup_pg(url: str, out: Path, pg_bin: Path | None) -> tuple[dict[str, int], str | None]:
    """``pg_dump -Fc`` of the snapshot whose row counts go into the manifest."""
    import psycopg

    libpq, env = _libpq(url)
    out.parent.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(libpq, password=env.get("PGPASSWORD")) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
            counts, rev = _pg_counts(cur)
            # the dump sees exactly the rows counted: the snapshot stays open meanwhile
            _run(
                [
                    pg_tool("pg_dump", pg_bin),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={out}",
                    f"--dbname={libpq}",
                ],
                env,
            )
        conn.rollback()
    os.chmod(out, 0o600)
    return counts, rev


def _db_counts(url: str) -> tuple[dict[str, int], str | None]:
    """Row counts and revision of a live database (after a restore)."""
    if _backend(url) == "sqlite":
        conn = sqlite3.connect(_sqlite_path(url))
        try:
            return _sqlite_counts(conn)
        finally:
            conn.close()
    import psycopg

    libpq, env = _libpq(url)
    with psycopg.connect(libpq, password=env.get("PGPASSWORD")) as conn, conn.cursor() as cur:
        return _pg_counts(cur)


# ----------------------------------------------------------------------------- backup


def backup(
    locations: Locations, out: Path, *, version: str, pg_bin: Path | None = None
) -> BackupReport:
    """Back up the database, the file trees and the secret key into ``out``.

    Parameters
    ----------
    locations : Locations
        What to back up.
    out : Path
        A new or empty directory (created mode 700: it holds password hashes and the key).
    version : str
        The civgrid version, recorded in the manifest.
    pg_bin : Path, optional
        Folder of ``pg_dump`` (PostgreSQL only).

    Returns
    -------
    BackupReport

    Raises
    ------
    ConflictError
        ``out`` is not empty, or ``pg_dump`` failed.
    InvalidInputError
        No database at the URL, or an unsupported backend.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConflictError(f"backup directory is not empty: {out}")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    backend = _backend(locations.database_url)
    files: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    if backend == "sqlite":
        db_rel = SQLITE_FILE
        counts, rev = _backup_sqlite(locations.database_url, out / db_rel)
        engine_version = f"SQLite {sqlite3.sqlite_version}"
    else:
        db_rel = PG_FILE
        counts, rev = _backup_pg(locations.database_url, out / db_rel, pg_bin)
        engine_version = _tool_version(pg_tool("pg_dump", pg_bin))
    files[db_rel] = {"sha256": _sha256(out / db_rel), "bytes": (out / db_rel).stat().st_size}

    skip = _sqlite_path(locations.database_url) if backend == "sqlite" else None
    for name, root in locations.trees.items():
        for src in _tree_files(Path(root)):
            if skip is not None and src.name.startswith(skip.name) and src.parent == skip.parent:
                continue  # the live database (and its -wal/-shm) is never copied as a file
            rel = f"{name}/{src.relative_to(root).as_posix()}"
            sha, n = _copy_hashed(src, out / rel)
            files[rel] = {"sha256": sha, "bytes": n}
    if locations.secret_key_file is not None and Path(locations.secret_key_file).is_file():
        sha, n = _copy_hashed(Path(locations.secret_key_file), out / SECRET_FILE)
        files[SECRET_FILE] = {"sha256": sha, "bytes": n}
    else:
        notes.append("secret key: not a file (CIVGRID_SECRET_KEY?) — keep it with the backup")

    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "civgrid_version": version,
        "python": platform.python_version(),
        "backend": backend,
        "database_engine": engine_version,
        "alembic_revision": rev,
        "counts": counts,
        "trees": sorted(locations.trees),
        "files": files,
    }
    tmp = out / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True))
    os.replace(tmp, out / MANIFEST)  # written last: a folder without it is no backup
    return BackupReport(
        out, backend, rev, counts, len(files), sum(f["bytes"] for f in files.values()), notes
    )


def _tool_version(tool: str) -> str:
    done = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or tool


# ----------------------------------------------------------------------------- verify


def verify(directory: Path) -> dict[str, Any]:
    """Read the manifest of ``directory`` and check every file's sha256.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    InvalidInputError
        No or unreadable manifest, another format, a file missing or whose checksum
        fails (the message names it).
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise InvalidInputError(f"{path}: no manifest — not a complete civgrid backup")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise InvalidInputError(f"{path}: unreadable manifest ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise InvalidInputError(
            f"{path}: backup format {manifest.get('format')!r}, this civgrid reads {FORMAT}"
        )
    bad: list[str] = []
    for rel, meta in sorted(manifest.get("files", {}).items()):
        f = directory / rel
        if not _within(directory.resolve(), f.resolve()):
            raise InvalidInputError(f"{path}: file {rel!r} lies outside the backup")
        if not f.is_file():
            bad.append(f"{rel} (missing)")
        elif f.stat().st_size != meta["bytes"] or _sha256(f) != meta["sha256"]:
            bad.append(f"{rel} (checksum mismatch)")
    if bad:
        more = "…" if len(bad) > 10 else ""
        raise InvalidInputError(f"backup {directory} is damaged: " + ", ".join(bad[:10]) + more)
    return manifest


# ----------------------------------------------------------------------------- restore


def _occupied(locations: Locations) -> list[str]:
    """What in the target already holds data."""
    found = []
    url = locations.database_url
    if _backend(url) == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            found.append(f"database {path}")
    else:
        counts, rev = _db_counts(url)
        if counts or rev:
            found.append(f"database {make_url(url).database} ({len(counts)} tables)")
    for name, root in locations.trees.items():
        if next(_tree_files(Path(root)), None) is not None:
            found.append(f"{name} folder {root}")
    if locations.secret_key_file is not None and Path(locations.secret_key_file).exists():
        found.append(f"secret key {locations.secret_key_file}")
    return found


def _restore_sqlite(src: Path, url: str) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp = target.with_name(target.name + ".restore")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def _restore_pg(src: Path, url: str, pg_bin: Path | None, force: bool) -> None:
    libpq, env = _libpq(url)
    if force:  # everything of ours lives in public; PostGIS comes back with the dump
        import psycopg

        with psycopg.connect(libpq, password=env.get("PGPASSWORD"), autocommit=True) as c:
            c.execute("DROP SCHEMA IF EXISTS public CASCADE")
            c.execute("CREATE SCHEMA public")
    _run(
        [
            pg_tool("pg_restore", pg_bin),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={libpq}",
            str(src),
        ],
        env,
    )


def restore(
    directory: Path, locations: Locations, *, force: bool = False, pg_bin: Path | None = None
) -> BackupReport:
    """Restore the backup in ``directory`` into ``locations``.

    Parameters
    ----------
    directory : Path
        A backup written by :func:`backup`.
    locations : Locations
        The target: an empty database (SQLite: no file yet; PostgreSQL: an empty
        database on which ``CREATE EXTENSION postgis`` is allowed) and empty folders.
    force : bool
        Replace what the target holds (the database and the backed-up folders).
    pg_bin : Path, optional
        Folder of ``pg_restore``.

    Returns
    -------
    BackupReport
        With the restored row counts (equal to the manifest's).

    Raises
    ------
    InvalidInputError
        The backup is damaged (the file is named) or for another backend.
    ConflictError
        The target is not empty (without ``force``), ``pg_restore`` failed, or the
        restored row counts differ from the manifest's.
    """
    directory = Path(directory)
    manifest = verify(directory)  # before anything is touched
    backend = _backend(locations.database_url)
    if manifest["backend"] != backend:
        raise InvalidInputError(
            f"the backup holds a {manifest['backend']} database; the target is {backend}"
        )
    occupied = _occupied(locations)
    if occupied and not force:
        raise ConflictError("restore target is not empty: " + "; ".join(occupied) + " (--force)")

    if backend == "sqlite":
        _restore_sqlite(directory / SQLITE_FILE, locations.database_url)
    else:
        _restore_pg(directory / PG_FILE, locations.database_url, pg_bin, force)

    files = manifest["files"]
    for name, root in locations.trees.items():
        root = Path(root)
        if force and root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)
        for rel, meta in files.items():
            if rel.startswith(name + "/"):
                sha, _ = _copy_hashed(directory / rel, root / rel[len(name) + 1 :])
                if sha != meta["sha256"]:  # changed since verify()
                    raise InvalidInputError(f"backup {directory} is damaged: {rel}")
    notes = []
    if SECRET_FILE in files and locations.secret_key_file is not None:
        _copy_hashed(directory / SECRET_FILE, Path(locations.secret_key_file))
    elif SECRET_FILE not in files:
        notes.append("secret key: not in the backup — set CIVGRID_SECRET_KEY as before")

    counts, rev = _db_counts(locations.database_url)
    wrong = [
        f"{t}: {counts.get(t)} rows, manifest {n}"
        for t, n in manifest["counts"].items()
        if counts.get(t) != n
    ]
    if wrong:
        raise ConflictError("restored database differs from the manifest: " + "; ".join(wrong))
    from civgrid.grids.core.migrate import head_revision

    if rev != head_revision():
        notes.append(f"database at revision {rev}, code at {head_revision()}: civgrid db upgrade")
    n_bytes = sum(f["bytes"] for f in files.values())
    return BackupReport(directory, backend, rev, counts, len(files), n_bytes, notes)
