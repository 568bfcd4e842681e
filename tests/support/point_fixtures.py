"""Shared fixtures of the point-inspection tests: a market checklist, a square point, a photo."""

from __future__ import annotations

from civgrid.grids.issues.photos import PhotoInput

#: A tiny PNG as an inspection photo.
PNG = PhotoInput(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "item.png", "image/png")
#: A market checklist: any deduction (threshold 1) or a must-pass failure → 不达标.
STANDARD = """\
profile: t
point_standards:
  versions:
    - effective_from: 2026-01-01
      types:
        - code: market
          label: 农贸市场
          threshold: 1
          items:
            - {code: M-1, family: public_ads, text: 公益广告, category: markets}
            - {code: M-2, family: trade_rules, text: 秤, category: market_order, must_pass: true}
            - {code: M-3, family: public_order, text: 无占道, category: street_vending}
            - {code: M-4, family: facilities, text: 制度, category: markets, photo_on_fail: false}
"""
#: A small square market (WGS84) in the demo county.
SQUARE = (
    "POLYGON((112.949 33.0595,112.950 33.0595,112.950 33.0605,112.949 33.0605,112.949 33.0595))"
)
