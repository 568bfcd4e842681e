"""Where the vendored Leaflet assets live and the URLs the app serves them under.

Leaflet and its plugins are installed from npm at build time (``maps/package.json``
and its lock file; ``make assets``) into ``maps/static/vendor``. The app mounts that
folder at :data:`STATIC_URL`, so map pages work on an intranet with no internet.
"""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
STATIC_URL = "/static"

#: (name, path below the static mount) of every script a map page may load.
VENDOR_JS = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "markercluster": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "heat": "vendor/leaflet.heat/leaflet-heat.js",
    "draw": "vendor/leaflet-draw/leaflet.draw.js",
}
VENDOR_CSS = {
    "leaflet": "vendor/leaflet/leaflet.css",
    "markercluster": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markercluster_default": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "draw": "vendor/leaflet-draw/leaflet.draw.css",
}


def vendor_ready() -> bool:
    """True when ``make assets`` has copied the npm packages into place."""
    return all((STATIC_DIR / rel).is_file() for rel in (*VENDOR_JS.values(), *VENDOR_CSS.values()))


def static_url(rel: str) -> str:
    """URL of a file below the static folder, e.g. ``static_url(VENDOR_JS['leaflet'])``."""
    return f"{STATIC_URL}/{rel}"
