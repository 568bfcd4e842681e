"""Accounts: users, the account service and permissions (``Scope`` implements
:class:`civgrid.grids.core.actors.Guard`).
"""
