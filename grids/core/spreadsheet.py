"""Exports that a spreadsheet opens safely: no cell of ours runs as a formula.

Descriptions and addresses come from anonymous intake; ``=HYPERLINK(…)`` or
``=cmd|…`` written into an export would run in the reader's Excel (OWASP "CSV
injection"). Every xlsx and CSV export passes through here:

* CSV: text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading ``'`` (:func:`civgrid.geo.io.formula_safe`);
* xlsx: every cell is stored as a value — a text that openpyxl would store as a
  formula (it starts with ``=``) is stored as text instead, unchanged.
"""

from __future__ import annotations

from typing import Any

from civgrid.geo.io import formula_safe

__all__ = ["csv_cell", "formula_safe", "values_only"]


def csv_cell(value: Any) -> Any:
    """A value for :func:`csv.writer`: text made formula-safe, anything else unchanged.

    Examples
    --------
    >>> csv_cell("=1+1"), csv_cell(-2), csv_cell(None)
    ("'=1+1", -2, None)
    """
    return formula_safe(value) if isinstance(value, str) else value


def values_only(workbook: Any) -> Any:
    """Store every formula cell of ``workbook`` (openpyxl) as plain text; returns it.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> wb = Workbook()
    >>> wb.active.append(['=HYPERLINK("http://x")', 3])
    >>> [c.data_type for c in values_only(wb).active[1]]
    ['s', 'n']
    """
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return workbook
