"""Adding a workflow state is one row of the workflow table.

A fixture adds ``postponed`` (已缓办) to :data:`STATE_TABLE`; the map pages'
config (state labels, colours, legend) and the lists export (xlsx and CSV)
then show it with its label — nothing else is touched.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from civgrid.grids.issues import lists
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.issues.workflow import STATE_TABLE, Kind, StateRow, Workflow
from civgrid.maps.layers import issue_feature_properties
from civgrid.maps.pages import command_center_map

NEW, LABEL, COLOR = "postponed", "已缓办", "#123abc"
T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def new_state(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(STATE_TABLE, NEW, StateRow(Kind.open, LABEL, COLOR))
    return NEW


def _issue(state: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=7,
        version=1,
        state=state,
        source="grid_worker",
        category=None,
        category_code="litter",
        description="垃圾",
        routing={},
        address="人民路1号",
        lon=112.95,
        lat=33.05,
        owner_unit=None,
        parties=[],
        reported_at=T0,
        assigned_at=T0,
        deadline=None,
        overdue_at=None,
        overdue=False,
        escalated=False,
        escalated_at=None,
        recurrence_of_id=None,
        repeat_count=0,
        duplicate_count=0,
        measures=None,
        submitted_at=None,
        reinspection_result=None,
        reinspection_note=None,
        return_count=0,
        extension_count=0,
        notice_count=0,
        closed_at=None,
    )


def _page_config(html: str, entry: str) -> dict:
    m = re.search(rf"civgrid\.{entry}\(map_[0-9a-f]+, (\{{.*?\}})\);\n", html, re.S)
    assert m, f"{entry} not called"
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_a_new_state_is_in_the_map_config(new_state: str) -> None:
    html = command_center_map(layers={}).get_root().render()
    cfg = _page_config(html, "initCommandMap")
    assert cfg["stateLabels"][new_state] == LABEL
    assert cfg["stateColors"][new_state] == COLOR
    assert new_state in cfg["legendStates"]
    # a city's relabelling still wins over the table
    html = command_center_map(layers={}, state_labels={new_state: "缓办中"}).get_root().render()
    assert _page_config(html, "initCommandMap")["stateLabels"][new_state] == "缓办中"


def test_a_new_state_is_on_the_map_markers(new_state: str) -> None:
    labels = dict(IssueConfig().workflow.labels)
    p = issue_feature_properties(_issue(new_state), T0, labels)
    assert p["state_label"] == LABEL and p["open"] is True


def test_a_new_state_is_in_the_lists_export(new_state: str) -> None:
    cfg = IssueConfig(clock=lambda: T0)
    assert cfg.workflow.label(new_state) == LABEL
    assert cfg.workflow.kind(new_state) is Kind.open
    rows = lists.issue_list_rows([_issue(new_state)], cfg)
    assert rows[0]["state"] == LABEL
    table = lists.ListTable("issue_list", "问题清单", lists.ISSUE_LIST_COLUMNS, rows, [None])
    assert LABEL in lists.list_csv(table)
    rect = lists.rectification_list_rows([_issue(new_state)], cfg)
    assert rect[0]["state"] == LABEL

    from openpyxl import load_workbook

    buf = io.BytesIO()
    lists.write_lists_xlsx(buf, [table])
    buf.seek(0)
    ws = load_workbook(buf).active
    col = [c.value for c in ws[1]].index("办理状态")
    assert ws.cell(row=2, column=col + 1).value == LABEL


def test_relabelling_a_new_state_by_city(new_state: str) -> None:
    wf = Workflow.from_labels({new_state: "暂缓"})
    assert wf.label(new_state) == "暂缓"


def test_without_the_row_the_state_is_unknown() -> None:
    assert NEW not in STATE_TABLE
    with pytest.raises(ValueError):
        Workflow().label(NEW)
