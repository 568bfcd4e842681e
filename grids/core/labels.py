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
    "ACCOUNT_ROLE_LABELS",
    "AREA_TYPE_LABELS",
    "BULLETIN_KIND_LABELS",
    "CASE_ACTION_LABELS",
    "CONSEQUENCE_LABELS",
    "FLAG_LABELS",
    "INDICATOR_LABELS",
    "ISSUE_ACTION_LABELS",
    "LAYER_LABELS",
    "LEADER_ROLE_OBJECT",
    "LEVEL_LABELS",
    "LIST_LABELS",
    "MAP_LAYER_LABELS",
    "NOTICE_REASON_LABELS",
    "OPEN311_ACTION_SUMMARY",
    "PARTY_ROLE_LABELS",
    "PATROL_KIND_COLORS",
    "PATROL_KIND_LABELS",
    "PATROL_LEGEND_COLORS",
    "PATROL_LEGEND_LABELS",
    "PATROL_REASON_TEMPLATES",
    "PLACE_ZONE_LABELS",
    "POINT_COMPLIANCE_COLORS",
    "POINT_COMPLIANCE_LABELS",
    "POINT_FAMILY_LABELS",
    "POINT_FIELD_LABELS",
    "RED_BLACK_LABELS",
    "ROLE_LABELS",
    "SCORE_LINE_LABELS",
    "SCORE_SOURCE_LABELS",
    "SHOP_DUTY_LABELS",
    "SHOP_FIELD_LABELS",
    "SOURCE_LABELS",
    "TIER_LABELS",
    "TRACK_DROP_LABELS",
    "TRANSFER_COUNT_LABELS",
    "TRANSFER_STATE_LABELS",
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
    "central_city": AREA_TYPE_LABELS["central_city"],
    "shop": "沿街商户",
    "assessment_point": "测评点位",
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
    "central_city": AREA_TYPE_LABELS["central_city"],
    "shop": "沿街商户（门前五包）",
}

#: Levels a score is computed for (scoring, bulletins).
LEVEL_LABELS: dict[str, str] = {
    "unit_grid": LAYER_LABELS["unit_grid"],
    "community": AREA_TYPE_LABELS["community"],
    "township": "乡镇（街道）",
    "road_section": LAYER_LABELS["road_section"],
    "department": "责任单位",
    "civilized_unit": "文明单位",
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

#: Account roles (``civgrid.grids.accounts.permissions.Role``, 账号角色).
ACCOUNT_ROLE_LABELS: dict[str, str] = {
    "admin": "系统管理员",
    "dispatcher": "指挥中心调度员",
    "inspector": "督查员",
    "unit_handler": "责任单位经办人",
    "grid_worker": "网格员",
    "leader": "县级领导",
    "viewer": "只读查看",
    "public": "市民",
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
    "progress_note": "进展说明",
    "transfer_request": "转办申请",
    "transfer_decision": "转办审批",
    "undo_batch": "撤销批量改派",
}

#: An answering unit's role on an issue (``PartySetMember.role``; glossary: 主办单位, 协办单位).
PARTY_ROLE_LABELS: dict[str, str] = {
    "owner": "主办单位",
    "co_responsible": "协办单位",
    "shop": "门前五包责任商户",
}

#: States of a transfer request (转办申请, ``grids.issues.transfers``).
TRANSFER_STATE_LABELS: dict[str, str] = {
    "pending": "待审批",
    "approved": "已同意转办",
    "refused": "不同意转办",
    "lapsed": "已失效",
}

#: Per-unit counts of transfer requests (推诿扯皮 statistics).
TRANSFER_COUNT_LABELS: dict[str, str] = {
    "requested": "转办申请数",
    "approved": "同意数",
    "refused": "驳回数",
    "repeated": "驳回后再申请数",
    "pending": "待审批数",
}

#: Why a supervision notice (督办通知) was issued.
NOTICE_REASON_LABELS: dict[str, str] = {
    "overdue": "超期未整改",
    "repeated_return": "多次复查未通过",
}

#: Summaries of history events in the Open311 ``notes`` extension.
OPEN311_ACTION_SUMMARY: dict[str, str] = {
    "report": "受理上报",
    "dispatch": "分拣交办",
    "accept": "责任单位签收",
    "submit": "上报整改结果",
    "reinspect": ISSUE_ACTION_LABELS["reinspect"],
    "reopen": ISSUE_ACTION_LABELS["reopen"],
    "reject": ISSUE_ACTION_LABELS["reject"],
    "merge": "合并为重复问题",
    "unmerge": ISSUE_ACTION_LABELS["unmerge"],
    "reassign": ISSUE_ACTION_LABELS["reassign"],
    "overdue": ISSUE_ACTION_LABELS["overdue"],
    "supervise": "发出督办通知",
    "escalate": "升级督办",
    "extension_request": "申请延期",
    "extension_decision": ISSUE_ACTION_LABELS["extension_decision"],
    "duplicate_linked": "收到重复上报",
    "duplicate_unlinked": "撤销重复关联",
    "undo_batch": "撤销批量改派",
}

#: The three lists (清单): code name → title.
LIST_LABELS: dict[str, str] = {
    "issue_list": "问题清单",
    "responsibility_list": "责任清单",
    "rectification_list": "整改清单",
}

# ------------------------------------------------------------------ patrol
#: Visit kinds of a patrol plan (in scheduling order: hard requirements first).
PATROL_KIND_LABELS: dict[str, str] = {
    "leader_inspection": "领导包联看",
    "key_site": LAYER_LABELS["key_site"],
    "hotspot": "反弹热点",
    "community_quarter": "季度全覆盖",
    "community_sample": "月度抽查",
    "supervised_unit": "督导单位",
    "township_quarter": "乡镇季度全覆盖",
    "assessment_point": "测评点位抽查",
}

#: Marker colour of each visit kind on the patrol map.
PATROL_KIND_COLORS: dict[str, str] = {
    "leader_inspection": "#c0392b",
    "key_site": "#8e44ad",
    "hotspot": "#e67e22",
    "community_quarter": "#2471a3",
    "community_sample": "#17a589",
    "township_quarter": "#7d6608",
    "assessment_point": "#b03a2e",
}

#: The line layers of the patrol map (legend) and their colours.
PATROL_LEGEND_LABELS: dict[str, str] = {
    "covered": "已覆盖路段",
    "missed": "未覆盖路段",
    "track": "GPS 轨迹",
    "route": "当日路线",
}
PATROL_LEGEND_COLORS: dict[str, str] = {
    "covered": "#1e8449",
    "missed": "#cb4335",
    "track": "#1f3a93",
    "route": "#d35400",
}

#: The Chinese wording of a visit reason (``str.format`` templates; the stored
#: reasons are machine-readable English, parsed in ``grids/patrol/plan.py``).
PATROL_REASON_TEMPLATES: dict[str, str] = {
    "hotspot": "反弹热点：{0}次反弹",
    "open_issues": "未办结问题 {0} 个（超期 {1} 个）",
    "poor_score": "上期得分偏低 {0}",
    "never_visited": "从未走访",
    "last_visit": "距上次走访 {0} 天",
    "leader": PATROL_KIND_LABELS["leader_inspection"] + "（{0}）：第{1}次/共{2}次",
    "key_site": LAYER_LABELS["key_site"] + " 每月{1}次（含周边{2}米），第{0}次",
    "quarter": "季度全覆盖：本季度第{0}个月，尚有 {1} 个社区未走访",
    "sample": "月度抽查（优先级 {0}）",
    "township_quarter": "乡镇季度全覆盖：本季度第{0}个月，尚有 {1} 个乡镇（街道）未检查",
    "supervised_unit": "督导单位 {0} {1}（该{2}的{3}），本月第{4}次/共{5}次",
    "capacity": "容量不足：督查组 {0} 在时间窗内已排满（每天 {1} 次）",
    "outside": "不在任何督导范围内：由最近的督查组 {0} 负责（{1} 米）",
    "point_must_check": "必查点位：每月检查",
    "point_cohort": "实地考察点位月度抽查：第{0}组（共3组，每季度全覆盖）",
    "point_failed": "上次检查不达标：优先复查",
}

#: Why a GPS point was dropped while cleaning a track.
TRACK_DROP_LABELS: dict[str, str] = {
    "before_anchor": "起点异常",
    "spike": "孤立跳点",
    "jump": "超速跳点",
    "unconfirmed": "末点未确认",
}

# ------------------------------------------------------------------ scores
#: Quarterly tiers (``tier`` = good / fair / poor).
TIER_LABELS: dict[str, str] = {"good": "好", "fair": "中", "poor": "差"}

#: Consequences a scoring trigger names (and the actions of an accountability case).
CONSEQUENCE_LABELS: dict[str, str] = {
    "interview": "约谈",
    "self_criticism": "书面检讨",
    "public_criticism": "通报批评",
    "referral": "问责",
    "bonus_stop": "停发奖金",
    "admonishment": "诫勉",
    "yellow_flag": "黄旗警示",
}

#: Events of an accountability case (问责情形): the consequences and the case events.
CASE_ACTION_LABELS: dict[str, str] = {
    **CONSEQUENCE_LABELS,
    "opened": "立案",
    "note": ISSUE_ACTION_LABELS["comment"],
    "close": "办结",
    "rectify_order": "限期整改",
    "rectified": "整改到位",
}

#: Handling indicators of a department, grid or post (部门指标).
INDICATOR_LABELS: dict[str, str] = {
    "filed": "立案数",
    "due": "应结案数",
    "closed": "结案数",
    "closed_on_time": "按期结案数",
    "closure_rate": "结案率",
    "on_time_rate": "按期结案率",
    "rework_rate": "返工率",
    "extension_rate": "延期率",
    "avg_handling_hours": "平均处置时长（小时）",
    "composite_score": "综合指标值",
}

#: Bulletin kinds (通报).
BULLETIN_KIND_LABELS: dict[str, str] = {
    "monthly": "月通报",
    "quarterly": "季度考评",
    "half_yearly": "半年考评",
    "annual": "年度总评",
}

#: Where the previous month's scores of a patrol plan came from (CLI: ``bulletin``
#: and ``computed`` follow the period, a bulletin also its number).
SCORE_SOURCE_LABELS: dict[str, str] = {
    "given": "手工给定",
    "bulletin": BULLETIN_KIND_LABELS["monthly"],
    "computed": "计算得分",
    "none": "无",
}

#: The rules of a score's line items, as named on a unit's page.
SCORE_LINE_LABELS: dict[str, str] = {
    "issue": "发现问题",
    "source": "来源加重",
    "overdue": ISSUE_ACTION_LABELS["overdue"],
    "recurrence": ISSUE_ACTION_LABELS["recurrence"],
    "return": "返工",
    "extension": "延期",
    "on_time_closure": "按期结案",
    "media_praise": "媒体表扬",
    "point": "测评点位失分",
    "bonus_cap": "加分封顶",
    "community": "社区得分",
    "period": "分期得分",
    "pairing_work": "联建工作",
    "adjustment": "年度加减分",
}

#: Columns of the campaign report (专项行动成效对比) and of the bulletin's campaign section.
CAMPAIGN_REPORT_LABELS: dict[str, str] = {
    "name": "专项行动",
    "windows": "行动时段",
    "start": "开始",
    "end": "结束",
    "found": SCORE_LINE_LABELS["issue"],
    "fixed": "整改完成",
    "before_start": "行动前同等时段开始",
    "found_before": "行动前同等时段发现",
    "fixed_before": "行动前同等时段整改",
}

# ------------------------------------------------------------------ shops (门前五包)
#: The five duties of a street-front shop's responsibility letter (002: "包洁化、包绿化、
#: 包秩序、包立面、包文明"), keyed as in ``Shop.frontage_duties``.
SHOP_DUTY_LABELS: dict[str, str] = {
    "clean": "包洁化",
    "green": "包绿化",
    "order": "包秩序",
    "facade": "包立面",
    "civility": "包文明",
}

#: Columns of the shop register and its import report.
SHOP_FIELD_LABELS: dict[str, str] = {
    "code": "商户编号",
    "name": "商户名称",
    "street": "所在街道（路）",
    "address": "门牌地址",
    "responsibility_letter": "责任书签订日期",
    "frontage_duties": "门前五包责任",
    "enforcement_grid_unit": "城管网格员所在单位",
    "frontage": "门前责任区",
}

#: Central city or countryside (中心城区 / 乡村), the split of issue lists and statistics.
PLACE_ZONE_LABELS: dict[str, str] = {
    "central": AREA_TYPE_LABELS["central_city"],
    "rural": "乡村",
}

#: The monthly red/black list (红黑榜) of shops and streets.
RED_BLACK_LABELS: dict[str, str] = {
    "title": "门前五包红黑榜",
    "red": "红榜",
    "black": "黑榜",
    "shops": "商户",
    "streets": "街道（路）",
    "rank": "名次",
    "list": "榜单",
    "issues": "问题数",
    "reports": "被报次数",
    "open": "未整改",
    "overdue": "超期",
    "shop_count": "商户数",
    "per_shop": "每户问题数",
}

# ------------------------------------------------------------------ assessment points
#: Families of checklist items (测评标准 items are grouped so in published checklists;
#: see shared/domain/ASSESSMENT.md). Keys are the ``family`` of a checklist item.
POINT_FAMILY_LABELS: dict[str, str] = {
    "public_ads": "公益广告",
    "trade_rules": "行业规范",
    "public_order": "公共秩序",
    "environment_services": "环境与公共服务",
    "facilities": "设施与管理",
}

#: A point's compliance (达标 / 不达标 / 未检).
POINT_COMPLIANCE_LABELS: dict[str, str] = {
    "compliant": "达标",
    "non_compliant": "不达标",
    "uninspected": "未检",
}
POINT_COMPLIANCE_COLORS: dict[str, str] = {
    "compliant": "#2e7d32",
    "non_compliant": "#c62828",
    "uninspected": "#9e9e9e",
}

#: Register columns (Chinese spreadsheet headers) of the assessment-point import.
POINT_FIELD_LABELS: dict[str, str] = {
    "code": "点位编号",
    "name": "点位名称",
    "point_type": "点位类型",
    "responsible_unit": "包保单位",
    "point_chief": "点位长",
    "must_check": "必查点",
    "key_site": "重点点位",
    "radius_m": "半径",
    "geometry": "位置",
}

#: Notifications (通知): each event kind's message title and body (``str.format`` fields
#: from the event payload: issue, unit, deadline, notice, category).
NOTIFY_TEMPLATES: dict[str, tuple[str, str]] = {
    "issue_dispatched": ("问题交办", "问题#{issue}已交办给{unit}，请于{deadline}前整改。"),
    "issue_transferred": ("问题改派", "问题#{issue}已改派给{unit}，请于{deadline}前整改。"),
    "issue_due_soon": ("即将到期", "问题#{issue}将于{deadline}到期，请抓紧整改。"),
    "issue_overdue": ("逾期提醒", "问题#{issue}已超过整改期限{deadline}。"),
    "issue_notice": ("督办通知", "问题#{issue}已下发督办通知单{notice}，请于{deadline}前整改。"),
    "issue_escalated": ("问题升级", "问题#{issue}督办{notice}到期仍未整改，已升级处理。"),
    "issue_extension_decided": ("延期审批", "问题#{issue}的延期申请已处理，整改期限{deadline}。"),
    "issue_reinspection_failed": ("复查未通过", "问题#{issue}复查未通过，已退回整改。"),
    "point_inspection_failed": (
        "点位检查不达标",
        "测评点位{point_name}（{point}）检查不达标，未达标条目：{failed_text}。请{unit}按期整改。",
    ),
    "case_opened": ("问责立案", "{unit_name}：{rule}（问责案件#{case}）已立案。"),
    "case_acted": ("问责进展", "问责案件#{case}（{unit_name}）：{note}"),
    "bulletin_published": ("通报发布", "{number}（{period}）已发布。"),
    "delivery_failed": ("通知发送失败", "通知{message}经{attempts}次尝试仍未送达（{channel}）。"),
}

#: Notification channels and the in-app centre (通知中心).
NOTIFY_LABELS: dict[str, str] = {
    "in_app": "站内通知",
    "email": "电子邮件",
    "dingtalk": "钉钉群机器人",
    "wecom": "企业微信群机器人",
    "sms": "短信",
    "centre": "通知中心",
    "unread": "未读",
    "mark_read": "标为已读",
    "none": "暂无通知",
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已送达",
    "dead": "发送失败",
    "deliveries": "通知送达",
    "recipient": "接收方",
    "channel": "渠道",
    "status": "状态",
    "attempts": "尝试次数",
    "outbox": "通知发送情况",
    "troubles": "发送异常",
    "total": "消息总数",
}
