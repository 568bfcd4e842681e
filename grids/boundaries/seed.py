"""Reference data: the category tree and the default routing rules.

Both are data files next to this module (``seed/categories.yaml``,
``seed/routing_rules.yaml``). Seeding inserts what is missing and never
overwrites rows a county has edited.
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
    Role,
    RoutingRule,
    SubjectKind,
    UnitKind,
)
from civgrid.grids.core.errors import InvalidInputError

__all__ = [
    "CATEGORIES_FILE",
    "ROUTING_RULES_FILE",
    "SeedReport",
    "load_category_tree",
    "load_routing_rules",
    "seed_reference_data",
]

SEED_DIR = Path(__file__).resolve().parent / "seed"
CATEGORIES_FILE = SEED_DIR / "categories.yaml"
ROUTING_RULES_FILE = SEED_DIR / "routing_rules.yaml"


@dataclass
class SeedReport:
    """What seeding added (counts of new rows)."""

    categories_added: int = 0
    rules_added: int = 0

    def to_text(self) -> str:
        """One line for the CLI."""
        return (
            f"reference data: {self.categories_added} categories and "
            f"{self.rules_added} routing rules added"
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
    return report
