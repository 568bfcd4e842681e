"""Delivery channels as adapters: in-app, e-mail (SMTP), DingTalk and WeCom robots, SMS.

Each adapter has one method, ``send(message)``, that returns when the receiver took
the message and raises :class:`DeliveryError` when it did not (the worker retries).
Every adapter passes the stable message id on: the ``Message-ID`` header of an
e-mail, the ``X-Civgrid-Message-Id`` header of a webhook, ``OutId`` of an SMS.

* :class:`EmailChannel` — SMTP, optionally STARTTLS (and login).
* :class:`DingTalkChannel` — a DingTalk custom group robot (自定义机器人): a POST of
  ``{"msgtype": "text", "text": {"content": …}}`` to the webhook; with a secret
  (加签) the URL gets ``timestamp`` (ms) and ``sign`` = urlencode(base64(
  HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))), as DingTalk documents it.
  The answer ``{"errcode": 0}`` is success.
* :class:`WeComChannel` — a WeCom group robot (群机器人): the same text message shape
  to ``…/cgi-bin/webhook/send?key=…``; ``errcode`` 0 is success.
* :class:`SmsChannel` — an SMS gateway taking a template id and parameters, the shape
  the Chinese cloud SMS services use (``PhoneNumbers``, ``SignName``,
  ``TemplateCode``, ``TemplateParam`` as a JSON string, ``OutId``); ``Code`` ``OK`` is
  success. A real provider's request signing belongs in a gateway in front of it
  (a local choice: civgrid keeps no provider SDK).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol

__all__ = [
    "Channel",
    "DeliveryError",
    "DingTalkChannel",
    "EmailChannel",
    "InAppChannel",
    "Outgoing",
    "SmsChannel",
    "WeComChannel",
    "dingtalk_sign",
]


class DeliveryError(Exception):
    """The receiver did not take the message (the worker retries with backoff)."""


@dataclass(frozen=True)
class Outgoing:
    """What a channel sends: stable id, address (and secret), text, event kind and facts."""

    message_id: str
    address: str | None
    title: str
    body: str
    kind: str
    facts: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None


class Channel(Protocol):
    """A delivery adapter."""

    def send(self, message: Outgoing) -> None: ...


class InAppChannel:
    """The in-app centre: the outbox row itself is the notification; sending marks it sent."""

    def send(self, message: Outgoing) -> None:
        return None


@dataclass
class EmailChannel:
    """E-mail over SMTP (port 25/587), STARTTLS when ``starttls``; login when ``username``."""

    host: str
    port: int = 25
    sender: str = "civgrid@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout_s: float = 10.0

    def send(self, message: Outgoing) -> None:
        if not message.address:
            raise DeliveryError("no e-mail address")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.title
        mail["Message-ID"] = f"<{message.message_id}>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.cafile))
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc


def _post_json(url: str, body: dict[str, Any], message_id: str, timeout_s: float) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Civgrid-Message-Id": message_id,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            raw = resp.read()
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryError(f"POST {urllib.parse.urlsplit(url).netloc}: {exc}") from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as exc:
        raise DeliveryError(f"not JSON: {raw[:100]!r}") from exc
    return answer if isinstance(answer, dict) else {}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's robot signature (加签), URL-encoded.

    >>> dingtalk_sign("SEC000", 1700000000000)
    'ltBBey5eZrWKh1cPzFIdz3v3xpkc4Tjx4lLsPSHqdtA%3D'
    """
    msg = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def _text(message: Outgoing) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": f"【{message.title}】{message.body}"}}


@dataclass
class DingTalkChannel:
    """A DingTalk group robot; ``message.address`` is the webhook, ``secret`` signs it."""

    timeout_s: float = 10.0
    clock_ms: Any = field(default=lambda: int(time.time() * 1000))

    def url(self, message: Outgoing) -> str:
        """The webhook URL, signed when the contact has a secret."""
        if not message.address:
            raise DeliveryError("no robot webhook")
        if not message.secret:
            return message.address
        ts = int(self.clock_ms())
        sep = "&" if "?" in message.address else "?"
        return f"{message.address}{sep}timestamp={ts}&sign={dingtalk_sign(message.secret, ts)}"

    def send(self, message: Outgoing) -> None:
        answer = _post_json(self.url(message), _text(message), message.message_id, self.timeout_s)
        if answer.get("errcode") != 0:
            raise DeliveryError(f"DingTalk errcode {answer.get('errcode')}: {answer.get('errmsg')}")


@dataclass
class WeComChannel:
    """A WeCom group robot; ``message.address`` is the webhook (``…/webhook/send?key=…``)."""

    timeout_s: float = 10.0

    def send(self, message: Outgoing) -> None:
        if not message.address:
            raise DeliveryError("no robot webhook")
        answer = _post_json(message.address, _text(message), message.message_id, self.timeout_s)
        if answer.get("errcode") != 0:
            raise DeliveryError(f"WeCom errcode {answer.get('errcode')}: {answer.get('errmsg')}")


#: Facts passed as template parameters (short: SMS templates take few variables).
SMS_PARAMS = ("issue", "deadline", "notice")


@dataclass
class SmsChannel:
    """An SMS gateway: ``templates`` maps an event kind to the provider's template id."""

    gateway_url: str
    sign_name: str
    templates: dict[str, str]
    timeout_s: float = 10.0

    def send(self, message: Outgoing) -> None:
        if not message.address:
            raise DeliveryError("no mobile number")
        template = self.templates.get(message.kind)
        if template is None:
            raise DeliveryError(f"no SMS template for {message.kind}")
        params = {k: str(message.facts[k]) for k in SMS_PARAMS if message.facts.get(k)}
        body = {
            "PhoneNumbers": message.address,
            "SignName": self.sign_name,
            "TemplateCode": template,
            "TemplateParam": json.dumps(params, ensure_ascii=False),
            "OutId": message.message_id,
        }
        answer = _post_json(self.gateway_url, body, message.message_id, self.timeout_s)
        if answer.get("Code") != "OK":
            raise DeliveryError(f"SMS gateway {answer.get('Code')}: {answer.get('Message')}")
