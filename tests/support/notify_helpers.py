"""Helpers of the notification tests: accounts, an issue dispatched to a unit, a recording
channel and local receivers (HTTP robots/SMS gateway, SMTP) started by the tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from civgrid.grids.accounts.models import User
from civgrid.grids.core.actors import Actor
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.service import IssueReport
from civgrid.grids.notify.channels import DeliveryError, Outgoing

CC = Actor("指挥中心", "command_center")
GW = Actor("网格员甲", "grid_worker")
#: Far outside the county: the report waits in triage until dispatched by hand.
OUTSIDE = (116.40, 39.90)


def add_user(session, username: str, role: str, *, unit=None, leader=None) -> User:
    u = User(
        username=username,
        title=f"{role} title",
        role=role,
        unit_key=unit,
        leader_key=leader,
        password_hash="x",
        password_changed_at=datetime(2025, 1, 1, tzinfo=UTC),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    session.add(u)
    session.flush()
    return u


def dispatched_issue(session, store, config, unit: str = "D03", n: int = 0) -> int:
    """Report an issue outside the county (``n`` km apart) and dispatch it to ``unit``."""
    lon, lat = OUTSIDE[0] + 0.01 * n, OUTSIDE[1]
    issue = svc.report_issue(
        session,
        store,
        GW,
        IssueReport("street_vending", "grid_worker", lon, lat),
        None,
        config=config,
    ).issue
    svc.dispatch(session, CC, issue.id, unit=unit, note="交界处", config=config)
    return issue.id


@dataclass
class Recorder:
    """A channel that records what it is given; fails the first ``fail`` sends."""

    fail: int = 0
    sent: list[Outgoing] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outgoing) -> None:
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                raise DeliveryError("receiver down")
            self.sent.append(message)


@dataclass
class Receiver:
    """A local HTTP receiver (robot webhook / SMS gateway): what it got, its answers."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0  # answer 500 to this many requests first
    ok: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})


@contextmanager
def http_receiver(path: str = "/hook", **kw: Any) -> Iterator[Receiver]:
    """Start a local HTTP receiver on a free port; stop it after the block."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box[0]
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if rec.failures > 0:
                rec.failures -= 1
                self.send_response(500)
                self.end_headers()
                return
            u = urlsplit(self.path)
            rec.requests.append(
                {
                    "path": u.path,
                    "query": {k: v[0] for k, v in parse_qs(u.query).items()},
                    "headers": dict(self.headers),
                    "json": json.loads(raw),
                }
            )
            body = json.dumps(rec.ok).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_port}{path}", **kw))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        t.join()


@dataclass
class Mailbox:
    """What the local SMTP server received: (envelope, whether the link was TLS)."""

    host: str
    port: int
    cafile: str
    mails: list[tuple[Any, bool]] = field(default_factory=list)


@contextmanager
def smtp_server(tmp_path) -> Iterator[Mailbox]:
    """A local aiosmtpd server that requires STARTTLS (a throwaway self-signed certificate)."""
    import socket
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    cert, key = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox("localhost", port, str(cert))

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            box.mails.append((envelope, session.ssl is not None))
            return "250 OK"

    ctl = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True
    )
    ctl.start()
    try:
        yield box
    finally:
        ctl.stop()
