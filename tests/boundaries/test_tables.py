"""Imports of units, leaders and assignments: name matching, reports, rotation."""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook
from sqlalchemy import select

from civgrid.grids.boundaries.assignments import import_assignments, import_leaders, import_units
from civgrid.grids.boundaries.models import Assignment, Leader, Role


def _csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_published_leader_table_with_names_and_a_default_role(demo_store, tmp_path):
    """Annex-2 style: 序号 / 领导 / 联系分包乡镇（街道）, several leaders per cell."""
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "领导", "联系分包乡镇（街道）"])
    ws.append([1, "L02、L03", "饶良镇"])
    ws.append([2, "L05", "郝寨镇"])
    path = tmp_path / "annex2.xlsx"
    wb.save(path)
    report = import_assignments(
        demo_store, path, default_role="contact", default_valid_from=date(2025, 1, 1)
    )
    assert report.ok, report.to_text()
    assert (report.new, report.unchanged) == (3, 0) and not report.committed
    report = import_assignments(
        demo_store, path, default_role="contact", commit=True, default_valid_from=date(2025, 1, 1)
    )
    assert report.committed and report.new == 3
    with demo_store.session() as s:
        rows = s.scalars(select(Assignment).where(Assignment.valid_from == date(2025, 1, 1)))
        assert sorted((a.subject_key, a.object_code) for a in rows) == [
            ("L02", "411327102000"),
            ("L03", "411327102000"),
            ("L05", "411327101000"),
        ]


def test_every_unmatched_name_is_reported_and_nothing_written(demo_store, tmp_path, dump):
    path = _csv(
        tmp_path / "bad.csv",
        (
            "subject,role,object,category\n"
            "L01,contact,饶良真,\n"  # misspelt township
            "L99,contract,东裕社区,\n"  # unknown leader
            "县城管局,牵头,RS999,\n"  # unknown road section
            "县城关局,责任,RS001,\n"  # misspelt unit
            "L01,boss,东裕社区,\n"  # unknown role
            "县公安局,lead,社旗县,交通\n"  # unknown category name
        ),
    )
    before = dump(demo_store)
    report = import_assignments(demo_store, path, commit=True)
    assert not report.ok and not report.committed
    by_row = {(p.row, p.column): p for p in report.problems}
    assert by_row[(2, "object")].value == "饶良真" and "饶良镇" in by_row[(2, "object")].hint
    assert by_row[(3, "subject")].value == "L99"
    assert by_row[(4, "object")].value == "RS999"
    assert "县城管局" in by_row[(5, "subject")].hint
    assert by_row[(6, "role")].value == "boss"
    assert by_row[(7, "category")].value == "交通"
    assert "REJECTED" in report.to_text()
    assert dump(demo_store) == before


def test_replace_rotates_a_contract_leader(demo_store, tmp_path):
    path = _csv(
        tmp_path / "rotate.csv",
        "subject_kind,subject_key,role,object_layer,object_code,valid_from\n"
        "leader,L20,contract,community,411327100001,2025-01-01\n",
    )
    report = import_assignments(demo_store, path, replace=True, commit=True)
    assert report.ok and (report.new, report.closed) == (1, 1), report.to_text()
    p = demo_store.area("411327100001").geom.representative_point()
    old = demo_store.responsible_for(p.x, p.y, "cigarette_butts", at=date(2024, 12, 31))
    new = demo_store.responsible_for(p.x, p.y, "cigarette_butts", at=date(2025, 1, 2))
    assert [ld.key for ld in old.leaders if ld.role == "contract"] == ["L01"]
    assert [ld.key for ld in new.leaders if ld.role == "contract"] == ["L20"]
    again = import_assignments(demo_store, path, replace=True, commit=True)
    assert (again.new, again.closed, again.unchanged) == (0, 0, 1)


def test_leaders_phone_columns_are_never_stored(empty_store, tmp_path):
    path = _csv(tmp_path / "leaders.csv", "key,title,电话\nL01,县委副书记,13800000000\n")
    report = import_leaders(empty_store, path, commit=True)
    assert report.ok and report.new == 1 and "电话" in report.notes[0]
    with empty_store.session() as s:
        leader = s.scalars(select(Leader)).one()
        assert leader.attributes is None and leader.title == "县委副书记"


def test_units_report_unknown_kinds_and_parents(empty_store, tmp_path):
    path = _csv(
        tmp_path / "units.csv",
        "key,kind,name,parent_key\n"
        "D01,department,县城管局,\nST01,supervision_team,第一督查组,CG09\n"
        "X1,deparment,某局,\n",
    )
    report = import_units(empty_store, path, commit=True)
    assert not report.ok and not report.committed
    problems = {(p.row, p.column) for p in report.problems}
    assert problems == {(3, "parent_key"), (4, "kind")}
    assert "department" in next(p.hint for p in report.problems if p.column == "kind")
    good = _csv(
        tmp_path / "units2.csv",
        "key,kind,name,parent_key\n"
        "CG02,command_group,督查问责组,\nST01,supervision_team,第一督查组,CG02\n",
    )
    report = import_units(empty_store, good, commit=True)
    assert report.ok and report.committed and report.new == 2
    assert import_units(empty_store, good, commit=True).unchanged == 2


def test_gbk_csv_gets_an_encoding_hint(empty_store, tmp_path):
    import pytest

    from civgrid.grids.core.errors import InvalidInputError

    path = _csv(tmp_path / "gbk.csv", "key,title\nL01,县委副书记\n", encoding="gbk")
    with pytest.raises(InvalidInputError) as err:
        import_leaders(empty_store, path)
    assert err.value.context["hint"] == "pass --encoding gbk"
    assert import_leaders(empty_store, path, encoding="gbk").ok


def test_role_aliases_in_chinese(demo_store, tmp_path):
    path = _csv(tmp_path / "cn.csv", "责任单位,职责,对象\n县城管局,路长,RS001\n")
    report = import_assignments(demo_store, path)
    assert report.ok and report.new == 1, report.to_text()
    assert Role("road_chief")
