"""``civgrid score`` and ``civgrid report``: scores, rankings, bulletins, accountability.

* ``civgrid score rules check FILE`` / ``rules load FILE`` / ``rules list`` — validate,
  install (into ``<var_dir>/profiles``; past versions cannot be rewritten) and list
  rule profiles (with the installed files that were skipped as malformed);
* ``civgrid score compute --period 2026-12 --level community`` — the ranking table;
* ``civgrid score cases evaluate|list|act`` — accountability cases;
* ``civgrid score subjects civilized_units|key_task_units|other_task_units --period 2026Q4`` — the
  rankings of the assessed subjects (civilized units and key-task departments
  quarterly, other-task units half-yearly);
* ``civgrid score work set --unit CU01 --period 2026Q4 --points 1.5 --note …`` and
  ``civgrid score adjust add --period 2026 --level township --code … --kind media …`` —
  record 联建 work and adjustments (audited); ``work list`` / ``adjust list`` show them;
* ``civgrid report monthly --month 2026-12 [--out DIR] [--publish]``,
  ``civgrid report quarterly --quarter 2026Q4``, ``civgrid report half-yearly --half
  2026H2`` and ``civgrid report annual --year 2026`` — the bulletin as xlsx and HTML.

``--as-of`` (a date or an ISO time) computes as of another moment than now: a
period still running is scored up to it. Publishing and evaluating cases check the
real clock (:func:`real_now`): a period must have ended by then, ``--as-of`` may not
be later than it, and the bulletin's ``issued_at`` is the real time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, cli_actor, fail, open_store

score_app = typer.Typer(help="Scoring (考核): rule profiles, scores, cases.", no_args_is_help=True)
report_app = typer.Typer(
    help="Bulletins (通报): monthly, quarterly, half-yearly, annual.", no_args_is_help=True
)
rules_app = typer.Typer(help="Rule profiles (考核规则).", no_args_is_help=True)
cases_app = typer.Typer(help="Accountability cases (问责).", no_args_is_help=True)
score_app.add_typer(rules_app, name="rules")
score_app.add_typer(cases_app, name="cases")
work_app = typer.Typer(help="联建 work of civilized (pairing) units.", no_args_is_help=True)
adjust_app = typer.Typer(help="Adjustments of results (年总评 加减分).", no_args_is_help=True)
score_app.add_typer(work_app, name="work")
score_app.add_typer(adjust_app, name="adjust")

ProfileOption = typer.Option(None, "--profile", help="Rule profile (default: sheqi).")
AsOfOption = typer.Option(
    None,
    "--as-of",
    help="Compute as of this moment: YYYY-MM-DD (the end of that day, county time) or an "
    "ISO time (default: now).",
)


def parse_as_of(text: str | None) -> Any:
    """``--as-of``: None → None; a date → the end of that day in the county's zone; else ISO time.

    Examples
    --------
    >>> parse_as_of("2027-01-05").isoformat()
    '2027-01-05T16:00:00+00:00'
    >>> parse_as_of("2026-12-06T10:00:00+08:00").isoformat()
    '2026-12-06T02:00:00+00:00'
    """
    from datetime import UTC, date, datetime, time, timedelta

    from civgrid.grids.core.calendar import local_zone
    from civgrid.grids.core.errors import InvalidInputError

    if not text:
        return None
    tz = local_zone()
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip()) + timedelta(days=1)
            return datetime.combine(day, time(), tz).astimezone(UTC)
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(f"--as-of {text!r}: {exc}", field="as_of") from exc
    return (at if at.tzinfo else at.replace(tzinfo=tz)).astimezone(UTC)


def real_now() -> Any:
    """The real time (aware UTC): publishing and opening cases use it, never ``--as-of``."""
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _local_dir() -> Path:
    from civgrid.api.settings import Settings

    return Path(Settings().var_dir) / "profiles"


def score_registry() -> Any:
    from civgrid.grids.scoring.rules import RuleRegistry

    return RuleRegistry.with_shipped(_local_dir())


@contextmanager
def _ctx(
    url: str | None, profile: str | None, sampling: str | None = None, now: Any = None
) -> Iterator[Any]:
    """A ScoringContext on the checked store (``_common.open_store``), committed at the end."""
    from civgrid.grids.scoring.service import ScoringContext

    with open_store(url) as store, store.session() as session:
        reg = score_registry()
        reg.profile(profile)
        from civgrid.api.cli.points import standards_registry

        yield ScoringContext(
            store,
            session,
            reg,
            profile,
            sampling=sampling,
            now=now,
            standards=standards_registry(),
        )


# --------------------------------------------------------------------------- rules


@rules_app.command("check")
def rules_check(file: Path = typer.Argument(..., help="A profile YAML file.")) -> None:
    """Validate a rules file; print file:line: reason when malformed (exit 1)."""
    from civgrid.grids.scoring.rules import RulesError, load_profile_file

    try:
        prof = load_profile_file(file)
    except RulesError as exc:
        fail(exc)
    versions = ", ".join(v.effective_from.isoformat() for v in prof.versions)
    typer.echo(f"ok: {prof.profile} ({prof.name}); versions {versions}")


@rules_app.command("load")
def rules_load(
    file: Path = typer.Argument(..., help="A profile YAML file."),
    database_url: DatabaseUrl = None,
) -> None:
    """Validate and install a profile (replaces the active one of that name; audited).

    A malformed file is refused and the rules in force stay; so is a file that
    changes or drops a version in force on or before today (or a published
    bulletin's period), or adds one dated on or before then. Category codes are
    checked against the database's categories too.
    """
    from sqlalchemy import select

    from civgrid.grids.boundaries.models import Category
    from civgrid.grids.scoring.bulletins import published_through
    from civgrid.grids.scoring.rules import RulesError, known_categories

    reg = score_registry()
    with _ctx(database_url, None) as ctx:
        session = ctx.session
        try:
            prof = reg.install(
                file,
                _local_dir(),
                not_before=lambda name: published_through(session, name),
                categories=known_categories() | set(session.scalars(select(Category.code))),
                session=session,
                actor=cli_actor(),
            )
        except RulesError as exc:
            fail(exc)
    typer.echo(
        f"loaded: {prof.profile}; versions "
        + ", ".join(v.effective_from.isoformat() for v in prof.versions)
    )


@rules_app.command("list")
def rules_list() -> None:
    """The active profiles and their versions; installed files skipped as malformed."""
    reg = score_registry()
    for name in reg.names():
        p = reg.profile(name)
        vs = ", ".join(v.effective_from.isoformat() for v in p.versions)
        typer.echo(f"{name}\t{p.name}\t{vs}\t{reg.origin(name)}")
    for exc in reg.problems:
        typer.echo(f"skipped (malformed, not in force): {exc}")


# --------------------------------------------------------------------------- scores


@score_app.command("compute")
def compute(
    period: str = typer.Option(..., "--period", help="YYYY-MM, YYYYQn, YYYYHn, YYYY or YYYY-Www."),
    level: str = typer.Option("community", "--level", help="community, township, department…"),
    profile: str | None = ProfileOption,
    as_json: bool = typer.Option(False, "--json", help="JSON with line items."),
    sample: str | None = typer.Option(
        None,
        "--sample",
        help="all, patrol, issues (inspected) or visited (both); default: profile.",
    ),
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Scores of all units at a level for a period, ranked."""
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.score import TIER_LABELS, Period

    try:
        p = Period.parse(period)
        with _ctx(database_url, profile, sample, parse_as_of(as_of)) as ctx:
            scores = ctx.scores(p, level)
            if as_json:
                typer.echo(json.dumps([s.to_dict() for s in scores], ensure_ascii=False, indent=1))
                return
            typer.echo(f"{p.label} {level}  (rules {ctx.rules(p).effective_from})")
            for s in scores:
                if not s.sampled:
                    typer.echo(f"  - {'未抽查':>5} - {s.code} {s.name}")
                    continue
                tier = TIER_LABELS.get(s.tier or "", "-")
                typer.echo(
                    f"{s.rank or '-':>3} {s.points:7.2f} {tier} {s.code} {s.name} "
                    f"({s.issues} issues)"
                )
    except DomainError as exc:
        fail(exc)


@score_app.command("subjects")
def subjects(
    subject: str = typer.Argument(..., help="civilized_units, key_task_units or other_task_units"),
    period: str = typer.Option(..., "--period", help="YYYYQn, YYYYHn or YYYY."),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The ranking of civilized units, key-task departments or other-task units."""
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.score import TIER_LABELS, Period

    try:
        p = Period.parse(period)
        with _ctx(database_url, profile, now=parse_as_of(as_of)) as ctx:
            got = ctx.subject_scores(p, subject)
            typer.echo(f"{p.label} {got['label']}  {got['citation']}")
            for s in got["scores"]:
                if not s.sampled:
                    typer.echo(f"  - {'未抽查':>5} - {s.code} {s.name}")
                    continue
                tier = TIER_LABELS.get(s.tier or "", "-")
                typer.echo(f"{s.rank or '-':>3} {s.points:7.2f} {tier} {s.code} {s.name}")
            for name in got["missing"]:
                typer.echo(f"  (not in the county's units: {name})")
    except DomainError as exc:
        fail(exc)


@work_app.command("set")
def work_set(
    unit: str = typer.Option(..., "--unit", help="The civilized unit's key."),
    period: str = typer.Option(..., "--period", help="YYYYQn"),
    points: float = typer.Option(..., "--points", help="Positive or negative."),
    note: str = typer.Option(..., "--note", help="What the 联建 work was."),
    database_url: DatabaseUrl = None,
) -> None:
    """Record (or replace) a civilized unit's 联建 work points in a quarter (audited)."""
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.score import Period
    from civgrid.grids.scoring.subjects import record_pairing_work

    try:
        with _ctx(database_url, None) as ctx:
            w = record_pairing_work(
                ctx.session, cli_actor(), unit, Period.parse(period), points, note, now=real_now()
            )
            typer.echo(f"recorded: {w.unit_key} {w.period} {w.points:+g} ({w.note})")
    except DomainError as exc:
        fail(exc)


@work_app.command("list")
def work_list(
    period: str | None = typer.Option(None, "--period"),
    database_url: DatabaseUrl = None,
) -> None:
    """Recorded 联建 work, by period and unit."""
    from civgrid.grids.scoring.subjects import list_pairing_work

    with _ctx(database_url, None) as ctx:
        for w in list_pairing_work(ctx.session, period):
            typer.echo(f"{w.period}\t{w.unit_key}\t{w.points:+g}\t{w.note}")


@adjust_app.command("add")
def adjust_add(
    period: str = typer.Option(..., "--period", help="YYYY (年总评), YYYYHn or YYYYQn"),
    level: str = typer.Option(..., "--level", help="community, township, department…"),
    code: str = typer.Option(..., "--code", help="The unit's code or key."),
    kind: str = typer.Option(
        ..., "--kind", help="provincial_feedback, city_feedback, leader_instruction, …"
    ),
    points: float = typer.Option(..., "--points"),
    reason: str = typer.Option(..., "--reason"),
    source: str = typer.Option(..., "--source", help="The document it comes from."),
    database_url: DatabaseUrl = None,
) -> None:
    """Record an adjustment of one unit's result (audited)."""
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.score import Period
    from civgrid.grids.scoring.subjects import record_adjustment

    try:
        with _ctx(database_url, None) as ctx:
            a = record_adjustment(
                ctx.session,
                cli_actor(),
                Period.parse(period),
                level,
                code,
                kind,
                points,
                reason,
                source,
                store=ctx.store,
                now=real_now(),
            )
            typer.echo(f"recorded #{a.id}: {a.period} {a.level} {a.code} {a.kind} {a.points:+g}")
    except DomainError as exc:
        fail(exc)


@adjust_app.command("list")
def adjust_list(
    period: str | None = typer.Option(None, "--period"),
    database_url: DatabaseUrl = None,
) -> None:
    """Recorded adjustments."""
    from civgrid.grids.scoring.subjects import list_adjustments

    with _ctx(database_url, None) as ctx:
        for a in list_adjustments(ctx.session, period):
            typer.echo(
                f"#{a.id}\t{a.period}\t{a.level}\t{a.code}\t{a.kind}\t{a.points:+g}\t{a.reason}"
            )


# --------------------------------------------------------------------------- cases


@cases_app.command("evaluate")
def cases_evaluate(
    period: str = typer.Option(..., "--period"),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """Evaluate the triggers of a period and open cases (idempotent)."""
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.score import Period
    from civgrid.grids.scoring.service import open_cases

    try:
        with _ctx(database_url, profile, now=parse_as_of(as_of)) as ctx:
            opened, existing = open_cases(ctx, Period.parse(period), cli_actor(), real_now())
            for c in opened:
                typer.echo(f"opened #{c.id} {c.unit_name} {c.rule_label}")
            typer.echo(f"{len(opened)} opened, {len(existing)} already open")
    except DomainError as exc:
        fail(exc)


@cases_app.command("list")
def cases_list(
    status: str | None = typer.Option(None, "--status", help="open or closed"),
    database_url: DatabaseUrl = None,
) -> None:
    """Accountability cases, newest first."""
    from civgrid.grids.scoring.service import list_cases

    with _ctx(database_url, None) as ctx:
        for c in list_cases(ctx.session, status=status):
            typer.echo(f"#{c.id}\t{c.status}\t{c.period}\t{c.unit_name}\t{c.rule_label}")


@cases_app.command("act")
def cases_act(
    case_id: int = typer.Argument(...),
    action: str = typer.Argument(..., help="interview, public_criticism, referral, note, close"),
    note: str | None = typer.Option(None, "--note"),
    who: str = typer.Option("创文办", "--who", help="Who acts (a title, not a name)."),
    database_url: DatabaseUrl = None,
) -> None:
    """Record an action on a case, or close it with a note."""
    from civgrid.grids.core.actors import Actor
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.service import act_on_case

    try:
        with _ctx(database_url, None) as ctx:
            c = act_on_case(ctx.session, Actor(who, "command_center", None), case_id, action, note)
            typer.echo(f"#{c.id} {c.status}: {action}")
    except DomainError as exc:
        fail(exc)


# --------------------------------------------------------------------------- reports


def _report(
    period: str,
    out: Path | None,
    publish: bool,
    profile: str | None,
    database_url: str | None,
    as_of: str | None = None,
    if_missing: bool = False,
) -> None:
    from civgrid.api.settings import Settings
    from civgrid.grids.core.errors import DomainError
    from civgrid.grids.scoring.bulletins import (
        KIND_OF_PERIOD,
        build_bulletin,
        bulletin_xlsx,
        find_bulletin,
        publish_bulletin,
    )
    from civgrid.grids.scoring.score import Period
    from civgrid.maps.scoring_pages import bulletin_html

    out = out or Path(Settings().var_dir) / "bulletins"
    try:
        p = Period.parse(period)
        with _ctx(database_url, profile, now=parse_as_of(as_of)) as ctx:
            kind = KIND_OF_PERIOD.get(p.kind)
            issued = find_bulletin(ctx.session, kind, p.key) if publish and kind else None
            if issued is not None and if_missing:  # as issued, never rebuilt
                typer.echo(f"{p.key} 已发布为 {issued.number}，未改动。")
                content, data = issued.content, issued.xlsx
            elif publish:
                b = publish_bulletin(ctx, p, cli_actor(), real_now())
                content, data = b.content, b.xlsx
            else:
                content = build_bulletin(ctx, p)
                data = bulletin_xlsx(content)
    except DomainError as exc:
        fail(exc)
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
    if_missing: bool = typer.Option(
        False, "--if-missing", help="With --publish: an issued bulletin is written out as issued."
    ),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The monthly bulletin (月通报) as xlsx and printable HTML (published after the month)."""
    _report(month, out, publish, profile, database_url, as_of, if_missing)


@report_app.command("quarterly")
def report_quarterly(
    quarter: str = typer.Option(..., "--quarter", help="YYYYQn"),
    out: Path | None = typer.Option(None, "--out", help="Output directory."),
    publish: bool = typer.Option(False, "--publish", help="Number and freeze it."),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The quarterly assessment (季度考评) with tiers 好/中/差 (published after the quarter)."""
    _report(quarter, out, publish, profile, database_url, as_of)


@report_app.command("half-yearly")
def report_half_yearly(
    half: str = typer.Option(..., "--half", help="YYYYHn"),
    out: Path | None = typer.Option(None, "--out", help="Output directory."),
    publish: bool = typer.Option(False, "--publish", help="Number and freeze it."),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The half-year assessment (半年考评: other-task units; published after the half)."""
    _report(half, out, publish, profile, database_url, as_of)


@report_app.command("annual")
def report_annual(
    year: str = typer.Option(..., "--year", help="YYYY"),
    out: Path | None = typer.Option(None, "--out", help="Output directory."),
    publish: bool = typer.Option(False, "--publish", help="Number and freeze it."),
    profile: str | None = ProfileOption,
    as_of: str | None = AsOfOption,
    database_url: DatabaseUrl = None,
) -> None:
    """The annual result (年度总评: the four quarters plus the recorded adjustments)."""
    _report(year, out, publish, profile, database_url, as_of)
