"""The channels against local receivers started by the tests: SMTP with STARTTLS, the
DingTalk (signed) and WeCom robots, the SMS gateway; a receiver failing twice gets one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from civgrid.grids.notify.channels import (
    DeliveryError,
    DingTalkChannel,
    EmailChannel,
    Outgoing,
    SmsChannel,
    WeComChannel,
)
from civgrid.grids.notify.models import Contact, OutboxMessage
from civgrid.grids.notify.worker import NotifyConfig, Worker
from support.notify_helpers import dispatched_issue, http_receiver, smtp_server

SECRET = "SEC-test-secret"


def test_every_channel_delivers_once_with_the_stable_message_id(store, config, clock, tmp_path):
    with (
        smtp_server(tmp_path) as mailbox,
        http_receiver("/robot/send", failures=2) as ding,
        http_receiver("/cgi-bin/webhook/send") as wecom,
        http_receiver("/sms", ok={"Code": "OK", "Message": "OK"}) as gateway,
    ):
        with store.session() as s:
            s.add_all(
                [
                    Contact(owner="unit:D03", channel="email", address="d03@example.org"),
                    Contact(
                        owner="unit:D03",
                        channel="dingtalk",
                        address=f"{ding.url}?access_token=T0",
                        secret=SECRET,
                    ),
                    Contact(owner="unit:D03", channel="wecom", address=f"{wecom.url}?key=K0"),
                    Contact(owner="unit:D03", channel="sms", address="10000000000"),
                ]
            )
            issue_id = dispatched_issue(s, store, config)
        channels = {
            "email": EmailChannel(mailbox.host, mailbox.port, starttls=True, cafile=mailbox.cafile),
            "dingtalk": DingTalkChannel(),
            "wecom": WeComChannel(),
            "sms": SmsChannel(gateway.url, "创文办", {"issue_dispatched": "SMS_100"}),
        }
        w = Worker(store.engine, channels, NotifyConfig(clock=clock, backoff_s=10))
        for _ in range(4):  # the robot fails twice; later passes after the backoff
            w.run_until_idle()
            clock.advance(minutes=5)
        with store.session() as s:
            rows = {r.channel: r for r in s.scalars(select(OutboxMessage))}
        assert {c: r.status for c, r in rows.items()} == dict.fromkeys(channels, "sent")
        assert rows["dingtalk"].attempts == 3

        # e-mail: over STARTTLS, one message, the stable id, the Chinese subject
        assert len(mailbox.mails) == 1
        envelope, tls = mailbox.mails[0]
        mail = message_from_bytes(envelope.content)
        assert tls and envelope.rcpt_tos == ["d03@example.org"]
        assert mail["Message-ID"] == f"<{rows['email'].message_id}>"
        assert str(make_header(decode_header(mail["Subject"]))) == "问题交办"

        # DingTalk: one message after two failures, signed as DingTalk documents it
        assert len(ding.requests) == 1
        req = ding.requests[0]
        ts = req["query"]["timestamp"]
        expect = base64.b64encode(
            hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
        ).decode()
        assert req["query"]["sign"] == expect and req["query"]["access_token"] == "T0"
        assert req["json"]["msgtype"] == "text"
        assert f"问题#{issue_id}" in req["json"]["text"]["content"]
        assert req["headers"]["X-Civgrid-Message-Id"] == rows["dingtalk"].message_id

        # WeCom: the text message to the key's webhook
        assert len(wecom.requests) == 1 and wecom.requests[0]["query"] == {"key": "K0"}
        assert wecom.requests[0]["json"]["msgtype"] == "text"

        # SMS: template id and parameters, the message id as OutId
        (sms,) = gateway.requests
        assert sms["json"]["TemplateCode"] == "SMS_100"
        assert sms["json"]["PhoneNumbers"] == "10000000000"
        assert json.loads(sms["json"]["TemplateParam"])["issue"] == str(issue_id)
        assert sms["json"]["OutId"] == rows["sms"].message_id


def test_robot_and_gateway_error_answers_are_failures():
    msg = Outgoing("m1@civgrid", None, "t", "b", "issue_notice", {"issue": 7})
    with http_receiver(ok={"errcode": 310000, "errmsg": "sign not match"}) as bad:
        with pytest.raises(DeliveryError, match="310000"):
            DingTalkChannel().send(Outgoing(**{**vars(msg), "address": bad.url}))
        with pytest.raises(DeliveryError, match="310000"):
            WeComChannel().send(Outgoing(**{**vars(msg), "address": bad.url}))
        assert len(bad.requests) == 2
    with http_receiver(ok={"Code": "isv.BUSINESS_LIMIT_CONTROL"}) as gw:
        sms = SmsChannel(gw.url, "创文办", {"issue_notice": "SMS_1"})
        with pytest.raises(DeliveryError, match="BUSINESS_LIMIT"):
            sms.send(Outgoing(**{**vars(msg), "address": "10000000000"}))
        with pytest.raises(DeliveryError, match="no SMS template"):
            sms.send(Outgoing(**{**vars(msg), "address": "1", "kind": "issue_overdue"}))
