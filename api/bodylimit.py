"""Request body size limits for every route (413 before the body is read or stored).

Two limits, by content type (local choice, settings ``json_max_bytes`` and
``upload_max_bytes``):

* ``multipart/form-data`` (photos, CSV and YAML uploads): ``upload_max_bytes``;
* everything else (JSON, forms, text): ``json_max_bytes`` — a report, a transition or
  a track is kilobytes, never megabytes.

A declared ``Content-Length`` above the limit is refused at once. A body without one
(chunked) is read up to the limit and refused when it goes past it; below it, it is
handed on unchanged. The anonymous intake keeps its own, lower limit on top
(:func:`civgrid.api.routers.issues.check_public_intake`).
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimitMiddleware:
    """Pure ASGI middleware answering 413 problem+json for oversized request bodies.

    Parameters
    ----------
    app : ASGI app
    json_max_bytes : int
        Limit of every body that is not multipart.
    upload_max_bytes : int
        Limit of ``multipart/form-data`` bodies.
    """

    def __init__(self, app: Any, *, json_max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.json_max_bytes = int(json_max_bytes)
        self.upload_max_bytes = int(upload_max_bytes)

    def limit_for(self, scope: Scope) -> int:
        """The limit of this request, by its content type."""
        ctype = ""
        for name, value in scope.get("headers") or ():
            if name == b"content-type":
                ctype = value.decode("latin-1").split(";")[0].strip().lower()
                break
        return self.upload_max_bytes if ctype == "multipart/form-data" else self.json_max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None:
            if declared > limit:
                await _too_large(send, limit)
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        # no length declared: read up to the limit, then replay what was read
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(send, limit)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        await self.app(
            scope,
            _replay([{"type": "http.request", "body": body, "more_body": False}], receive),
            send,
        )


def _replay(messages: list[Message], then: Any = None) -> Any:
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps(
        {
            "type": "civgrid:PayloadTooLargeError",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"the request body is larger than {limit} bytes",
            "field": "body",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
