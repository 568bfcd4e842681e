"""What scoring hands to the features below it, so they never import scoring.

:class:`LastMonthScores` is the patrol plan's score feed: the scores (0–100) of
the month before a plan, from that month's published bulletin, else computed
under the caller's rule registry — the one the API and CLI build, installed
profiles (``var/profiles``) included, so a county that loaded its own rules
plans with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from civgrid.grids.boundaries.store import Store
from civgrid.grids.core.errors import DomainError
from civgrid.grids.scoring.bulletins import find_bulletin
from civgrid.grids.scoring.rules import RuleRegistry
from civgrid.grids.scoring.score import Period
from civgrid.grids.scoring.service import ScoringContext

__all__ = ["LastMonthScores"]


@dataclass
class LastMonthScores:
    """A score feed: ``feed(session, store, first)`` → (scores by code, where they came from).

    Parameters
    ----------
    registry : RuleRegistry, optional
        The rules to compute with when no bulletin was published; default: the
        shipped profiles only.
    """

    registry: RuleRegistry | None = None

    def __call__(
        self, session: Session, store: Store, first: date
    ) -> tuple[dict[str, float], dict[str, Any]]:
        """Scores of the month before ``first`` by community (and unit-grid) code.

        The second value says what they came from: ``source`` is ``bulletin``,
        ``computed`` or ``none``, with ``period`` and ``number``, ``profile`` or
        ``reason``.
        """
        prev = Period.containing("month", first).previous()
        info: dict[str, Any] = {"period": prev.key}
        b = find_bulletin(session, "monthly", prev.key)
        if b is not None:
            rows = (b.content or {}).get("communities", [])
            scores = {
                r["code"]: float(r["points"])
                for r in rows
                if r.get("points") is not None and r.get("sampled", True)
            }
            return scores, {**info, "source": "bulletin", "number": b.number}
        try:
            ctx = ScoringContext(store, session, self.registry or RuleRegistry.with_shipped())
            scores = {}
            for level in ("community", "unit_grid"):
                for sc in ctx.scores(prev, level):
                    if sc.sampled:
                        scores[sc.code] = float(sc.points)
        except (DomainError, OSError, ValueError) as exc:
            return {}, {**info, "source": "none", "reason": f"scores not available: {exc}"}
        return scores, {**info, "source": "computed", "profile": ctx.registry.profile().profile}
