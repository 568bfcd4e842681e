"""Reference data: the category tree, the default routing rules and owner rules.

All are data files next to this module (``seed/categories.yaml``,
``seed/routing_rules.yaml``, ``seed/owner_rules.yaml``). Seeding inserts what
is missing and never overwrites rows a county has edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import (
    Category,
    Layer,
    OwnerCondition,
    OwnerRule,
    Role,
    RoutingRule,
    SubjectKind,
    UnitKind,
)
from civgrid.grids.core.errors import InvalidInputError

__all__ = [
    "CATEGORIES_FILE",
    "OWNER_RULES_FILE",
    "ROUTING_RULES_FILE",
    "SeedReport",
    "load_category_tree",
    "load_owner_rules",
    "load_routing_rules",
    "seed_reference_data",
]

SEED_DIR = Path(__file__).resolve().parent / "seed"
CATEGORIES_FILE = SEED_DIR / "categories.yaml"
ROUTING_RULES_FILE = SEED_DIR / "routing_rules.yaml"
OWNER_RULES_FILE = SEED_DIR / "owner_rules.yaml"


@dataclass
class SeedReport:
    """What seeding added (counts of new rows)."""

    categories_added: int = 0
    rules_added: int = 0
    owner_rules_added: int = 0

    def to_text(self) -> str:
        """One line for the CLI."""
        return (
            f"reference data: {self.categories_added} categories, "
            f"{self.rules_added} routing rules and {self.owner_rules_added} owner steps added"
        )


def load_category_tree(path: Path = CATEGORIES_FILE) -> list[dict[str, Any]]:
    """The category tree as nested dicts (``code``, ``name``, …, ``children``)."""
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def load_routing_rules(path: Path = ROUTING_RULES_FILE) -> list[dict[str, Any]]:
    """The default routing rules as dicts (``category``, ``layer``, ``role``…)."""
    rules = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for i, r in enumerate(rules):
        try:
            Layer(r["layer"])
            Role(r["role"])
            SubjectKind(r["subject_kind"])
            if r.get("unit_kind"):
                UnitKind(r["unit_kind"])
        except (KeyError, ValueError) as exc:
            raise InvalidInputError(
                f"routing rule {i} in {path.name}: {exc}", row=i, file=str(path)
            ) from exc
    return rules


def load_owner_rules(path: Path = OWNER_RULES_FILE) -> list[dict[str, Any]]:
    """The owner precedence lists as flat step dicts (``category``, ``rank``, ``layer``…).

    Each family in the file becomes its steps, ranked 1, 2, … in file order.

    Raises
    ------
    InvalidInputError
        A family without steps, a category given twice, an unknown layer, role or
        condition, or ``on_site`` on a layer other than ``key_site`` and ``shop``
        (naming the family and step).

    Examples
    --------
    >>> steps = load_owner_rules()
    >>> [(s["layer"], s["role"]) for s in steps if s["category"] == "traffic"]
    [('county', 'lead'), ('county', 'responsible')]
    """
    families = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out: list[dict[str, Any]] = []
    seen: set[str | None] = set()
    for i, fam in enumerate(families):
        where = f"owner rule family {i} ({fam.get('category') or 'default'}) in {path.name}"
        category = fam.get("category")
        if category in seen:
            raise InvalidInputError(f"{where}: category given twice", row=i, file=str(path))
        seen.add(category)
        steps = fam.get("steps") or []
        if not steps:
            raise InvalidInputError(f"{where}: no steps", row=i, file=str(path))
        for rank, step in enumerate(steps, start=1):
            try:
                layer = Layer(step["layer"])
                role = Role(step["role"])
                condition = OwnerCondition(step.get("condition", OwnerCondition.at_place))
            except (KeyError, ValueError) as exc:
                raise InvalidInputError(
                    f"{where}, step {rank}: {exc}", row=i, file=str(path)
                ) from exc
            if condition == OwnerCondition.on_site and layer not in (Layer.key_site, Layer.shop):
                raise InvalidInputError(
                    f"{where}, step {rank}: on_site applies to key_site and shop only",
                    row=i,
                    file=str(path),
                )
            out.append(
                {
                    "category": category,
                    "rank": rank,
                    "layer": layer.value,
                    "role": role.value,
                    "condition": condition.value,
                    "on_site_m": step.get("on_site_m"),
                    "note": step.get("note"),
                }
            )
    return out


def seed_reference_data(session: Session) -> SeedReport:
    """Insert missing categories and routing rules (idempotent).

    Parameters
    ----------
    session : Session
        Flushed, not committed.

    Returns
    -------
    SeedReport
    """
    report = SeedReport()
    existing = {c.code: c for c in session.scalars(select(Category))}

    def add(node: dict[str, Any], parent: Category | None, inherited: int | None) -> None:
        deadline = node.get("deadline_hours", inherited)
        cat = existing.get(node["code"])
        if cat is None:
            cat = Category(
                code=node["code"],
                name=node["name"],
                parent=parent,
                deadline_hours=deadline,
                assessment_item=node.get("assessment_item")
                or (parent.assessment_item if parent is not None else None),
                description=node.get("description"),
                tags=list(node.get("tags") or []) or None,
            )
            session.add(cat)
            existing[cat.code] = cat
            report.categories_added += 1
        for child in node.get("children") or []:
            add(child, cat, deadline)

    for root in load_category_tree():
        add(root, None, None)
    session.flush()

    have = {
        (r.category_code, r.layer, r.role, r.subject_kind, r.unit_kind)
        for r in session.scalars(select(RoutingRule))
    }
    for r in load_routing_rules():
        key = (
            r.get("category"),
            Layer(r["layer"]),
            Role(r["role"]),
            SubjectKind(r["subject_kind"]),
            UnitKind(r["unit_kind"]) if r.get("unit_kind") else None,
        )
        if key in have:
            continue
        session.add(
            RoutingRule(
                category_code=key[0],
                layer=key[1],
                role=key[2],
                subject_kind=key[3],
                unit_kind=key[4],
                priority=int(r.get("priority", 100)),
                note=r.get("note"),
            )
        )
        have.add(key)
        report.rules_added += 1
    session.flush()

    # Owner lists are replaced per family, never merged step by step: a family a
    # county has edited (any row for its category) is left alone.
    families = {r.category_code for r in session.scalars(select(OwnerRule))}
    for step in load_owner_rules():
        if step["category"] in families:
            continue
        session.add(
            OwnerRule(
                category_code=step["category"],
                rank=step["rank"],
                layer=Layer(step["layer"]),
                role=Role(step["role"]),
                condition=OwnerCondition(step["condition"]),
                on_site_m=step["on_site_m"],
                note=step["note"],
            )
        )
        report.owner_rules_added += 1
    session.flush()
    return report
