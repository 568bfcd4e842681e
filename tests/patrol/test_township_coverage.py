"""Township targets of the monthly plan: every township is inspected once a quarter,
before the quarterly evaluation ranks it (the countryside included)."""

from __future__ import annotations

from datetime import date

from civgrid.grids.patrol.plan import get_plan, plan_month, reasons_zh
from civgrid.grids.patrol.routes import set_visit_outcome

QUARTER = ("2024-04", "2024-05", "2024-06")


def test_the_three_plans_of_a_quarter_visit_all_16_townships(sqlite_store):
    store = sqlite_store
    towns = {a.code for a in store.areas(layer="township")}
    assert len(towns) == 16
    seen: list[set[str]] = []
    with store.session() as s:
        for month in QUARTER:
            plan_month(s, store, month, commit=True)
            visits = [v for v in get_plan(s, month).visits if v.kind == "township_quarter"]
            codes = {v.target_code for v in visits}
            assert codes and codes <= towns
            assert not codes & set().union(*seen), "a township planned twice in the quarter"
            seen.append(codes)
            for v in visits:  # the teams went: the next month plans the rest
                set_visit_outcome(s, v.id, "done", today=date(2030, 1, 1))
            s.flush()
        # spread over the quarter (ceil(16/3), then ceil(10/2), then the rest)
        assert [len(c) for c in seen] == [6, 5, 5]
        assert set().union(*seen) == towns
        # the rural townships are visited by the rural team at their seats
        plan = get_plan(s, QUARTER[0])
        rural = [v for v in plan.visits if v.kind == "township_quarter" and v.team_key == "ST05"]
        assert rural, "no rural township in the first month"
        assert "乡镇（街道）未检查" in reasons_zh(list(rural[0].reasons))[0]
        # the next quarter starts again from all 16
        plan_month(s, store, "2024-07", commit=True)
        july = get_plan(s, "2024-07").visits
        assert len({v.target_code for v in july if v.kind == "township_quarter"}) == 6
