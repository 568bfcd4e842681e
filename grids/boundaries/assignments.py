"""Imports of the tables the notices publish: units, leaders and assignments.

Files are ``.csv`` (UTF-8, or ``encoding="gbk"``) or ``.xlsx`` (first sheet
unless ``sheet`` is given; the header is the first non-empty row). Like the
boundary import, each import is a dry run that returns a report unless
``commit=True``; every name or code that cannot be matched is reported with
its row (1-based, as in a spreadsheet) and a "did you mean".

Assignment rows
---------------
``subject_kind`` (``leader``/``unit``, optional: guessed from the key),
``subject_key`` or ``subject`` (keys or names; several separated by 、 , ， ;),
``role`` (``contact``… or 联系/分包/路长/联建/责任/牵头/督导), ``object_layer``
(optional), ``object_code`` or ``object`` (codes or names of areas, road
sections or key sites in the current generation; several allowed),
``category`` (optional code or Chinese name), ``valid_from`` (default today),
``valid_to`` (optional), ``basis``/``note`` (optional), ``person_title``
(optional: the responsible person **by title** — 物业经理, 网格长, 路长 …; a name
or a phone number is refused with its row, see
:func:`~civgrid.grids.boundaries.responsibility.person_title_problem`). Leader tables as
published (领导 → 乡镇) work with Chinese headers too (see :data:`HEADER_ALIASES`).
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.grids.boundaries.models import (
    LEVEL_TYPES,
    Area,
    Assignment,
    Category,
    KeySite,
    Layer,
    Leader,
    RoadSection,
    Role,
    SubjectKind,
    Unit,
    UnitKind,
)
from civgrid.grids.boundaries.responsibility import person_title_problem
from civgrid.grids.boundaries.store import Store, valid_in
from civgrid.grids.core import labels as zh
from civgrid.grids.core.errors import InvalidInputError

__all__ = [
    "HEADER_ALIASES",
    "ROLE_ALIASES",
    "TableProblem",
    "TableReport",
    "did_you_mean",
    "import_assignments",
    "import_leaders",
    "import_units",
    "read_table",
    "table_transaction",
]

#: Accepted header spellings → canonical column names.
HEADER_ALIASES: dict[str, str] = {
    "subject": "subject",
    "subject_key": "subject",
    "责任主体": "subject",
    "领导": "subject",
    "领导姓名": "subject",
    zh.role_holder_label("contract"): "subject",
    "leader": "subject",
    "unit": "subject",
    "单位": "subject",
    zh.ROLE_LABELS["responsible"]: "subject",
    "subject_kind": "subject_kind",
    "主体类型": "subject_kind",
    "role": "role",
    "职责": "role",
    "角色": "role",
    "object": "object",
    "object_code": "object",
    "object_name": "object",
    "对象": "object",
    "联系分包乡镇（街道）": "object",
    zh.leader_role_phrase("contact"): "object",
    zh.LEVEL_LABELS["township"]: "object",
    "社区（行政村）": "object",
    zh.AREA_TYPE_LABELS["community"]: "object",
    zh.LAYER_LABELS["road_section"]: "object",
    "点位": "object",
    "object_layer": "object_layer",
    "图层": "object_layer",
    "category": "category",
    "category_code": "category",
    "类别": "category",
    "valid_from": "valid_from",
    "起始日期": "valid_from",
    "valid_to": "valid_to",
    "终止日期": "valid_to",
    "note": "note",
    "备注": "note",
    "basis": "note",
    "person_title": "person_title",
    "责任人": "person_title",
    "责任人职务": "person_title",
    "key": "key",
    "编号": "key",
    "kind": "kind",
    "类型": "kind",
    "name": "name",
    "名称": "name",
    "姓名": "name",
    "area_code": "area_code",
    "parent_key": "parent_key",
    "上级": "parent_key",
    "title": "title",
    "职务": "title",
    "rank": "rank",
    "级别": "rank",
}

#: Role spellings (Chinese terms of the notices) → :class:`Role`.
ROLE_ALIASES: dict[str, Role] = {
    # the labels themselves (联系, 分包, 路长, 联建, 责任单位, 牵头单位, 督导) …
    **{label: Role(code) for code, label in zh.ROLE_LABELS.items()},
    # … and the other spellings of the notices
    "包联": Role.contract,
    "结对共建": Role.pairing,
    "责任": Role.responsible,
    "牵头": Role.lead,
    "督查": Role.supervision,
}

_SPLIT = re.compile(r"[、,，;；/]+")
_PHONE_HEADER = re.compile(r"(phone|tel|mobile|电话|手机|联系方式)", re.IGNORECASE)


@dataclass
class TableProblem:
    """A row or value that could not be used."""

    row: int
    column: str | None
    value: str | None
    message: str
    hint: str | None = None
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return dict(self.__dict__)

    def to_text(self) -> str:
        """One report line."""
        col = f" [{self.column}]" if self.column else ""
        val = f" {self.value!r}" if self.value is not None else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{self.severity.upper():7} row {self.row}{col}{val}: {self.message}{hint}"


@dataclass
class TableReport:
    """Result of a table import (dry run unless ``committed``)."""

    kind: str
    path: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    problems: list[TableProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        """No error problems."""
        return not any(p.severity == "error" for p in self.problems)

    @property
    def has_changes(self) -> bool:
        """Something would be (or was) written."""
        return bool(self.new or self.updated or self.closed)

    @property
    def unmatched(self) -> list[TableProblem]:
        """Problems about names/codes that matched nothing."""
        return [p for p in self.problems if p.message.startswith("no ")]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {k: v for k, v in self.__dict__.items() if k != "problems"} | {
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_text(self) -> str:
        """The report for the CLI."""
        head = (
            f"{self.kind} from {Path(self.path).name}: {self.rows} rows; "
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged"
        )
        if self.closed:
            head += f", {self.closed} closed"
        lines = [head, *[f"  note: {n}" for n in self.notes]]
        lines += [f"  {p.to_text()}" for p in self.problems]
        if not self.ok:
            lines.append("Result: REJECTED — nothing was written.")
        elif self.committed:
            lines.append("Result: committed." if self.has_changes else "Result: unchanged.")
        else:
            lines.append(
                "Result: OK — dry run, nothing written; add --commit to write."
                if self.has_changes
                else "Result: unchanged — nothing to write."
            )
        return "\n".join(lines)


# =========================================================================== reading


def read_table(
    path: str | Path, *, encoding: str | None = None, sheet: str | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV or XLSX table.

    Parameters
    ----------
    path : str or Path
    encoding : str, optional
        CSV encoding (default UTF-8 with or without BOM; ``gbk`` for Excel exports).
    sheet : str, optional
        XLSX sheet name (default: the first).

    Returns
    -------
    (list of str, list of dict)
        Header (as written) and rows (values as stripped strings, ``""`` when empty).

    Raises
    ------
    InvalidInputError
        Unreadable file, wrong encoding (with the encoding to pass), no header.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"cannot read {path}: no such file", path=str(path))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    enc = encoding or "utf-8-sig"
    try:
        text = path.read_text(encoding=enc)
    except UnicodeDecodeError as exc:
        hint = "pass --encoding gbk" if _decodes(path, "gbk") else None
        raise InvalidInputError(
            f"{path.name} is not {enc} text (byte {exc.start})", path=str(path), hint=hint
        ) from exc
    except LookupError as exc:
        raise InvalidInputError(f"unknown encoding {enc!r}", hint="try --encoding gbk") from exc
    rows = list(csv.reader(text.splitlines()))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InvalidInputError(f"{path.name} is empty", path=str(path))
    header = [h.strip() for h in rows[0]]
    return header, [
        {h: (r[i].strip() if i < len(r) else "") for i, h in enumerate(header)} for r in rows[1:]
    ]


def _decodes(path: Path, enc: str) -> bool:
    try:
        path.read_bytes().decode(enc)
    except UnicodeDecodeError:
        return False
    return True


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], list[dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for bad files
        raise InvalidInputError(f"cannot read {path.name}: {exc}", path=str(path)) from exc
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InvalidInputError(
                f"{path.name} has no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}"
            )
        ws = wb[sheet] if sheet else wb.worksheets[0]
        raw = [
            ["" if v is None else _cell(v) for v in row] for row in ws.iter_rows(values_only=True)
        ]
    finally:
        wb.close()
    raw = [r for r in raw if any(c for c in r)]
    if not raw:
        raise InvalidInputError(f"{path.name} has no rows", path=str(path))
    header = raw[0]
    return header, [
        {h: (r[i] if i < len(r) else "") for i, h in enumerate(header) if h} for r in raw[1:]
    ]


def _cell(v: Any) -> str:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _canonical_rows(
    header: Sequence[str], rows: Iterable[Mapping[str, str]]
) -> tuple[dict[str, str], list[dict[str, str]]]:
    mapping = {
        h: HEADER_ALIASES.get(h.strip(), HEADER_ALIASES.get(h.strip().lower(), h.strip()))
        for h in header
        if h
    }
    out = []
    for r in rows:
        d: dict[str, str] = {}
        for h, v in r.items():
            if not h:
                continue
            key = mapping.get(h, h)
            if d.get(key):
                continue
            d[key] = v
        out.append(d)
    return mapping, out


def _did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.5)
    return ("did you mean " + " or ".join(repr(c) for c in close) + "?") if close else None


def _date(value: str, default: date | None) -> date | None:
    if not value:
        return default
    value = value.replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-")
    value = value.rstrip("日").strip()
    return date.fromisoformat("-".join(p.zfill(2) for p in value.split("-")))


# =========================================================================== units, leaders


@contextmanager
def _transaction(
    store: Store, session: Session | None, report: TableReport, commit: bool
) -> Iterator[Session]:
    """Write into the caller's session, or into an own one that is committed only when
    ``commit`` and the report has no error — otherwise rolled back (a dry run sees
    exactly what a commit would do)."""
    if session is not None:
        yield session
        session.flush()
        return
    s = store._sessionmaker()
    try:
        yield s
        s.flush()
        if commit and report.ok:
            s.commit()
            report.committed = True
        else:
            s.rollback()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()


def _missing_columns(
    report: TableReport, rows: list[dict[str, str]], header: Sequence[str], required: Sequence[str]
) -> None:
    present = set(rows[0]) if rows else set()
    for col in required:
        if col not in present:
            report.problems.append(
                TableProblem(1, col, None, f"missing column {col!r}", _did_you_mean(col, header))
            )


def import_units(
    store: Store,
    path: str | Path,
    *,
    commit: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    session: Session | None = None,
) -> TableReport:
    """Import units (``key, kind, name[, area_code, parent_key, …]``), upserting by key.

    Parameters
    ----------
    store : Store
    path : str or Path
        CSV or XLSX. Extra columns are kept as attributes.
    commit : bool
        Write (only when there is no error); otherwise a dry run.
    encoding, sheet : str, optional
    session : Session, optional
        Write into the caller's transaction (the caller commits or rolls back).

    Returns
    -------
    TableReport
    """
    header, rows = read_table(path, encoding=encoding, sheet=sheet)
    _, rows = _canonical_rows(header, rows)
    report = TableReport("units", str(path), rows=len(rows))
    _missing_columns(report, rows, header, ("key", "kind", "name"))
    if not report.ok:
        return report
    kinds = [k.value for k in UnitKind]
    with _transaction(store, session, report, commit) as s:
        existing = {u.key: u for u in s.scalars(select(Unit))}
        parents: list[tuple[int, Unit, str | None]] = []
        for i, r in enumerate(rows, start=2):
            key, kind, name = r.get("key", ""), r.get("kind", ""), r.get("name", "")
            if not key or not name:
                report.problems.append(
                    TableProblem(i, "key" if not key else "name", None, "empty key or name")
                )
                continue
            if kind not in kinds:
                report.problems.append(
                    TableProblem(i, "kind", kind, "no such unit kind", _did_you_mean(kind, kinds))
                )
                continue
            attrs = {
                k: v
                for k, v in r.items()
                if k not in {"key", "kind", "name", "area_code", "parent_key"} and v
            }
            values = dict(
                kind=UnitKind(kind),
                name=name,
                area_code=r.get("area_code") or None,
                attributes=attrs or None,
            )
            unit = _upsert(s, Unit, existing, key, values, report)
            parents.append((i, unit, r.get("parent_key") or None))
        s.flush()
        for i, unit, pk in parents:
            if pk and pk not in existing:
                report.problems.append(
                    TableProblem(
                        i, "parent_key", pk, "no unit with this key", _did_you_mean(pk, existing)
                    )
                )
                continue
            parent_id = existing[pk].id if pk else None
            if unit.parent_id != parent_id:
                unit.parent_id = parent_id
    return report


def import_leaders(
    store: Store,
    path: str | Path,
    *,
    commit: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    session: Session | None = None,
) -> TableReport:
    """Import leaders (``key, title[, rank, name, …]``), upserting by key.

    Columns that look like phone numbers (电话, 手机, phone…) are never stored.
    Parameters as for :func:`import_units`.
    """
    header, rows = read_table(path, encoding=encoding, sheet=sheet)
    mapping, rows = _canonical_rows(header, rows)
    report = TableReport("leaders", str(path), rows=len(rows))
    dropped = [h for h in header if _PHONE_HEADER.search(h)]
    if dropped:
        report.notes.append(
            f"columns not stored (phone numbers are never kept): {', '.join(dropped)}"
        )
    drop = {mapping.get(h, h) for h in dropped}
    _missing_columns(report, rows, header, ("key", "title"))
    if not report.ok:
        return report
    with _transaction(store, session, report, commit) as s:
        existing = {ld.key: ld for ld in s.scalars(select(Leader))}
        for i, r in enumerate(rows, start=2):
            key, title = r.get("key", ""), r.get("title", "")
            if not key or not title:
                report.problems.append(
                    TableProblem(i, "key" if not key else "title", None, "empty key or title")
                )
                continue
            attrs = {
                k: v for k, v in r.items() if k not in {"key", "title", "rank", "name"} | drop and v
            }
            values = dict(
                title=title,
                rank=r.get("rank") or None,
                name=r.get("name") or None,
                attributes=attrs or None,
            )
            _upsert(s, Leader, existing, key, values, report)
    return report


# =========================================================================== assignments


@dataclass
class _Catalog:
    """Names and codes of the current generation's objects, units and leaders."""

    objects: dict[Layer, dict[str, str]]  # layer → code → name
    leaders: dict[str, Leader]
    units: dict[str, Unit]
    categories: dict[str, Category]

    def find_object(self, value: str, layer: Layer | None) -> tuple[list[tuple[Layer, str]], str]:
        layers = [layer] if layer is not None else list(self.objects)
        by_code = [(lay, value) for lay in layers if value in self.objects.get(lay, {})]
        if by_code:
            return by_code, "code"
        by_name = [
            (lay, c) for lay in layers for c, n in self.objects.get(lay, {}).items() if n == value
        ]
        return by_name, "name"

    def object_names(self, layer: Layer | None) -> list[str]:
        layers = [layer] if layer is not None else list(self.objects)
        return [n for lay in layers for n in self.objects.get(lay, {}).values()]


def _catalog(s: Session, gen_id: int | None) -> _Catalog:
    objects: dict[Layer, dict[str, str]] = {lay: {} for lay in Layer}
    if gen_id is not None:
        for a in s.execute(select(Area.code, Area.name, Area.type).where(valid_in(Area, gen_id))):
            for lay, types in LEVEL_TYPES.items():
                if a.type in types:
                    objects[lay][a.code] = a.name
        for r in s.execute(
            select(RoadSection.code, RoadSection.name).where(valid_in(RoadSection, gen_id))
        ):
            objects[Layer.road_section][r.code] = r.name
        for k in s.execute(select(KeySite.code, KeySite.name).where(valid_in(KeySite, gen_id))):
            objects[Layer.key_site][k.code] = k.name
    return _Catalog(
        objects,
        {ld.key: ld for ld in s.scalars(select(Leader))},
        {u.key: u for u in s.scalars(select(Unit))},
        {c.code: c for c in s.scalars(select(Category))},
    )


def _find_subjects(
    cat: _Catalog, value: str, kind: str
) -> tuple[list[tuple[SubjectKind, Leader | Unit]], str | None]:
    """Subjects named by a key or a name; (matches, hint)."""
    found: list[tuple[SubjectKind, Leader | Unit]] = []
    if kind in ("", "leader"):
        if value in cat.leaders:
            found.append((SubjectKind.leader, cat.leaders[value]))
        else:
            found += [
                (SubjectKind.leader, ld)
                for ld in cat.leaders.values()
                if ld.name and ld.name == value
            ]
    if kind in ("", "unit") and not found:
        if value in cat.units:
            found.append((SubjectKind.unit, cat.units[value]))
        else:
            found += [(SubjectKind.unit, u) for u in cat.units.values() if u.name == value]
    choices: list[str] = []
    if kind in ("", "leader"):
        choices += list(cat.leaders) + [ld.name for ld in cat.leaders.values() if ld.name]
    if kind in ("", "unit"):
        choices += list(cat.units) + [u.name for u in cat.units.values()]
    return found, None if found else _did_you_mean(value, choices)


def import_assignments(
    store: Store,
    path: str | Path,
    *,
    commit: bool = False,
    replace: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    default_valid_from: date | None = None,
    default_role: Role | str | None = None,
    source: str | None = None,
    session: Session | None = None,
) -> TableReport:
    """Import assignments (who answers for which area, road section or key site).

    Parameters
    ----------
    store : Store
    path : str or Path
        CSV or XLSX; columns as in the module docs.
    commit : bool
        Write (only when there is no error).
    replace : bool
        Leaders rotate: for every (object, role, category) in the file, close
        (``valid_to`` = the new row's ``valid_from``) the current assignments of
        other subjects.
    encoding, sheet : str, optional
    default_valid_from : date, optional
        For rows without ``valid_from`` (default: today).
    default_role : Role or str, optional
        For tables without a role column (e.g. annex 2 of a notice: leaders →
        townships, role ``contact``).
    source : str, optional
        Recorded on new rows (default: the file name).
    session : Session, optional
        Write into the caller's transaction (the caller commits or rolls back).

    Returns
    -------
    TableReport
        ``problems`` lists every subject, object, role or category that matched nothing.
    """
    path = Path(path)
    header, rows = read_table(path, encoding=encoding, sheet=sheet)
    _, rows = _canonical_rows(header, rows)
    report = TableReport("assignments", str(path), rows=len(rows))
    if default_role is not None:
        for r in rows:
            if not r.get("role"):
                r["role"] = Role(default_role).value
    for col in ("subject", "role", "object"):
        if not rows or col not in rows[0]:
            report.problems.append(
                TableProblem(1, col, None, f"missing column {col!r}", _did_you_mean(col, header))
            )
    if not report.ok:
        return report
    today = default_valid_from or datetime.now(UTC).date()
    with _transaction(store, session, report, commit) as s:
        gen = store.active_generation(s)
        cat = _catalog(s, gen.id if gen is not None else None)
        if gen is None:
            report.notes.append("no boundary generation yet: objects cannot be matched")
        wanted: list[dict[str, Any]] = []
        for i, r in enumerate(rows, start=2):
            wanted += _parse_assignment_row(cat, r, i, today, report)
        if not report.ok:
            return report
        existing = list(s.scalars(select(Assignment)))
        index = {
            (
                a.subject_kind,
                a.unit_id or a.leader_id,
                a.role,
                a.object_layer,
                a.object_code,
                a.category_code,
                a.valid_from,
            ): a
            for a in existing
        }
        seen_keys = set()
        for w in wanted:
            subj = w["subject"]
            key = (
                w["subject_kind"],
                subj.id,
                w["role"],
                w["layer"],
                w["code"],
                w["category"],
                w["valid_from"],
            )
            if key in seen_keys:
                continue
            seen_keys.add(key)
            found = index.get(key)
            same = found is not None and (found.valid_to, found.person_title) == (
                w["valid_to"],
                w["person_title"],
            )
            if same:
                report.unchanged += 1
            elif found is not None:
                found.valid_to = w["valid_to"]
                found.person_title = w["person_title"]
                report.updated += 1
            else:
                s.add(
                    Assignment(
                        role=w["role"],
                        subject_kind=w["subject_kind"],
                        unit_id=subj.id if w["subject_kind"] == SubjectKind.unit else None,
                        leader_id=subj.id if w["subject_kind"] == SubjectKind.leader else None,
                        object_layer=w["layer"],
                        object_code=w["code"],
                        category_code=w["category"],
                        valid_from=w["valid_from"],
                        valid_to=w["valid_to"],
                        source=source or path.name,
                        note=w["note"] or None,
                        person_title=w["person_title"],
                    )
                )
                report.new += 1
        if replace:
            report.closed = _close_replaced(existing, wanted)
    return report


def _close_replaced(existing: Sequence[Assignment], wanted: Sequence[dict[str, Any]]) -> int:
    """Close current assignments of other subjects on the (object, role, category) groups."""
    groups: dict[tuple[Any, ...], tuple[set[tuple[Any, str]], date]] = {}
    for w in wanted:
        g = (w["layer"], w["code"], w["role"], w["category"])
        subjects, start = groups.get(g, (set(), w["valid_from"]))
        subjects.add((w["subject_kind"], w["subject"].key))
        groups[g] = (subjects, min(start, w["valid_from"]))
    closed = 0
    for a in existing:
        g = (a.object_layer, a.object_code, a.role, a.category_code)
        if g not in groups or a.valid_to is not None:
            continue
        subjects, start = groups[g]
        if (a.subject_kind, a.subject_key) in subjects or a.valid_from >= start:
            continue
        a.valid_to = start
        closed += 1
    return closed


def _parse_assignment_row(
    cat: _Catalog, r: Mapping[str, str], row: int, today: date, report: TableReport
) -> list[dict[str, Any]]:
    problems = report.problems
    role_text = r.get("role", "")
    try:
        role = Role(role_text) if role_text in Role.__members__ else ROLE_ALIASES[role_text]
    except KeyError:
        problems.append(
            TableProblem(
                row,
                "role",
                role_text,
                "no such role",
                _did_you_mean(role_text, [*Role.__members__, *ROLE_ALIASES]),
            )
        )
        return []
    layer = None
    if r.get("object_layer"):
        try:
            layer = Layer(r["object_layer"])
        except ValueError:
            problems.append(
                TableProblem(
                    row,
                    "object_layer",
                    r["object_layer"],
                    "no such layer",
                    _did_you_mean(r["object_layer"], Layer.__members__),
                )
            )
            return []
    category = r.get("category") or None
    if category and category not in cat.categories:
        by_name = [c.code for c in cat.categories.values() if c.name == category]
        if len(by_name) == 1:
            category = by_name[0]
        else:
            names = list(cat.categories) + [c.name for c in cat.categories.values()]
            problems.append(
                TableProblem(
                    row, "category", category, "no such category", _did_you_mean(category, names)
                )
            )
            return []
    try:
        valid_from = _date(r.get("valid_from", ""), today)
        valid_to = _date(r.get("valid_to", ""), None)
    except ValueError as exc:
        problems.append(
            TableProblem(
                row, "valid_from", r.get("valid_from"), f"not a date: {exc}", "use YYYY-MM-DD"
            )
        )
        return []
    person_title = r.get("person_title", "").strip() or None
    if person_title is not None:
        why = person_title_problem(person_title)
        if why is not None:
            shown = None if "phone" in why else person_title  # never echo a phone number
            problems.append(TableProblem(row, "person_title", shown, why))
            return []
    kind = r.get("subject_kind", "")
    if kind and kind not in ("leader", "unit"):
        problems.append(TableProblem(row, "subject_kind", kind, "must be leader or unit"))
        return []
    subjects = []
    for value in [v.strip() for v in _SPLIT.split(r.get("subject", "")) if v.strip()]:
        found, hint = _find_subjects(cat, value, kind)
        if not found:
            problems.append(
                TableProblem(
                    row,
                    "subject",
                    value,
                    f"no {kind or 'leader or unit'} with this key or name",
                    hint,
                )
            )
        elif len(found) > 1:
            problems.append(
                TableProblem(
                    row, "subject", value, f"ambiguous: {len(found)} subjects match", "use the key"
                )
            )
        else:
            subjects.append(found[0])
    objects = []
    for value in [v.strip() for v in _SPLIT.split(r.get("object", "")) if v.strip()]:
        found_objs, how = cat.find_object(value, layer)
        if not found_objs:
            where = layer.value if layer else "area, road section or key site"
            problems.append(
                TableProblem(
                    row,
                    "object",
                    value,
                    f"no {where} with this {'code' if value.isascii() else 'name'} "
                    "in the current generation",
                    _did_you_mean(value, cat.object_names(layer)),
                )
            )
        elif len(found_objs) > 1:
            problems.append(
                TableProblem(
                    row,
                    "object",
                    value,
                    f"ambiguous {how}: " + ", ".join(f"{lay.value} {c}" for lay, c in found_objs),
                    "add an object_layer column or use the code",
                )
            )
        else:
            objects.append(found_objs[0])
    if not subjects or not objects:
        if not r.get("subject") or not r.get("object"):
            problems.append(TableProblem(row, None, None, "empty subject or object"))
        return []
    return [
        {
            "subject_kind": sk,
            "subject": subj,
            "role": role,
            "layer": lay,
            "code": code,
            "category": category,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "note": r.get("note", ""),
            "person_title": person_title,
        }
        for sk, subj in subjects
        for lay, code in objects
    ]


def _upsert(
    session: Any,
    model: type,
    existing: dict[str, Any],
    key: str,
    values: dict[str, Any],
    report: Any,
) -> Any:
    """Insert ``model(key=key, **values)`` or update the existing row; count it in ``report``."""
    row = existing.get(key)
    if row is None:
        row = model(key=key, **values)
        session.add(row)
        existing[key] = row
        report.new += 1
    elif any(getattr(row, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(row, k, v)
        report.updated += 1
    else:
        report.unchanged += 1
    return row


#: Public names of the helpers other registers' imports share (the point register).
did_you_mean = _did_you_mean
table_transaction = _transaction
