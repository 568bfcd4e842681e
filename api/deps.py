"""Annotated dependencies, so route signatures read like documentation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from civgrid.api.settings import Settings
from civgrid.grids.issue_config import SYSTEM_ACTOR, Actor
from civgrid.grids.store import Store


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The store opened by the lifespan."""
    return request.app.state.store


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """One database session per request, committed on success, rolled back on error."""
    with store.session() as session:
        yield session


def get_actor(
    x_actor: Annotated[
        str | None, Header(description="Who acts (until accounts exist); percent-encoded UTF-8.")
    ] = None,
    x_actor_role: Annotated[
        str | None,
        Header(description="Role: command_center, inspector, unit, grid_worker, citizen."),
    ] = None,
    x_actor_unit: Annotated[str | None, Header(description="Unit key of the actor.")] = None,
) -> Actor:
    """The actor of the request: from the X-Actor headers, else the system actor."""
    if not (x_actor or x_actor_role or x_actor_unit):
        return SYSTEM_ACTOR
    who = unquote(x_actor) if x_actor else "anonymous"  # headers are ASCII: percent-encode names
    return Actor(who, x_actor_role or "system", x_actor_unit)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
SessionDep = Annotated[Session, Depends(get_session)]
ActorDep = Annotated[Actor, Depends(get_actor)]
