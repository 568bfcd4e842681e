"""``civgrid documents``: issue the documents due (交办单, 整改回执, 督办通知单, 约谈通知书,
问责建议书, 月通报) for what happened lately. A dry run unless ``--commit``; running it
again issues nothing twice (docs/documents.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from civgrid.api.cli._common import DatabaseUrl, cli_actor, domain_errors, open_store

documents_app = typer.Typer(help="Official documents (.docx and PDF).", no_args_is_help=True)


@documents_app.command("due")
@domain_errors
def due(
    database_url: DatabaseUrl = None,
    since_hours: float = typer.Option(48.0, min=0.0, help="Look back this many hours."),
    link_base: str = typer.Option("", help="Base URL printed before /issues/<id>."),
    commit: bool = typer.Option(False, help="Store them (default: dry run, nothing kept)."),
) -> None:
    """Print and store every document due for the events of the last ``--since-hours``."""
    from civgrid.api.settings import Settings
    from civgrid.grids.issues.config import IssueConfig, IssueSettings
    from civgrid.maps.doc_issue import issue_due
    from civgrid.maps.pdf import ChromiumPrinter

    cfg = IssueConfig.from_settings(IssueSettings(), var_dir=Settings().var_dir)
    since = datetime.now(UTC) - timedelta(hours=since_hours)
    with open_store(database_url) as store, store.session() as s:
        report = issue_due(s, cfg, ChromiumPrinter(), cli_actor(), since=since, link_base=link_base)
        typer.echo(report.to_text())
        if not commit:
            s.rollback()
            typer.echo("dry run: nothing stored (add --commit)")
