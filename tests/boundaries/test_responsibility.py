"""A responsible party for every place: the gap report, its CLI, person titles on import.

Expectations come from the demo files (``assignments.csv``, the GeoJSON layers), not
from the gap-report code.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from civgrid.api.cli import app
from civgrid.grids.boundaries.assignments import import_assignments
from civgrid.grids.boundaries.export import responsibility_rows, write_responsibility_xlsx
from civgrid.grids.boundaries.models import Assignment
from civgrid.grids.boundaries.responsibility import responsibility_gaps

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "boundaries" / "demo"
DAY = date(2024, 1, 1)
runner = CliRunner()


def _features(name: str) -> list[dict]:
    data = json.loads((DEMO_DIR / f"{name}.geojson").read_text(encoding="utf-8"))
    return [f["properties"] for f in data["features"]]


def _csv_rows() -> list[dict]:
    with (DEMO_DIR / "assignments.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _url(store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _check(store, *args: str):
    return runner.invoke(
        app, ["check", "responsibility", "--at", DAY.isoformat(), *args, "--db", _url(store)]
    )


def test_demo_files_give_every_place_a_unit_and_a_person_title():
    """The data itself: every unit grid, road section and key site has a unit row with a title."""
    held = {
        (r["object_layer"], r["object_code"])
        for r in _csv_rows()
        if r["subject_kind"] == "unit" and r["person_title"]
    }
    places = [("unit_grid", p["code"]) for p in _features("unit_grids")]
    places += [("road_section", p["code"]) for p in _features("road_sections")]
    places += [("key_site", p["code"]) for p in _features("key_sites")]
    assert len(places) == 140 + 85 + 55  # the countryside: 13 through roads, 13 seats
    assert [p for p in places if p not in held] == []
    kinds = {p["code"]: p["kind"] for p in _features("unit_grids")}
    titles = {
        kinds[r["object_code"]]: r["person_title"]
        for r in _csv_rows()
        if r["object_layer"] == "unit_grid"
    }
    assert titles == {
        "compound": "物业经理",
        "building_yard": "网格长",
        "back_street": "网格长",
        "institution_yard": "院落负责人",
        "intersection": "路长",
    }
    leader_chiefs = {
        r["subject_key"]
        for r in _csv_rows()
        if r["subject_kind"] == "leader" and r["role"] == "road_chief"
    }
    assert len(leader_chiefs) == 6


def test_demo_county_has_no_gaps(demo_store):
    report = responsibility_gaps(demo_store, at=DAY)
    assert report.ok and report.gaps == [] and report.by_township == []
    assert report.places == {"unit_grid": 140, "road_section": 85, "key_site": 55}
    r = _check(demo_store)
    assert r.exit_code == 0, r.output
    assert "0 gap(s)" in r.output and "Result: OK" in r.output


def test_removing_one_assignment_reports_exactly_that_place(demo_store, tmp_path):
    grid = next(p for p in _features("unit_grids") if p["kind"] == "building_yard")
    community = next(p for p in _features("communities") if p["code"] == grid["parent_code"])
    with demo_store.session() as s:
        n = s.execute(
            delete(Assignment).where(
                Assignment.object_layer == "unit_grid", Assignment.object_code == grid["code"]
            )
        ).rowcount
        assert n == 1
    report = responsibility_gaps(demo_store, at=DAY)
    assert [(g.layer, g.code, g.kind) for g in report.gaps] == [
        ("unit_grid", grid["code"], "no_unit")
    ]
    gap = report.gaps[0]
    assert (gap.name, gap.community_code, gap.township_code) == (
        grid["name"],
        community["code"],
        community["parent_code"],
    )
    assert [(c.code, c.gaps, c.no_unit) for c in report.by_community] == [(community["code"], 1, 1)]
    assert [(c.code, c.gaps) for c in report.by_township] == [(community["parent_code"], 1)]

    r = _check(demo_store)
    assert r.exit_code == 3, r.output
    assert grid["code"] in r.output and grid["name"] in r.output and "1 gap(s)" in r.output
    r = _check(demo_store, "--format", "json")
    assert r.exit_code == 3
    data = json.loads(r.output)
    assert [g["code"] for g in data["gaps"]] == [grid["code"]]
    assert data["by_community"][0]["code"] == community["code"]

    # the 责任清单 workbook shows the same gap
    path = write_responsibility_xlsx(demo_store, tmp_path / "责任清单.xlsx", at=DAY)
    rows = list(load_workbook(path)["责任空白"].iter_rows(min_row=2, values_only=True))
    assert [(r[3], r[4]) for r in rows] == [(grid["code"], grid["name"])]


def test_an_ended_road_assignment_and_a_missing_title_are_gaps(demo_store):
    section = _features("road_sections")[4]
    site = _features("key_sites")[0]
    with demo_store.session() as s:
        s.execute(
            update(Assignment)
            .where(
                Assignment.object_layer == "road_section",
                Assignment.object_code == section["code"],
                Assignment.subject_kind == "unit",
            )
            .values(valid_to=DAY)  # ended: no longer in force on DAY
        )
        s.execute(
            update(Assignment)
            .where(Assignment.object_layer == "key_site", Assignment.object_code == site["code"])
            .values(person_title=None)
        )
    report = responsibility_gaps(demo_store, at=DAY)
    got = {(g.code, g.kind, g.community_code, g.township_code) for g in report.gaps}
    assert got == {
        (section["code"], "no_unit", section["community_code"], section["township_code"]),
        (site["code"], "no_person", site["community_code"], site["township_code"]),
    }
    # the day before, the road assignment still held
    before = responsibility_gaps(demo_store, at=date(2023, 12, 31))
    assert [g.code for g in before.gaps] == [site["code"]]


def test_import_accepts_and_exports_person_title(demo_store, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "subject,role,object,valid_from,person_title\n"
        "县城管局,责任,RS001,2023-06-01,路段责任人\n"
        "L01,路长,RS001,2023-06-01,路长\n",
        encoding="utf-8",
    )
    report = import_assignments(demo_store, path, commit=True)
    assert report.ok and report.new == 2, report.to_text()
    rows = [r for r in responsibility_rows(demo_store, at=DAY) if r.valid_from == date(2023, 6, 1)]
    assert sorted((r.subject_label, r.person_title) for r in rows) == [
        ("县城管局", "路段责任人"),
        ("县委副书记", "路长"),
    ]
    xlsx = write_responsibility_xlsx(demo_store, tmp_path / "l.xlsx", at=DAY)
    main = list(load_workbook(xlsx)["责任清单"].iter_rows(values_only=True))
    col = main[0].index("责任人（职务）")
    assert {r[col] for r in main[1:] if r[1] == "RS001"} >= {"路长", "路段责任人"}
    # a changed title is an update
    path.write_text(
        "subject,role,object,valid_from,person_title\n县城管局,责任,RS001,2023-06-01,路段长\n",
        encoding="utf-8",
    )
    again = import_assignments(demo_store, path, commit=True)
    assert (again.new, again.updated) == (0, 1), again.to_text()


def test_bad_person_titles_are_refused_with_their_rows(demo_store, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "subject,role,object,person_title\n"
        "县城管局,责任,RS001,路段责任人\n"  # row 2: fine
        "县城管局,责任,RS002,138-0000-0000\n"  # row 3: a phone number
        "县城管局,责任,RS003,张三\n"  # row 4: a personal name
        "县城管局,责任,RS004,物业经理王建国\n"  # row 5: a title with a name
        "县城管局,责任,RS005," + "长" * 30 + "\n",  # row 6: too long
        encoding="utf-8",
    )
    with demo_store.session() as s:
        before = s.scalar(select(Assignment.id).order_by(Assignment.id.desc()).limit(1))
    report = import_assignments(demo_store, path, commit=True)
    assert not report.ok and not report.committed
    problems = [(p.row, p.column) for p in report.problems]
    assert problems == [(row, "person_title") for row in (3, 4, 5, 6)]
    text = report.to_text()
    assert "phone" in text and "0000" not in text  # the number is not echoed
    assert "personal name" in text and "longer than" in text and "REJECTED" in text
    with demo_store.session() as s:
        after = s.scalar(select(Assignment.id).order_by(Assignment.id.desc()).limit(1))
    assert after == before
