"""Values of the command center's action forms on the issue page: 交办/改派 with the
routing's suggestion preselected and the place's responsible units marked, and the
extension decision (延期审批) of the pending request.

The suggestion and the place's units come from the routing answer in the issue's detail
(:func:`civgrid.grids.issues.dispatching.place_unit_roles`); a unit outside them needs a
reason (the form's script shows the warning and makes the note required; the API refuses
it without one).

>>> ctx = {"issue": {"routing": {"owner": {"key": "C01"}, "responsible_units": [{"key": "C01"}],
...        "owner_reason": {"step": 1, "steps": 4, "note": "单元网格责任单位"}},
...        "owner_unit": None, "state": "triage"},
...        "units": [{"key": "C01", "name": "尚营社区居委会"}, {"key": "D04", "name": "县城管局"}]}
>>> from types import SimpleNamespace as NS
>>> v = dispatch_values(NS(issue=ctx["issue"], units=ctx["units"], owner_key=None), "dispatch")
>>> v["responsible"], 'value="C01" selected' in str(v["picker"])
('C01', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from civgrid.grids.core.calendar import local_zone
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS, SCORE_LINE_LABELS
from civgrid.grids.issues.dispatching import ROLE_LABELS, place_unit_roles, suggestion_reason
from civgrid.maps.render import Html, esc

if TYPE_CHECKING:  # pragma: no cover
    from civgrid.maps.issue_actions import ActionContext

__all__ = ["dispatch_values", "extension_values", "pending_extension"]


def _options(units: list[Mapping[str, str]], roles: dict[str, str], chosen: str | None) -> str:
    def opt(u: Mapping[str, str]) -> str:
        role = ROLE_LABELS.get(roles.get(u["key"], ""), "")
        label = f"{u['name']}（{u['key']}）" + (f" · {role}" if role else "")
        sel = " selected" if u["key"] == chosen else ""
        return f'<option value="{esc(u["key"])}"{sel}>{esc(label)}</option>'

    mine = [u for u in units if u["key"] in roles]
    rest = [u for u in units if u["key"] not in roles]
    if not mine:
        return "".join(opt(u) for u in rest)
    return (
        '<optgroup label="该位置的责任单位">'
        + "".join(opt(u) for u in mine)
        + '</optgroup><optgroup label="其他单位">'
        + "".join(opt(u) for u in rest)
        + "</optgroup>"
    )


def dispatch_values(ctx: ActionContext, action: str) -> dict[str, Any]:
    """The placeholders of ``issue_actions/dispatch.html`` for 交办 or 改派.

    The routing's owner is preselected (for 改派 only when it is not the current owner:
    a reassignment to the current owner changes nothing and is refused).
    """
    routing = ctx.issue.get("routing") or {}
    roles = place_unit_roles(routing)
    suggested = (routing.get("owner") or {}).get("key")
    names = {u["key"]: u["name"] for u in ctx.units}
    word = ISSUE_ACTION_LABELS[action]
    chosen = suggested if suggested in names else None
    if action == "reassign" and chosen == ctx.owner_key:
        chosen = None
    reason = suggestion_reason(routing)
    if suggested in names:
        suggest = (
            f'<p class="cg-suggest" id="cg-{action}-suggest">建议{esc(word)}给：'
            f"<b>{esc(names[suggested])}</b>"
            + (f'<br><span class="muted">依据：{esc(reason)}</span>' if reason else "")
            + "</p>"
        )
    else:
        suggest = (
            f'<p class="cg-suggest" id="cg-{action}-suggest">'
            "责任认定规则未找到责任单位，请选择。</p>"
        )
    place = "、".join(names.get(k, k) for k in roles) or "（无）"
    triage = action == "dispatch"
    return {
        "action": action,
        "word": word,
        "suggest": Html(suggest),
        "place": place,
        "picker": Html(_options(list(ctx.units), roles, chosen)),
        "responsible": " ".join(roles),
        "note_label": "交办说明（可不填）" if triage else "改派理由（必填）",
        "note_required": Html("" if triage else "required"),
        "note_msg": "请填写理由" if triage else "请填写改派理由",
    }


def pending_extension(ctx: ActionContext) -> Mapping[str, Any] | None:
    """The pending extension request of the issue, if any."""
    return next(
        (e for e in ctx.issue.get("extensions") or [] if e.get("status") == "pending"), None
    )


def _when(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is None:
        return "—"
    return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def extension_values(ctx: ActionContext) -> dict[str, Any]:
    """The placeholders of ``issue_actions/extension_decision.html``: the request."""
    req = pending_extension(ctx) or {}
    kind = "缓办" if req.get("kind") == "postponement" else SCORE_LINE_LABELS["extension"]
    text = (
        f"{esc(kind)}申请：理由“{esc(req.get('reason'))}”，申请延至 "
        f"<b>{esc(_when(req.get('requested_deadline')))}</b>"
        f"（提出于 {esc(_when(req.get('requested_at')))}）"
    )
    return {"request": Html(text)}
