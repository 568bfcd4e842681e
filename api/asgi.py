"""ASGI entry point for uvicorn: ``uvicorn civgrid.api.asgi:app``.

The served app settles its heap at start-up (:func:`civgrid.api.app.settle_heap_now`).
"""

from civgrid.api.app import create_app

app = create_app(settle_heap=True)
