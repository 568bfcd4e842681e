"""Issue commands: ``civgrid import issues``, ``civgrid simulate`` and ``civgrid issues …``.

``api/cli/__init__.py`` registers them (names for the lead):

* :func:`import_issues` as ``civgrid import issues FILE`` —
  ``cli_grids.import_app.command("issues")(cli_issues.import_issues)``;
* :func:`simulate_command` as ``civgrid simulate`` —
  ``app.command("simulate")(cli_issues.simulate_command)``;
* :data:`issues_app` as ``civgrid issues`` (``import``, ``simulate``,
  ``check-deadlines``, ``lists``, ``reroute``)
  — ``app.add_typer(cli_issues.issues_app, name="issues")``.

The database option, the revision check and the error format are those of every
command (``_common``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, cli_actor, domain_errors, fail, open_store

__all__ = ["import_issues", "issues_app", "open_indexed", "sim_app", "simulate_command"]

issues_app = typer.Typer(
    help="Issues: back-fill, simulation, deadlines, the three lists.", no_args_is_help=True
)
#: ``civgrid simulate`` as a sub-app (alternative to registering :func:`simulate_command`).
sim_app = typer.Typer(help="Simulate a season of issues on the demo county.")


@contextmanager
def open_indexed(url: str | None) -> Iterator[tuple[Any, Any]]:
    """(store, settings): the checked store (``_common.open_store``), spatial index built."""
    from civgrid.api.settings import Settings

    with open_store(url) as store:
        store.rebuild_index()
        yield store, Settings()


def _config(settings: Any) -> Any:
    from civgrid.grids.issues.config import IssueConfig, IssueSettings

    return IssueConfig.from_settings(IssueSettings(), var_dir=settings.var_dir)


def import_issues(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Historical issues: .xlsx or .csv."
    ),
    crs: str = typer.Option("wgs84", help="CRS of the coordinates: wgs84, gcj02, bd09, cgcs2000."),
    encoding: str | None = typer.Option(None, help="CSV encoding (default UTF-8, else GBK)."),
    commit: bool = typer.Option(False, "--commit", help="Write (default: dry run)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    database_url: DatabaseUrl = None,
) -> None:
    """Back-fill historical issues (location, category, dates, status) through the bulk
    snapping engine. A dry run prints the report; --commit writes all rows or none.
    """
    from civgrid.geo.errors import GeoError
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.issues.backfill import backfill_issues

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if total < 2000:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = typer.progressbar(length=total, label=stage, file=sys.stderr)
            bar.__enter__()
            bar.done = 0  # type: ignore[attr-defined]
        bar.update(done - bar.done)  # type: ignore[attr-defined]
        bar.done = done  # type: ignore[attr-defined]

    with open_indexed(database_url) as (store, settings):
        try:
            report = backfill_issues(
                store,
                file,
                crs=crs,
                encoding=encoding,
                commit=commit,
                config=_config(settings),
                progress=progress,
            )
        except (DomainError, GeoError) as exc:
            for bar in bars.values():
                bar.__exit__(None, None, None)
            fail(exc)
        for bar in bars.values():
            bar.__exit__(None, None, None)
    if as_json:
        data = {k: v for k, v in vars(report).items()}
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(report.to_text())
    if not report.ok:
        raise typer.Exit(1)


def simulate_command(
    days: int = typer.Option(120, min=1, max=730, help="Length of the season (days)."),
    seed: int = typer.Option(20220306, help="Random seed (same seed, same season)."),
    per_day: float = typer.Option(14.0, help="Mean reports per working day."),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="Do nothing when the database already holds issues (re-runs)."
    ),
    database_url: DatabaseUrl = None,
) -> None:
    """Generate a realistic season of issues on the demo county through the domain code
    (weighted categories, recurring hotspots, some overdue, some returned).
    """
    from sqlalchemy import func, select

    from civgrid.grids.demo.season import simulate
    from civgrid.grids.issues.models import Issue

    with open_indexed(database_url) as (store, settings):
        if if_empty:
            with store.session() as session:
                n = session.scalar(select(func.count()).select_from(Issue))
            if n:
                typer.echo(f"{n} issues already stored: simulation skipped (--if-empty)")
                return
    with (
        open_indexed(database_url) as (store, settings),
        typer.progressbar(length=days, label="simulating", file=sys.stderr) as bar,
    ):
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            bar.update(done - state["done"])
            state["done"] = done

        report = simulate(
            store,
            days=days,
            seed=seed,
            config=_config(settings),
            per_day=per_day,
            progress=progress,
        )
    typer.echo(report.to_text())


def check_deadlines_command(database_url: DatabaseUrl = None) -> None:
    """Flag overdue issues, issue 督办 notices, escalate (run it from cron)."""
    from civgrid.grids.issues.service import check_deadlines

    with open_indexed(database_url) as (store, settings), store.session() as session:
        rep = check_deadlines(session, config=_config(settings))
    typer.echo(
        f"overdue {len(rep.overdue)}, notices {len(rep.notices)} "
        f"({', '.join(rep.notices) or '—'}), escalated {len(rep.escalated)}"
    )


def lists_command(
    out: Path | None = typer.Argument(None, help="Output .xlsx (default var/三个清单-DATE.xlsx)."),
    database_url: DatabaseUrl = None,
) -> None:
    """Write 问题清单, 责任清单 and 整改清单 as one workbook."""
    from civgrid.grids.issues import lists

    with open_indexed(database_url) as (store, settings), store.session() as session:
        cfg = _config(settings)
        day = cfg.calendar.local(cfg.now()).date().isoformat()
        target = out or settings.var_dir / f"三个清单-{day}.xlsx"
        tables = [lists.build_list(n, session, store, config=cfg) for n in lists.LIST_NAMES]
        lists.write_lists_xlsx(target, tables, county=settings.county_name)
    typer.echo(f"wrote {target}: " + ", ".join(f"{t.title} {len(t.rows)}" for t in tables))


@domain_errors
def reroute_command(
    since: str | None = typer.Option(
        None, help="Only issues reported on or after this day (YYYY-MM-DD)."
    ),
    commit: bool = typer.Option(False, "--commit", help="Write (default: dry run)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    database_url: DatabaseUrl = None,
) -> None:
    """Ask the owner rules again for every open issue; list (and with --commit apply,
    all or nothing) the owner changes. Closed issues keep their owner.
    """
    from datetime import date

    from civgrid.grids.issues.reroute import reroute_issues

    try:
        day = date.fromisoformat(since) if since else None
    except ValueError as exc:
        fail(ValueError(f"--since: not a date (YYYY-MM-DD): {since!r}"))
        raise AssertionError from exc  # fail() exits
    with open_indexed(database_url) as (store, settings), store.session() as session:
        report = reroute_issues(
            session, store, since=day, commit=commit, actor=cli_actor(), config=_config(settings)
        )
    typer.echo(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else report.to_text()
    )


issues_app.command("import")(import_issues)
issues_app.command("reroute")(reroute_command)
issues_app.command("simulate")(simulate_command)
issues_app.command("check-deadlines")(check_deadlines_command)
issues_app.command("lists")(lists_command)
sim_app.callback(invoke_without_command=True)(simulate_command)
