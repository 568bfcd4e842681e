"""Every Chinese UI label of the domain, in one place.

Plain dicts keyed by the code values (strings), so ``core`` needs no other
package of ``grids``: a ``StrEnum`` member looks a key up like its value.
The code names follow the glossary (``/work/shared/domain/GLOSSARY.md``).

Issue *states* are not here: their labels, kinds and colours live in one row
each of the workflow table (:data:`civgrid.grids.issues.workflow.STATE_TABLE`).

``tests/core/test_labels.py`` fails when a label of this module (or of the
workflow table) is written as a literal anywhere else in ``api/``, ``grids/`` or
``maps/``; import it from here instead.
"""

from __future__ import annotations

__all__ = [
    "AREA_TYPE_LABELS",
    "FLAG_LABELS",
    "ISSUE_ACTION_LABELS",
    "LAYER_LABELS",
    "LEADER_ROLE_OBJECT",
    "LEVEL_LABELS",
    "MAP_LAYER_LABELS",
    "NOTICE_REASON_LABELS",
    "ROLE_LABELS",
    "SOURCE_LABELS",
    "TIER_LABELS",
    "UNIT_KIND_LABELS",
    "leader_role_phrase",
    "role_holder_label",
]

# ------------------------------------------------------------------ places
#: Area types (``Area.type``), short: 县 / 乡镇 / 街道 / 社区 / 行政村 …
AREA_TYPE_LABELS: dict[str, str] = {
    "county": "县",
    "township": "乡镇",
    "street": "街道",
    "community": "社区",
    "village": "行政村",
    "unit_grid": "单元网格",
    "supervision_area": "督导范围",
    "central_city": "中心城区",
}

#: Layers (``Layer``) as named in lists and exports (责任清单).
LAYER_LABELS: dict[str, str] = {
    "county": "县(区)",
    "township": "乡镇(街道)",
    "community": "社区(行政村)",
    "unit_grid": AREA_TYPE_LABELS["unit_grid"],
    "supervision_area": AREA_TYPE_LABELS["supervision_area"],
    "road_section": "路段",
    "key_site": "重点点位",
}

#: Map layers as named in the layer control of the map pages.
MAP_LAYER_LABELS: dict[str, str] = {
    "county": "县界",
    "township": "乡镇/街道",
    "community": "社区/行政村网格",
    "unit_grid": LAYER_LABELS["unit_grid"],
    "road_section": "路段（路长制）",
    "key_site": LAYER_LABELS["key_site"],
    "key_site_zone": "重点点位周边400米",
    "supervision_area": LAYER_LABELS["supervision_area"],
}

#: Levels a score is computed for (scoring, bulletins).
LEVEL_LABELS: dict[str, str] = {
    "unit_grid": LAYER_LABELS["unit_grid"],
    "community": AREA_TYPE_LABELS["community"],
    "township": "乡镇（街道）",
    "road_section": LAYER_LABELS["road_section"],
    "department": "责任单位",
}

# ------------------------------------------------------------------ people
#: Assignment roles (``Role``). One wording per role; the glossary fixes the
#: code names: 联系(乡镇) → ``contact``, 分包(社区) → ``contract``, 路长 →
#: ``road_chief``, 联建/结对共建 → ``pairing``, 责任单位 → ``responsible``,
#: 牵头单位 → ``lead``, 督导 → ``supervision``.
ROLE_LABELS: dict[str, str] = {
    "contact": "联系",
    "contract": "分包",
    "road_chief": "路长",
    "pairing": "联建",
    "responsible": LEVEL_LABELS["department"],
    "lead": "牵头单位",
    "supervision": "督导",
}

#: The area type a leader role points at (联系 → 乡镇, 分包 → 社区; a road chief has none).
LEADER_ROLE_OBJECT: dict[str, str | None] = {
    "contact": "township",
    "contract": "community",
    "road_chief": None,
}


def leader_role_phrase(role: str) -> str:
    """``联系乡镇`` / ``分包社区`` / ``路长``: a leader's role with what it points at."""
    obj = LEADER_ROLE_OBJECT.get(role)
    return ROLE_LABELS.get(role, role) + (AREA_TYPE_LABELS[obj] if obj else "")


def role_holder_label(role: str) -> str:
    """Who holds ``role`` (popup row titles): ``联系领导``, ``分包领导``, ``联建单位``, ``路长``."""
    label = ROLE_LABELS.get(role, role)
    if role in ("contact", "contract"):
        return label + "领导"
    if role == "pairing":
        return label + "单位"
    if role == "supervision":
        return label + "组"
    return label


#: Unit kinds (``UnitKind``).
UNIT_KIND_LABELS: dict[str, str] = {
    "department": "县直部门",
    "street_office": "街道办事处",
    "community_committee": "居委会",
    "civilized_unit": "文明单位",
    "property_company": "物业公司",
    "supervision_team": "督查组",
    "command_group": "指挥部工作组",
}

# ------------------------------------------------------------------ issues
#: Where an issue came from (``Source``, 问题来源).
SOURCE_LABELS: dict[str, str] = {
    "field_supervision": "现场督查",
    "unannounced_visit": "明察暗访",
    "referral": "上级交办",
    "media_exposure": "媒体曝光",
    "citizen_complaint": "市民投诉",
    "mystery_inspector": "神秘人暗访",
    "simulated_assessment": "模拟测评",
    "grid_worker": "网格员上报",
}

#: Conditions of an open issue (``Flag``; not states).
FLAG_LABELS: dict[str, str] = {
    "overdue": "已超期",
    "escalated": "已升级督办",
    "extension_pending": "延期待批",
}

#: Events of an issue's history (workflow actions and system events).
ISSUE_ACTION_LABELS: dict[str, str] = {
    "report": "上报",
    "dispatch": "交办",
    "accept": "签收",
    "submit": "上报整改",
    "reinspect": "复查",
    "reopen": "重新打开",
    "reject": "不予受理",
    "merge": "合并",
    "unmerge": "撤销合并",
    "reassign": "改派",
    "supervise": "督办",
    "escalate": "升级",
    "overdue": "超期",
    "recurrence": "反弹回潮",
    "extension_request": "延期申请",
    "extension_decision": "延期审批",
    "duplicate_linked": "关联重复",
    "comment": "备注",
}

#: Why a supervision notice (督办通知) was issued.
NOTICE_REASON_LABELS: dict[str, str] = {
    "overdue": "超期未整改",
    "repeated_return": "多次复查未通过",
}

# ------------------------------------------------------------------ scores
#: Quarterly tiers (``tier`` = good / fair / poor).
TIER_LABELS: dict[str, str] = {"good": "好", "fair": "中", "poor": "差"}
