"""ASGI entry point for uvicorn: ``uvicorn civgrid.api.asgi:app``."""

from civgrid.api.app import create_app

# a served worker lives long: what it holds after start-up is frozen out of the
# garbage collector's full collections (see create_app)
app = create_app(freeze_gc=True)
