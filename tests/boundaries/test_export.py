"""The responsibility list (责任清单) workbook."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from civgrid.grids.boundaries.export import responsibility_rows, write_responsibility_xlsx


def test_responsibility_rows_name_every_object(demo_store):
    rows = responsibility_rows(demo_store, at=date(2024, 1, 1))
    # 518 of the central city, 65 of the countryside (seats, through roads), 84 shops
    assert len(rows) == 518 + 65 + 84 and all(r.in_generation for r in rows)
    shops = [r for r in rows if r.layer == "shop"]
    assert len(shops) == 84 and all(r.object_name for r in shops)  # named, in force
    contract = [r for r in rows if r.role == "contract"]
    assert len(contract) == 14 and all(r.subject_kind == "leader" for r in contract)
    assert {r.parent_name for r in contract} == {"赊店镇", "潘河街道", "赵河街道"}
    assert responsibility_rows(demo_store, at=date(2020, 1, 1)) == []


def test_workbook_sheets_and_content(demo_store, tmp_path):
    path = write_responsibility_xlsx(
        demo_store, tmp_path / "out" / "责任清单.xlsx", at=date(2024, 1, 1)
    )
    wb = load_workbook(path)
    assert wb.sheetnames == [
        "责任清单",
        "乡镇联系领导",
        "社区分包联建",
        "路段路长",
        "重点点位",
        "部门职责",
        "责任空白",
        "说明",
    ]
    main = list(wb["责任清单"].iter_rows(values_only=True))
    assert main[0][:5] == ("图层", "编码", "名称", "上级区域", "职责") and len(main) == 1 + 667
    towns = {r[1]: r for r in wb["乡镇联系领导"].iter_rows(min_row=2, values_only=True)}
    assert len(towns) == 16 and towns["郝寨镇"][2].count("（L") == 1
    comms = list(wb["社区分包联建"].iter_rows(min_row=2, values_only=True))
    assert len(comms) == 14 and all(r[2] and r[3] for r in comms)
    duties = list(wb["部门职责"].iter_rows(min_row=2, values_only=True))
    assert ("交通秩序与文明交通", "牵头单位", "县公安局") in [r[:3] for r in duties]
    text = " ".join(str(c) for row in main for c in row if c)
    assert "电话" not in text
