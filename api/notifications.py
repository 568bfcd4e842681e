"""The notification worker's channels from the settings, and its background task in serve.

``CIVGRID_NOTIFY_WORKER=true`` runs :func:`notify_loop` inside ``civgrid serve`` (off by
default; ``civgrid notify run`` is the same worker as a process). E-mail needs
``CIVGRID_SMTP_HOST``, SMS ``CIVGRID_SMS_GATEWAY_URL`` and ``CIVGRID_SMS_TEMPLATES``;
robots need nothing here (each unit's webhook is its contact). Without any, only the
in-app centre is served — the offline demo.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from civgrid.api.settings import Settings

log = logging.getLogger("civgrid.notify")


def sms_templates(value: str) -> dict[str, str]:
    """Parse ``kind=id,kind=id``.

    >>> sms_templates("issue_notice=SMS_1, issue_escalated=SMS_2")
    {'issue_notice': 'SMS_1', 'issue_escalated': 'SMS_2'}
    """
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        kind, sep, template = part.partition("=")
        if not sep or not kind.strip() or not template.strip():
            raise ValueError(f"CIVGRID_SMS_TEMPLATES: {part!r} is not kind=template_id")
        out[kind.strip()] = template.strip()
    return out


def channels_from_settings(settings: Settings) -> dict[str, Any]:
    """The configured channel adapters (in-app is always there)."""
    from civgrid.grids.notify.channels import (
        DingTalkChannel,
        EmailChannel,
        SmsChannel,
        WeComChannel,
    )

    channels: dict[str, Any] = {"dingtalk": DingTalkChannel(), "wecom": WeComChannel()}
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_user or None,
            password=settings.smtp_password or None,
            cafile=settings.smtp_cafile or None,
        )
    if settings.sms_gateway_url:
        channels["sms"] = SmsChannel(
            settings.sms_gateway_url, settings.sms_sign_name, sms_templates(settings.sms_templates)
        )
    return channels


async def notify_loop(worker: Any, every_s: float) -> None:
    """Run the worker's passes in a thread, every ``every_s`` seconds, until cancelled."""
    while True:
        try:
            report = await asyncio.to_thread(worker.run_until_idle)
            if report.sent or report.failed:
                log.info("notifications: %s", report.to_text())
        except Exception:  # a database hiccup must not end the loop
            log.warning("notification pass failed", exc_info=True)
        await asyncio.sleep(every_s)
