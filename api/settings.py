"""Settings, read from the environment with the prefix ``CIVGRID_``.

One class per concern, as tipg/titiler do; :class:`Settings` gathers them.
Example: ``CIVGRID_DATABASE_URL=postgresql+psycopg://civgrid@db/civgrid``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Repository root when running from a checkout (api/ sits one level below it).
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR = ROOT / "var"


class Settings(BaseSettings):
    """Runtime configuration of one civgrid instance (one county)."""

    model_config = SettingsConfigDict(env_prefix="CIVGRID_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR / 'civgrid.sqlite'}",
        description="SQLAlchemy URL: SQLite file (embedded default) or postgresql+psycopg://…",
    )
    var_dir: Path = Field(default=DEFAULT_VAR, description="Writable data directory.")
    county_name: str = Field(default="社旗县", description="Jurisdiction shown in the UI.")
    basemap_url: str | None = Field(
        default=None,
        description="XYZ/WMTS tile URL template; empty = offline blank background.",
    )
    basemap_attribution: str = Field(default="", description="Attribution for the tiles.")
    basemap_crs: str = Field(
        default="wgs84",
        description="CRS of the tiles: wgs84/cgcs2000 (Tianditu) or gcj02 (Amap, Tencent).",
    )
    build_index_on_startup: bool = Field(
        default=True, description="Build the snap index from the active generation at start-up."
    )
