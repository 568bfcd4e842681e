"""``civgrid score`` and ``civgrid report``: scores, rankings, bulletins, accountability.

* ``civgrid score rules check FILE`` / ``rules load FILE`` / ``rules list`` — validate,
  install (into ``<var_dir>/profiles``) and list rule profiles;
* ``civgrid score compute --period 2026-12 --level community`` — the ranking table;
* ``civgrid score cases evaluate|list|act`` — accountability cases;
* ``civgrid report monthly --month 2026-12 [--out DIR] [--publish]`` and
  ``civgrid report quarterly --quarter 2026Q4`` — the bulletin as xlsx and HTML.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

score_app = typer.Typer(help="Scoring (考核): rule profiles, scores, cases.", no_args_is_help=True)
report_app = typer.Typer(help="Bulletins (通报): monthly, quarterly.", no_args_is_help=True)
rules_app = typer.Typer(help="Rule profiles (考核规则).", no_args_is_help=True)
cases_app = typer.Typer(help="Accountability cases (问责).", no_args_is_help=True)
score_app.add_typer(rules_app, name="rules")
score_app.add_typer(cases_app, name="cases")

DatabaseOption = typer.Option(
    None,
    "--database-url",
    envvar="CIVGRID_DATABASE_URL",
    help="SQLAlchemy URL (default: settings).",
)
ProfileOption = typer.Option(None, "--profile", help="Rule profile (default: sheqi).")


def _local_dir() -> Path:
    from civgrid.api.settings import Settings

    return Path(Settings().var_dir) / "profiles"


def _registry() -> Any:
    from civgrid.grids.scoring_rules import RuleRegistry

    return RuleRegistry.with_shipped(_local_dir())


@contextmanager
def _ctx(url: str | None, profile: str | None, sampling: str = "all") -> Iterator[Any]:
    """A ScoringContext on the configured database, committed at the end."""
    from civgrid.api.settings import Settings
    from civgrid.grids.db import make_engine
    from civgrid.grids.score_service import ScoringContext
    from civgrid.grids.store import Store

    engine = make_engine(url or Settings().database_url)
    try:
        store = Store(engine)
        if store.backend == "sqlite":
            store.upgrade()
        with store.session() as session:
            reg = _registry()
            reg.profile(profile)
            yield ScoringContext(store, session, reg, profile, sampling=sampling)
    finally:
        engine.dispose()


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)


# --------------------------------------------------------------------------- rules


@rules_app.command("check")
def rules_check(file: Path = typer.Argument(..., help="A profile YAML file.")) -> None:
    """Validate a rules file; print file:line: reason when malformed (exit 1)."""
    from civgrid.grids.scoring_rules import RulesError, load_profile_file

    try:
        prof = load_profile_file(file)
    except RulesError as exc:
        _fail(exc)
        return
    versions = ", ".join(v.effective_from.isoformat() for v in prof.versions)
    typer.echo(f"ok: {prof.profile} ({prof.name}); versions {versions}")


@rules_app.command("load")
def rules_load(file: Path = typer.Argument(..., help="A profile YAML file.")) -> None:
    """Validate and install a profile (replaces the active one of that name).

    A malformed file is refused and the rules in force stay.
    """
    from civgrid.grids.scoring_rules import RulesError

    reg = _registry()
    try:
        prof = reg.install(file, _local_dir())
    except RulesError as exc:
        _fail(exc)
        return
    typer.echo(f"loaded: {prof.profile}; versions "
               + ", ".join(v.effective_from.isoformat() for v in prof.versions))  # fmt: skip


@rules_app.command("list")
def rules_list() -> None:
    """The active profiles and their versions."""
    reg = _registry()
    for name in reg.names():
        p = reg.profile(name)
        vs = ", ".join(v.effective_from.isoformat() for v in p.versions)
        typer.echo(f"{name}\t{p.name}\t{vs}\t{reg.origin(name)}")


# --------------------------------------------------------------------------- scores


@score_app.command("compute")
def compute(
    period: str = typer.Option(..., "--period", help="YYYY-MM, YYYYQn, YYYY or YYYY-Www."),
    level: str = typer.Option("community", "--level", help="community, township, department…"),
    profile: str | None = ProfileOption,
    as_json: bool = typer.Option(False, "--json", help="JSON with line items."),
    sample: str = typer.Option("all", "--sample", help="all, or inspected (抽查) communities."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Scores of all units at a level for a period, ranked."""
    from civgrid.grids.errors import DomainError
    from civgrid.grids.scoring import TIER_LABELS, Period

    try:
        p = Period.parse(period)
        with _ctx(database_url, profile, sample) as ctx:
            scores = ctx.scores(p, level)
            if as_json:
                typer.echo(json.dumps([s.to_dict() for s in scores], ensure_ascii=False, indent=1))
                return
            typer.echo(f"{p.label} {level}  (rules {ctx.rules(p).effective_from})")
            for s in scores:
                tier = TIER_LABELS.get(s.tier or "", "-")
                typer.echo(f"{s.rank or '-':>3} {s.points:7.2f} {tier} {s.code} {s.name} "
                           f"({s.issues} issues)")  # fmt: skip
    except DomainError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- cases


@cases_app.command("evaluate")
def cases_evaluate(
    period: str = typer.Option(..., "--period"),
    profile: str | None = ProfileOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Evaluate the triggers of a period and open cases (idempotent)."""
    from civgrid.grids.issue_config import SYSTEM_ACTOR
    from civgrid.grids.score_service import open_cases
    from civgrid.grids.scoring import Period

    with _ctx(database_url, profile) as ctx:
        opened, existing = open_cases(ctx, Period.parse(period), SYSTEM_ACTOR)
        for c in opened:
            typer.echo(f"opened #{c.id} {c.unit_name} {c.rule_label}")
        typer.echo(f"{len(opened)} opened, {len(existing)} already open")


@cases_app.command("list")
def cases_list(
    status: str | None = typer.Option(None, "--status", help="open or closed"),
    database_url: str | None = DatabaseOption,
) -> None:
    """Accountability cases, newest first."""
    from civgrid.grids.score_service import list_cases

    with _ctx(database_url, None) as ctx:
        for c in list_cases(ctx.session, status=status):
            typer.echo(f"#{c.id}\t{c.status}\t{c.period}\t{c.unit_name}\t{c.rule_label}")


@cases_app.command("act")
def cases_act(
    case_id: int = typer.Argument(...),
    action: str = typer.Argument(..., help="interview, public_criticism, referral, note, close"),
    note: str | None = typer.Option(None, "--note"),
    who: str = typer.Option("创文办", "--who", help="Who acts (a title, not a name)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Record an action on a case, or close it with a note."""
    from civgrid.grids.errors import DomainError
    from civgrid.grids.issue_config import Actor
    from civgrid.grids.score_service import act_on_case

    try:
        with _ctx(database_url, None) as ctx:
            c = act_on_case(ctx.session, Actor(who, "command_center", None), case_id, action, note)
            typer.echo(f"#{c.id} {c.status}: {action}")
    except DomainError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- reports


def _report(period: str, out: Path | None, publish: bool, profile: str | None,
            database_url: str | None) -> None:  # fmt: skip
    from civgrid.api.settings import Settings
    from civgrid.grids.bulletins import build_bulletin, bulletin_xlsx, publish_bulletin
    from civgrid.grids.errors import DomainError
    from civgrid.grids.issue_config import SYSTEM_ACTOR
    from civgrid.grids.scoring import Period
    from civgrid.maps.scoring_pages import bulletin_html

    out = out or Path(Settings().var_dir) / "bulletins"
    try:
        p = Period.parse(period)
        with _ctx(database_url, profile) as ctx:
            if publish:
                b = publish_bulletin(ctx, p, SYSTEM_ACTOR)
                content, data = b.content, b.xlsx
            else:
                content = build_bulletin(ctx, p)
                data = bulletin_xlsx(content)
    except DomainError as exc:
        _fail(exc)
        return
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{content['kind']}-{content['period']}"
    (out / f"{stem}.xlsx").write_bytes(data)
    (out / f"{stem}.html").write_text(bulletin_html(content, draft=not publish), encoding="utf-8")
    typer.echo(f"{content['title']} {content.get('number') or '(草稿)'}")
    typer.echo(f"wrote {out / (stem + '.xlsx')} and {out / (stem + '.html')}")


@report_app.command("monthly")
def report_monthly(
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    out: Path | None = typer.Option(None, "--out", help="Output directory."),
    publish: bool = typer.Option(False, "--publish", help="Number and freeze it."),
    profile: str | None = ProfileOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """The monthly bulletin (月通报) as xlsx and printable HTML."""
    _report(month, out, publish, profile, database_url)


@report_app.command("quarterly")
def report_quarterly(
    quarter: str = typer.Option(..., "--quarter", help="YYYYQn"),
    out: Path | None = typer.Option(None, "--out", help="Output directory."),
    publish: bool = typer.Option(False, "--publish", help="Number and freeze it."),
    profile: str | None = ProfileOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """The quarterly assessment (季度考评) with tiers 好/中/差."""
    _report(quarter, out, publish, profile, database_url)
