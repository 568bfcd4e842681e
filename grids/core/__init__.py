"""Shared core of the domain: database, migrations, errors, types, the calendar and time zone,
actors and the Guard protocol, the audit log, Chinese labels and the city profile.

Imports nothing else from ``civgrid.grids``.
"""
