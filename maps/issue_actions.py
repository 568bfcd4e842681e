"""The action forms of the issue page (问题详情): one partial per action, a table of them.

Each row of :data:`ACTION_FORMS` names a partial ``maps/templates/issue_actions/<name>.html``,
the permission it needs (rendered as ``data-perm`` on the form and on its submit button)
and a predicate saying whether *this* user may do it *now* (state, workflow role, the
unit's party role). The page renders only the rows whose permission the user holds and
whose predicate holds; the API checks every action again.

Adding an action: write ``issue_actions/<name>.html`` (a ``<form class="cg-form"
data-cg-api="$api" data-perm="$perm" ...>`` whose submit button carries ``data-perm="$perm"``
too, with a ``<p class="cg-field-err" data-for="FIELD">`` after each field), then add one
:class:`ActionForm` row here with its permission, predicate and extra values.

Placeholders every partial gets: ``$id`` (the issue id), ``$version`` (the version shown,
sent as ``expected_version``), ``$api`` (the URL it posts to), ``$perm``, ``$title``,
``$unit_options`` (``<option>`` of every unit, escaped) and ``$owner_key``.

>>> ctx = ActionContext(
...     issue={"id": 3, "version": 2, "state": "assigned", "owner_unit": {"key": "D04"}},
...     role="unit_handler", perms=frozenset({"issue.transition", "extension.request"}),
...     unit="D04")
>>> [f.name for f in forms_for(ctx)]
['accept', 'submit', 'extension_request']
>>> 'data-perm="issue.transition"' in render_action(ACTION_BY_NAME["accept"], ctx)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from civgrid.grids.accounts.permissions import Perm, Role, workflow_role
from civgrid.grids.core.labels import ISSUE_ACTION_LABELS, OPEN311_ACTION_SUMMARY, SCORE_LINE_LABELS
from civgrid.grids.issues.workflow import Action, Workflow
from civgrid.maps.dispatch_forms import dispatch_values, extension_values, pending_extension
from civgrid.maps.render import Html, esc, render

__all__ = [
    "ACTION_BY_NAME",
    "ACTION_FORMS",
    "ActionContext",
    "ActionForm",
    "forms_for",
    "render_action",
    "render_actions",
]

API = "/api/v1"
#: States in which the clock runs and an extension may be asked (the domain's ON_CLOCK).
_ON_CLOCK = frozenset({"assigned", "rectifying", "returned"})


@dataclass(frozen=True)
class ActionContext:
    """Who looks at which issue: what the predicates of :data:`ACTION_FORMS` read.

    Attributes
    ----------
    issue : mapping
        The issue as the API describes it (``IssueDetail`` as a dict).
    role : str
        The account role (``Role`` value).
    perms : frozenset of str
        The permissions the role holds.
    unit : str or None
        The unit key of a unit handler.
    units : sequence of {key, name}
        Units a form may offer (dispatch, reassign, transfer).
    reporter : bool
        The viewer reported the issue (a grid worker's reopen).
    workflow : Workflow
        The city's state machine.
    """

    issue: Mapping[str, Any]
    role: str
    perms: frozenset[str]
    unit: str | None = None
    units: Sequence[Mapping[str, str]] = ()
    reporter: bool = False
    workflow: Workflow = field(default_factory=Workflow)

    @property
    def state(self) -> str:
        return str(self.issue.get("state"))

    @property
    def owner_key(self) -> str | None:
        return (self.issue.get("owner_unit") or {}).get("key")

    def owns(self) -> bool:
        """The viewer may act as the owner: the command center, or the owner unit."""
        if self.role == Role.unit_handler:
            return self.unit is not None and self.unit == self.owner_key
        return True

    def can(self, action: Action) -> bool:
        """The workflow table lets this viewer's role do ``action`` from the issue's state."""
        wf_role = workflow_role(Role(self.role))
        if action in self.workflow.actions(self.state, wf_role):
            return True
        # the reporter's reopen (a grid worker sees only their own reports)
        return self.reporter and action in self.workflow.actions(self.state, "reporter")


def _unit_transition(action: Action) -> Callable[[ActionContext], bool]:
    return lambda c: c.can(action) and c.owns()


def _extension_request(c: ActionContext) -> bool:
    pending = any(e.get("status") == "pending" for e in c.issue.get("extensions") or [])
    return (
        c.state in _ON_CLOCK
        and not pending
        and c.owns()
        and c.role in (Role.unit_handler, Role.dispatcher, Role.admin)
    )


@dataclass(frozen=True)
class ActionForm:
    """One action form: its partial, the permission it needs, when it is shown.

    Attributes
    ----------
    name : str
        The partial ``issue_actions/<name>.html`` (or ``<partial>.html``).
    perm : Perm
        The permission the action needs (``data-perm``).
    title : str
        The heading (Chinese).
    shown : callable
        ``ActionContext -> bool``: whether this viewer may do it now.
    api : str
        The URL it posts to (``{id}`` is the issue id; ``{request}``: the pending
        extension request).
    extra : callable, optional
        Values only this partial uses, from the context.
    partial : str
        The partial when it is not ``name``.
    """

    name: str
    perm: Perm
    title: str
    shown: Callable[[ActionContext], bool]
    api: str = API + "/issues/{id}/transitions"
    #: ``ActionContext -> {placeholder: value}``: values only this partial uses.
    extra: Callable[[ActionContext], Mapping[str, Any]] | None = None
    #: The partial's file name when it is not ``name`` (two actions sharing a form).
    partial: str = ""


#: The action forms, in the order the page shows them. A row per partial.
ACTION_FORMS: tuple[ActionForm, ...] = (
    ActionForm(
        "accept",
        Perm.issue_transition,
        ISSUE_ACTION_LABELS["accept"],
        _unit_transition(Action.accept),
    ),
    ActionForm(
        "submit",
        Perm.issue_transition,
        ISSUE_ACTION_LABELS["submit"],
        _unit_transition(Action.submit),
    ),
    ActionForm(
        "extension_request",
        Perm.extension_request,
        OPEN311_ACTION_SUMMARY["extension_request"],
        _extension_request,
        API + "/issues/{id}/extensions",
        extra=lambda c: {"extension_label": SCORE_LINE_LABELS["extension"]},
    ),
    ActionForm(
        "reinspect",
        Perm.issue_transition,
        ISSUE_ACTION_LABELS["reinspect"],
        lambda c: c.can(Action.reinspect),
    ),
    ActionForm(
        "reopen",
        Perm.issue_transition,
        ISSUE_ACTION_LABELS["reopen"],
        lambda c: c.can(Action.reopen),
    ),
    # the command center's actions (safe dispatch: civgrid.maps.dispatch_forms)
    ActionForm(
        "dispatch",
        Perm.issue_dispatch,
        ISSUE_ACTION_LABELS["dispatch"],
        lambda c: c.can(Action.dispatch),
        API + "/issues/{id}/dispatch",
        extra=lambda c: dispatch_values(c, "dispatch"),
    ),
    ActionForm(
        "reassign",
        Perm.issue_dispatch,
        ISSUE_ACTION_LABELS["reassign"],
        lambda c: c.can(Action.reassign),
        API + "/issues/{id}/reassign",
        extra=lambda c: dispatch_values(c, "reassign"),
        partial="dispatch",
    ),
    ActionForm(
        "reject",
        Perm.issue_dispatch,
        ISSUE_ACTION_LABELS["reject"],
        lambda c: c.can(Action.reject),
    ),
    ActionForm(
        "merge",
        Perm.issue_dispatch,
        OPEN311_ACTION_SUMMARY["merge"],
        lambda c: c.can(Action.merge),
    ),
    ActionForm(
        "extension_decision",
        Perm.extension_decide,
        ISSUE_ACTION_LABELS["extension_decision"],
        lambda c: pending_extension(c) is not None,
        API + "/issues/{id}/extensions/{request}/decision",
        extra=extension_values,
    ),
)
ACTION_BY_NAME: dict[str, ActionForm] = {f.name: f for f in ACTION_FORMS}


def forms_for(ctx: ActionContext) -> list[ActionForm]:
    """The forms this viewer may use now: permission held and predicate true."""
    return [f for f in ACTION_FORMS if str(f.perm) in ctx.perms and f.shown(ctx)]


def _unit_options(units: Sequence[Mapping[str, str]], chosen: str | None) -> Html:
    return Html(
        "".join(
            f'<option value="{esc(u["key"])}"{" selected" if u["key"] == chosen else ""}>'
            f"{esc(u['name'])}</option>"
            for u in units
        )
    )


def render_action(form: ActionForm, ctx: ActionContext, **extra: Any) -> str:
    """The partial of ``form`` for ``ctx``, filled (every value escaped)."""
    issue_id = int(ctx.issue["id"])
    values = {**(form.extra(ctx) if form.extra is not None else {}), **extra}
    pending = pending_extension(ctx)
    return render(
        f"issue_actions/{form.partial or form.name}.html",
        id=issue_id,
        version=ctx.issue.get("version") or "",
        api=form.api.format(id=issue_id, request=pending["id"] if pending else ""),
        perm=str(form.perm),
        title=form.title,
        unit_options=_unit_options(ctx.units, ctx.owner_key),
        owner_key=ctx.owner_key or "",
        **values,
    )


def render_actions(ctx: ActionContext) -> Html:
    """Every form this viewer may use now, each in its ``<section>``; or a sentence."""
    parts = [
        f'<section class="cg-action" id="cg-action-{esc(f.name)}">'
        f"<h3>{esc(f.title)}</h3>{render_action(f, ctx)}</section>"
        for f in forms_for(ctx)
    ]
    if not parts:
        return Html('<p class="muted" id="cg-no-actions">当前没有您可办理的操作。</p>')
    return Html("".join(parts))
