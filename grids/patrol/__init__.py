"""Patrol: supervision teams, the monthly plan, daily routes, coverage from GPS tracks,
leaders' visits and the issue↔visit link (registered with issues on import).
"""

from civgrid.grids.patrol import visits as _visits  # noqa: F401  (registers the visit linker)
