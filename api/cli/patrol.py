"""``civgrid patrol``: teams, monthly plans, daily routes, leader visits, GPS track coverage.

    civgrid patrol teams import FILE [--commit]      # dry run by default
    civgrid patrol teams list
    civgrid patrol plan --month 2026-12 [--commit] [--replace]
    civgrid patrol route --team ST01 --date 2026-12-02 [--gpx out.gpx] [--geojson out.geojson]
    civgrid patrol coverage --track day.gpx --team ST01 [--crs gcj02] [--commit]
    civgrid patrol coverage --month 2026-12 [--team ST01]
    civgrid patrol visit leader L10 --kind site_inspection --date 2026-12-08 [--area CODE]
    civgrid patrol visit outcome VISIT_ID --status done [--issue 12]

Errors (bad file, unknown team, existing plan) print one line and exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from civgrid.api.cli._common import DatabaseUrl, cli_actor, domain_errors
from civgrid.api.cli.issues import open_indexed

patrol_app = typer.Typer(
    help="Patrol (巡查): teams, plans, routes, visits, coverage.", no_args_is_help=True
)
teams_app = typer.Typer(help="Supervision teams (督查组).", no_args_is_help=True)
visit_app = typer.Typer(help="Visits: leaders' own visits, outcomes of planned visits.")
patrol_app.add_typer(teams_app, name="teams")
patrol_app.add_typer(visit_app, name="visit")


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str)


@teams_app.command("import")
@domain_errors
def teams_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV like teams.csv"),
    commit: bool = typer.Option(False, "--commit", help="Write (default: dry run)."),
    database_url: DatabaseUrl = None,
) -> None:
    """Import supervision teams (upsert by key); prints a report."""
    from civgrid.grids.patrol.teams import import_teams

    with open_indexed(database_url) as (store, _), store.session() as s:
        rep = import_teams(s, file, commit=commit, actor=cli_actor())
        typer.echo(rep.to_text())
        if rep.added:
            typer.echo("新增: " + ", ".join(rep.added))
        if rep.updated:
            typer.echo("更新: " + ", ".join(rep.updated))


@teams_app.command("list")
@domain_errors
def teams_list(database_url: DatabaseUrl = None) -> None:
    """List the teams (key, name, leader, areas, capacity)."""
    from civgrid.grids.patrol.teams import list_teams

    with open_indexed(database_url) as (store, _), store.session() as s:
        for t in list_teams(s):
            typer.echo(
                f"{t.key}\t{t.name}\t{t.leader_key or '-'}\t{';'.join(t.area_codes)}\t"
                f"{t.capacity_per_day}/天"
            )


def _has_plan(session: Any, month: str) -> bool:
    from civgrid.grids.core.errors import NotFoundError
    from civgrid.grids.patrol.plan import get_plan

    try:
        get_plan(session, month)
    except NotFoundError:
        return False
    return True


@patrol_app.command("plan")
@domain_errors
def plan(
    month: str = typer.Option(..., "--month", help="YYYY-MM"),
    commit: bool = typer.Option(False, "--commit", help="Store the plan (default: dry run)."),
    replace: bool = typer.Option(False, "--replace", help="Replace an unstarted plan."),
    if_missing: bool = typer.Option(
        False, "--if-missing", help="Do nothing when the month already has a plan."
    ),
    capacity: int | None = typer.Option(None, "--capacity", help="Visits/day for every team."),
    share: float | None = typer.Option(None, "--share", help="Community share per month."),
    scores: Path | None = typer.Option(
        None, "--scores", exists=True, help="JSON {code: last score} raising priority."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole plan as JSON."),
    database_url: DatabaseUrl = None,
) -> None:
    """Plan the month's inspection visits (explains each; never exceeds capacity)."""
    from civgrid.api.cli.scoring import score_registry
    from civgrid.grids.core.labels import PATROL_KIND_LABELS as KIND_LABELS
    from civgrid.grids.core.labels import SCORE_SOURCE_LABELS
    from civgrid.grids.patrol.plan import (
        PatrolSettings,
        parse_last_scores,
        plan_month,
        reasons_zh,
    )
    from civgrid.grids.scoring.feeds import LastMonthScores

    overrides: dict[str, Any] = {}
    if capacity is not None:
        overrides["capacity_per_day"] = capacity
    if share is not None:
        overrides["sample_share"] = share
    last = parse_last_scores(scores.read_bytes(), source=f"--scores {scores}") if scores else None
    with open_indexed(database_url) as (store, _), store.session() as s:
        if if_missing and _has_plan(s, month):
            typer.echo(f"{month} 已有巡查计划，未改动。")
            return
        r = plan_month(
            s,
            store,
            month,
            PatrolSettings.from_dict(overrides),
            last_scores=last,
            scores_feed=LastMonthScores(score_registry()),
            commit=commit,
            replace=replace,
            actor=cli_actor(),
        )
        if as_json:
            typer.echo(_dump(r.to_dict()))
            return
        sm = r.summary
        typer.echo(
            f"{month} 巡查计划: {sm['visits']} 次走访，{sm['working_days']} 个工作日；"
            f"抽查社区 {sm['communities_sampled']}/{sm['communities']}（{sm['sample_share']:.0%}）"
        )
        typer.echo(
            "按类型: " + ", ".join(f"{KIND_LABELS.get(k, k)} {v}" for k, v in sm["by_kind"].items())
        )
        typer.echo("按督查组: " + ", ".join(f"{k} {v}" for k, v in sm["by_team"].items()))
        ls = sm.get("last_scores", {})
        src = {
            **SCORE_SOURCE_LABELS,
            "bulletin": f"{ls.get('period')} {SCORE_SOURCE_LABELS['bulletin']} "
            f"{ls.get('number', '')}",
            "computed": f"{ls.get('period')} {SCORE_SOURCE_LABELS['computed']}",
        }
        note = f"（{ls['reason']}）" if ls.get("reason") else ""
        typer.echo(
            f"上期得分: {src.get(ls.get('source'), ls.get('source'))}；"
            f"低分 {len(ls.get('poor', []))} 个{note}"
        )
        for v in r.visits[:10]:
            typer.echo(
                f"  {v['day']} {v['team_key']} #{v['seq']} {KIND_LABELS.get(v['kind'], v['kind'])} "
                f"{v['target_code']}（优先级 {v['priority']:g}）："
                + "；".join(reasons_zh(v["reasons"]))
            )
        if len(r.visits) > 10:
            typer.echo(f"  … 另 {len(r.visits) - 10} 次（--json 查看全部）")
        for u in r.unscheduled:
            typer.echo(
                f"  未安排: {u['team_key']} {u['target_code']}：{reasons_zh(u['reasons'][-1:])[0]}"
            )
        typer.echo("已保存。" if commit else "试运行（未保存，加 --commit 保存）。")


@patrol_app.command("route")
@domain_errors
def route(
    team: str = typer.Option(..., "--team"),
    date: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
    gpx: Path | None = typer.Option(None, "--gpx", help="Write a GPX route for phones."),
    geojson: Path | None = typer.Option(None, "--geojson", help="Write GeoJSON (WGS84)."),
    database_url: DatabaseUrl = None,
) -> None:
    """A team's route for a day through its planned visits (metres)."""
    from civgrid.grids.core.labels import PATROL_KIND_LABELS as KIND_LABELS
    from civgrid.grids.patrol.routes import team_route

    with open_indexed(database_url) as (store, _), store.session() as s:
        r = team_route(s, store, team, date)
    typer.echo(f"{team} {r['day']}: {len(r['stops'])} 站，共 {r['total_m'] / 1000:.2f} km")
    for n, st in enumerate(r["stops"], 1):
        typer.echo(
            f"  {n}. {st['target_code']} {st['target_name']} "
            f"{KIND_LABELS.get(st['kind'], st['kind'])}（+{st['leg_m']:.0f} 米）"
        )
    if gpx:
        gpx.write_text(r["gpx"], encoding="utf-8")
        typer.echo(f"GPX: {gpx}")
    if geojson:
        geojson.write_text(_dump(r["geojson"]), encoding="utf-8")
        typer.echo(f"GeoJSON: {geojson}")


@patrol_app.command("coverage")
@domain_errors
def coverage(
    track: Path | None = typer.Option(None, "--track", exists=True, help="GPX or GeoJSON."),
    team: str | None = typer.Option(None, "--team"),
    crs: str = typer.Option("wgs84", "--crs", help="wgs84, cgcs2000, gcj02 or bd09"),
    tolerance: float = typer.Option(30.0, "--tolerance", help="Road tolerance in metres."),
    month: str | None = typer.Option(None, "--month", help="Report a month (without --track)."),
    day: str | None = typer.Option(
        None, "--day", help="YYYY-MM-DD: the day of a track without fix times."
    ),
    commit: bool = typer.Option(False, "--commit", help="Store the track."),
    database_url: DatabaseUrl = None,
) -> None:
    """Measure a track (with --track) or report a month's coverage and gaps (--month)."""
    from civgrid.grids.core.errors import InvalidInputError
    from civgrid.grids.core.labels import TRACK_DROP_LABELS
    from civgrid.grids.patrol.coverage import ingest_track, team_coverage

    with open_indexed(database_url) as (store, _), store.session() as s:
        if track is not None:
            if not team:
                raise InvalidInputError("--team is required with --track", field="team")
            out = ingest_track(
                s,
                store,
                cli_actor(),
                team,
                track.read_bytes(),
                crs=crs,
                filename=track.name,
                tolerance_m=tolerance,
                commit=commit,
                day=day,
            )
            if out.get("duplicate"):
                typer.echo(
                    f"轨迹 {track.name} 与已保存的轨迹 {out['id']}（{out.get('day') or ''}）"
                    "内容相同，未重复保存。"
                )
                return
            c = out["cleaning"]
            typer.echo(
                f"轨迹 {track.name}（{out['day']}）: {c['n_raw']} 点，"
                f"保留 {c['n_kept']}（零点 {c['zero_fixes']}，"
                f"重复 {c['duplicates']}，跳点 {c['jumps']}，县外 {c.get('outside_county', 0)}），"
                f"长 {out['length_m'] / 1000:.2f} km"
            )
            why = TRACK_DROP_LABELS
            for d in c.get("dropped", [])[:10]:
                typer.echo(
                    f"  剔除第 {d['point']} 点：{why.get(d['reason'], d['reason'])}"
                    f"（距参照点 {d['distance_m']:.0f} m）"
                )
            if c.get("relocations"):
                typer.echo(f"  位置整体迁移 {c['relocations']} 次（连续一致的定位，已保留）")
            cov = out["coverage"]
            typer.echo(
                "路段覆盖: "
                + ", ".join(f"{k} {v:.0%}" for k, v in sorted(cov["road_sections"].items()))
            )
            typer.echo(
                f"进入单元网格 {len(cov['unit_grids'])} 个，社区 {len(cov['communities'])} 个，"
                f"重点点位周边 {len(cov['key_site_zones'])} 个"
            )
            typer.echo("已保存。" if commit else "试运行（未保存，加 --commit 保存）。")
            return
        if not month:
            raise InvalidInputError("give --track FILE or --month YYYY-MM", field="month")
        rep = team_coverage(s, store, month, team_key=team)
        for tk, c in rep["teams"].items():
            rs, ug, pl = c["road_sections"], c["unit_grids"], c["plan"]
            typer.echo(
                f"{tk}: 轨迹 {c['tracks']}（全部 {c['tracks_all']}），"
                f"路段 {len(rs['covered'])}/{rs['total']}，"
                f"网格 {len(ug['entered'])}/{ug['total']}，"
                f"计划走访 {pl['visited']}/{pl['visits']}"
                f"（其他组轨迹确认 {pl['visited_by_others']}），"
                f"遗漏 {len(pl['gaps'])}（截至 {pl['today']}），待走访 {len(pl['planned'])}"
            )


@visit_app.command("leader")
@domain_errors
def visit_leader(
    leader: str = typer.Argument(..., help="Leader key, e.g. L10"),
    kind: str = typer.Option("site_inspection", "--kind", help="office_hours | site_inspection"),
    date: str | None = typer.Option(None, "--date", help="YYYY-MM-DD (omit to list)"),
    area: str | None = typer.Option(None, "--area", help="Area code visited"),
    note: str | None = typer.Option(None, "--note"),
    findings: str | None = typer.Option(None, "--findings"),
    month: str | None = typer.Option(None, "--month", help="List/cadence of a month"),
    database_url: DatabaseUrl = None,
) -> None:
    """Record a leader's visit (with --date), else list the visits and the cadence."""
    from civgrid.grids.patrol import leader_visits as lv

    with open_indexed(database_url) as (store, _), store.session() as s:
        if date:
            v = lv.record_leader_visit(
                s,
                cli_actor(),
                leader,
                kind=kind,
                day=date,
                area_code=area,
                note=note,
                findings=findings,
            )
            if getattr(v, "duplicate", False):
                typer.echo(
                    f"已有相同记录（编号 {v.id}），未重复保存: {leader} {v.day} "
                    f"{lv.LEADER_VISIT_KINDS[v.kind]}"
                )
            else:
                typer.echo(f"已记录: {leader} {v.day} {lv.LEADER_VISIT_KINDS[v.kind]}")
            return
        for v in lv.list_leader_visits(s, leader, month=month):
            typer.echo(f"{v.day} {lv.LEADER_VISIT_KINDS[v.kind]} {v.area_code or ''}")
        if month:
            c = lv.leader_cadence(s, leader, month)
            yes = {True: "是", False: "否"}
            typer.echo(f"{month} 履职情况：")
            typer.echo(
                f"  现场办公 {c['office_hours']} 次；上旬（1–10日）已现场办公："
                f"{yes[c['office_hours_first_ten_days']]}"
            )
            typer.echo(
                f"  实地察看 {c['site_inspections']} 次；每月至少两次："
                f"{yes[c['site_inspections_ok']]}"
            )


@visit_app.command("outcome")
@domain_errors
def visit_outcome(
    visit_id: int = typer.Argument(...),
    status: str = typer.Option(..., "--status", help="done | missed | planned"),
    issue: list[int] = typer.Option([], "--issue", help="Issue reported during the visit"),
    database_url: DatabaseUrl = None,
) -> None:
    """Mark a planned visit done/missed and link issues reported during it."""
    from civgrid.grids.patrol.routes import set_visit_outcome

    with open_indexed(database_url) as (store, _), store.session() as s:
        v = set_visit_outcome(s, visit_id, status, issue_ids=issue, actor=cli_actor())
        typer.echo(f"走访 {v.id}: {v.status}")
