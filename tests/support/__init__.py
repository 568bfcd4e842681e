"""Helpers shared by the test folders, imported as ``support.x`` (``tests`` is on pytest's
pythonpath): accounts and clients, demo-county stores, the PostGIS cluster, schema diffs,
issue/patrol/map fixtures data and the simulated season."""
