"""``civgrid map --out county.html``: one self-contained offline file."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from civgrid.api.cli.maps import map_command
from civgrid.maps.folium_offline import remote_urls


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("map")(map_command)
    app.command("noop")(lambda: None)  # keep "map" a sub-command, as in civgrid
    return app


def test_map_command_writes_a_self_contained_file(maps_db, tmp_path):
    out = tmp_path / "share" / "county.html"
    r = CliRunner().invoke(
        cli(),
        [
            "map",
            "--out",
            str(out),
            "--database-url",
            maps_db,
            "--basemap",
            "none",
            "--days",
            "3650",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output
    html = out.read_text(encoding="utf-8")
    assert remote_urls(html) == [] and "/static/" not in html and "L.tileLayer" not in html
    assert re.search(r'<script src="data:text/javascript;charset=utf-8;base64,', html)
    assert "civgrid.initCommandMap" in html and "离线版" in html
    assert html.count('"layer":"community","label"') == 1
    assert html.count('"layer":"issues","label"') == 1
    assert '"owner_unit":' in html  # full popup data embedded (no API offline)
    assert '"draw":false' in html
    assert out.stat().st_size < 4_000_000


def test_heat_page_and_bad_options(maps_db, tmp_path):
    out = tmp_path / "heat.html"
    r = CliRunner().invoke(
        cli(),
        ["map", "-o", str(out), "--page", "heat", "--database-url", maps_db, "--days", "3650"],
    )
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "civgrid.initHeatMap" in html and '"hotspots":[{' in html
    r = CliRunner().invoke(cli(), ["map", "-o", str(out), "--page", "x", "--database-url", maps_db])
    assert r.exit_code != 0
    r = CliRunner().invoke(
        cli(), ["map", "-o", str(out), "--basemap", "baidu", "--database-url", maps_db]
    )
    assert r.exit_code != 0 and "basemap" in r.output.lower()
