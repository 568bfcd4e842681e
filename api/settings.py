"""Settings, read from the environment with the prefix ``CIVGRID_``.

One class per concern, as tipg/titiler do; :class:`Settings` gathers them.
Example: ``CIVGRID_DATABASE_URL=postgresql+psycopg://civgrid@db/civgrid``.

The city is one setting: ``CIVGRID_CITY`` names a shipped profile
(``sheqi``, the default: ``grids/profiles/sheqi.yaml``) or is the path of a
profile YAML file (anything ending in ``.yaml``/``.yml`` or containing a ``/``).
Its ``city:`` section (:mod:`civgrid.grids.core.city`) gives the county name,
the map centre and zoom, the time zone and the notice/bulletin number prefixes;
the app (:func:`civgrid.api.app.create_app`) and the CLI load it once and
everything reads it through :func:`civgrid.grids.core.city.current_city`.
``CIVGRID_TIME_ZONE`` (an IANA name) overrides the profile's time zone; it is the
only time-zone setting (the issue calendar's former ``CIVGRID_TIMEZONE`` is gone:
every county-local day is read in :func:`civgrid.grids.core.calendar.local_zone`).
The profile's ``city:`` section also gives the default deadlines (``deadlines:``),
patrol cadences (``patrol:``) and the scoring profile (``scoring_profile:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from civgrid.grids.core.city import City

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
    city: str = Field(
        default="sheqi",
        description="The city profile: a shipped profile name or the path of a profile YAML.",
    )
    time_zone: str | None = Field(
        default=None, description="IANA time zone overriding the city profile's (rarely needed)."
    )
    basemap_url: str | None = Field(
        default=None,
        description="XYZ/WMTS tile URL template; empty = offline blank background.",
    )
    basemap_attribution: str = Field(default="", description="Attribution for the tiles.")
    basemap_crs: str = Field(
        default="wgs84",
        description="CRS of the tiles: wgs84/cgcs2000 (Tianditu) or gcj02 (Amap, Tencent).",
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="SQLite: seconds a writer waits for the lock before the request "
        "is answered 503 (Retry-After).",
    )
    build_index_on_startup: bool = Field(
        default=True, description="Build the snap index from the active generation at start-up."
    )

    # ------------------------------------------------------------------ accounts
    secret_key: str | None = Field(
        default=None,
        description="Token signing key (HS256). Unset: a random key is generated once into "
        "<var_dir>/secret_key (dev); production sets CIVGRID_SECRET_KEY.",
        repr=False,
    )
    access_token_minutes: int = Field(default=30, ge=1, description="Access token lifetime.")
    refresh_token_hours: int = Field(default=12, ge=1, description="Refresh token lifetime.")
    password_max_age_days: int = Field(default=90, description="Password expiry (0 = never).")
    lockout_threshold: int = Field(default=5, ge=1, description="Failed logins before lockout.")
    lockout_minutes: int = Field(default=15, ge=1, description="Lockout duration.")
    login_rate: str = Field(
        default="10/60", description="Login attempts per client IP: count/seconds."
    )
    intake_rate: str = Field(
        default="20/60", description="Anonymous reports per client IP: count/seconds."
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For is believed: IPs or CIDRs, comma "
        "separated (empty: none; the peer address is the client).",
    )
    max_concurrent_requests: int = Field(
        default=7,
        ge=1,
        description="Requests a worker runs at once; more wait in line (matched to the "
        "database pool of 5 + 10 connections, a request using up to two).",
    )
    queue_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait in line before a request is answered 503 with Retry-After "
        "(one that would not start within it at the current completion rate is answered at "
        "once). A local choice: wait plus work within the 2 s promised under overload.",
    )
    map_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a worker reuses its answer of a heavy map read (the issue "
        "layer) for the same viewer and query, while this worker has committed no write "
        "(seconds; 0 = never). Another worker's writes show after at most this long. "
        "A local choice: a map reloads a layer when its filters change or the page is "
        "reloaded, seconds apart.",
    )
    generation_poll_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often each worker checks for a newly activated boundary generation "
        "(seconds; 0 = never, the index is rebuilt only at start-up).",
    )
    intake_max_bytes: int = Field(
        default=12 * 1024 * 1024, description="Largest anonymous report body (bytes)."
    )
    json_max_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body that is not multipart (JSON, forms): 413 above.",
    )
    upload_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest multipart/form-data body (photos, uploads): 413 above.",
    )
    open311_api_keys: str = Field(
        default="",
        description="Open311 client keys, comma separated; when set, POST requests needs one.",
        repr=False,
    )
    audit_retention_days: int = Field(
        default=365, ge=180, description="Audit records are kept this long (≥ 180 days)."
    )
    cookie_secure: bool = Field(
        default=False, description="Mark the session cookie Secure (set behind HTTPS)."
    )
    # notifications (docs/notifications.md); robots' webhooks are contacts, not settings
    notify_worker: bool = Field(
        default=False, description="Run the notification worker inside `civgrid serve`."
    )
    notify_interval_seconds: float = Field(
        default=15.0, gt=0, description="Pause between the notification worker's passes."
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mail (empty: no e-mail).")
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS on the SMTP link.")
    smtp_user: str = Field(default="", description="SMTP login (empty: none).")
    smtp_password: str = Field(default="", description="SMTP password.", repr=False)
    smtp_from: str = Field(default="civgrid@localhost", description="The e-mail sender.")
    smtp_cafile: str = Field(default="", description="CA file for STARTTLS (default: system).")
    sms_gateway_url: str = Field(default="", description="SMS gateway URL (empty: no SMS).")
    sms_sign_name: str = Field(default="", description="SMS signature (签名).")
    sms_templates: str = Field(
        default="", description="SMS template ids per event kind: kind=id,kind=id."
    )

    @property
    def county_name(self) -> str:
        """The jurisdiction shown in the UI: the selected city's county name."""
        from civgrid.grids.core.city import current_city

        return current_city().county_name

    def activate_city(self) -> City:
        """Load :attr:`city` and make it (and its time zone) the current one."""
        from civgrid.grids.core.city import activate_city

        return activate_city(self.city, time_zone=self.time_zone)
