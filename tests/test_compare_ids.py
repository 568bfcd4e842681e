"""``tests/support/compare_ids.py``: a moved test id is found through the rename map, a
dropped one is reported."""

from __future__ import annotations

from support.compare_ids import lost_ids, main

MAP = """# renames

## Path prefixes

| old | new |
| --- | --- |
| `tests/auth/` | `tests/accounts/` |
| `tests/auth/test_m.py::test_r[` | `tests/accounts/test_m.py::test_r[sqlite-` |

## Ids

| old | new |
| --- | --- |
| `tests/maps/test_d.py::test_x[a]` | `tests/test_d.py::test_y[civgrid.maps.a]` |
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_renamed_ids_are_not_lost(tmp_path):
    renames = write(tmp_path, "RENAMES.md", MAP)
    before = [
        "tests/auth/test_a.py::test_one",
        "tests/auth/test_m.py::test_r[GET /]",
        "tests/maps/test_d.py::test_x[a]",
        "tests/geo/test_g.py::test_kept",
    ]
    after = [
        "tests/accounts/test_a.py::test_one",
        "tests/accounts/test_m.py::test_r[sqlite-GET /]",
        "tests/accounts/test_m.py::test_r[postgis-GET /]",
        "tests/test_d.py::test_y[civgrid.maps.a]",
        "tests/geo/test_g.py::test_kept",
    ]
    assert lost_ids(before, after, renames) == []


def test_a_dropped_id_is_printed(tmp_path, capsys):
    renames = write(tmp_path, "RENAMES.md", MAP)
    before = write(tmp_path, "before.txt", "tests/auth/test_a.py::test_one\ntests/geo/t.py::t\n")
    after = write(tmp_path, "after.txt", "tests/geo/t.py::t\n\n3 tests collected\n")
    assert main([str(before), str(after), str(renames)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ["tests/auth/test_a.py::test_one -> tests/accounts/test_a.py::test_one"]
