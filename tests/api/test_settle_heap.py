"""The served app settles its heap at start-up (api.app.settle_heap_now): the request
modules are loaded and every object alive is frozen, so a full collection while
serving walks only what requests made; an app built in a test process does not."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from fastapi.testclient import TestClient

from civgrid.api.app import create_app
from civgrid.api.settings import Settings

_SERVED = """
import gc, json, sys
from fastapi.testclient import TestClient
before = gc.get_freeze_count()
layers_before = "civgrid.maps.layers" in sys.modules
from civgrid.api.asgi import app
with TestClient(app) as client:
    frozen = gc.get_freeze_count()
    layers = "civgrid.maps.layers" in sys.modules
    health = client.get("/healthz").json()
print(json.dumps({"before": before, "frozen": frozen, "layers_before": layers_before,
                  "layers": layers, "db": health.get("database")}))
"""


def test_the_served_app_loads_request_modules_and_freezes_start_up(tmp_path):
    env = {
        **os.environ,
        "CIVGRID_DATABASE_URL": f"sqlite:///{tmp_path / 'civgrid.sqlite'}",
        "CIVGRID_VAR_DIR": str(tmp_path / "var"),
        "CIVGRID_SECRET_KEY": "k" * 64,
    }
    out = subprocess.run(
        [sys.executable, "-c", _SERVED], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] == 0 and not seen["layers_before"]
    # start-up froze the app's objects (tens of thousands at least) and loaded the layers
    assert seen["frozen"] > 50_000, seen
    assert seen["layers"]


def test_an_app_in_a_test_process_freezes_nothing(tmp_path):
    frozen = gc.get_freeze_count()
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.sqlite'}", var_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == frozen
