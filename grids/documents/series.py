"""The document series (文种): code, Chinese title, the letter of its number.

A document number reads ``<stem><letter>〔<year>〕第<seq>号``, e.g. ``示创交〔2026〕第007号``,
with ``seq`` counted per (series, year). The stem is the city's ``notice_prefix`` less a
trailing ``督`` (``示督`` → ``示``); the 督办 series keeps the full ``notice_prefix``
and takes its year and sequence from the 督办通知 itself
(:class:`civgrid.grids.issues.models.SupervisionNotice`), so a 督办通知单 and its notice
always carry one number. The letters and the stem rule are a local choice, not a clause
of a notice.

Examples
--------
>>> SERIES["jiaoban"].title
'交办单'
>>> format_number("示督", "jiaoban", 2026, 7)
'示交〔2026〕第007号'
>>> format_number("示督", "duban", 2026, 12)
'示督〔2026〕第012号'
"""

from __future__ import annotations

from dataclasses import dataclass

from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.core.labels import BULLETIN_KIND_LABELS

__all__ = ["SERIES", "Series", "format_number", "series_of"]


@dataclass(frozen=True)
class Series:
    """One series: its code, the title printed on the document, the number's letter,
    and what its subject is (``issue``, ``case``, ``bulletin``, ``report``)."""

    code: str
    title: str
    letter: str
    subject_kind: str


SERIES: dict[str, Series] = {
    s.code: s
    for s in (
        Series("jiaoban", "交办单", "交", "issue"),
        Series("huizhi", "整改回执", "回", "issue"),
        Series("duban", "督办通知单", "督", "issue"),
        Series("yuetan", "约谈通知书", "谈", "case"),
        Series("wenze", "问责建议书", "责", "case"),
        Series("ducha_report", "督查报告", "查", "report"),
        Series("bulletin", BULLETIN_KIND_LABELS["monthly"], "通", "bulletin"),
    )
}


def series_of(code: str) -> Series:
    """The series called ``code``, or :class:`InvalidInputError` naming the known ones."""
    try:
        return SERIES[code]
    except KeyError:
        raise InvalidInputError(
            f"unknown document series {code!r} (known: {', '.join(SERIES)})", field="series"
        ) from None


def format_number(notice_prefix: str, series: str, year: int, seq: int) -> str:
    """The printed number of document ``seq`` of ``series`` in ``year``."""
    letter = series_of(series).letter
    stem = notice_prefix[:-1] if notice_prefix.endswith("督") else notice_prefix
    return f"{stem}{letter}〔{year}〕第{seq:03d}号"
