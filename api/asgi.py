"""ASGI entry point for uvicorn: ``uvicorn civgrid.api.asgi:app``."""

from civgrid.api.app import create_app

app = create_app()
