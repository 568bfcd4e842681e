"""A bounded property-based run of the whole API against its own OpenAPI (schemathesis).

Every operation is called with generated (valid and invalid) input as a dispatcher and
as an admin, on a copy of the demo county (SQLite); the input is drawn from both the
valid (positive) and the invalid (negative) space of each operation's schema. Checked:
no 5xx, and every response matches the status codes' declared schema and content type.
Bounded: a few examples per operation, no shrinking, derandomized (the same cases every
run).
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from civgrid.api.app import create_app
from civgrid.api.settings import Settings
from support.authclient import token_for

pytestmark = pytest.mark.slow

EXAMPLES = 5  # per operation, valid and invalid input mixed


@pytest.fixture(scope="module")
def api(demo_sqlite_template, tmp_path_factory):
    """(app, {role: auth header}) on a private copy of the demo county."""
    from fastapi.testclient import TestClient

    path, index = demo_sqlite_template
    tmp = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(path, tmp / "demo.sqlite")
    settings_ = Settings(
        database_url=f"sqlite:///{tmp / 'demo.sqlite'}",
        var_dir=tmp,
        build_index_on_startup=False,
        login_rate="100000/60",
        intake_rate="100000/60",
    )
    app = create_app(settings_)
    with TestClient(app):  # runs the lifespan: the store is opened
        app.state.store.snap_index = index
        headers = {
            role: {"Authorization": f"Bearer {token_for(app, f'st-{role}', role)}"}
            for role in ("dispatcher", "admin")
        }
        yield app, headers


def test_api_has_no_5xx_and_keeps_its_schema(api):
    app, headers = api
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1

        @given(
            case=st.one_of(
                op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE)
            )
        )
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            for role in ("dispatcher", "admin"):
                case.call_and_validate(headers=headers[role], checks=checks)

        try:
            run()
        except BaseException as exc:  # every operation runs; all failures reported together
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[op.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert operations > 40
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
