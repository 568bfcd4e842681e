"""Ways into civgrid: the FastAPI app, its routers and the ``civgrid`` CLI."""
