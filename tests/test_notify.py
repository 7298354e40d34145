"""The notification outbox: e-mail through a real SMTP server on loopback, SMS through a real HTTP gateway on
loopback, retries with back-off, and the in-app inbox."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import notify
from engine.store import Notification


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def sms_gateway():
    """A loopback SMS gateway; `answers` is the list of HTTP statuses to give, then 200."""
    received: list[dict] = []
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"json": json.loads(body), "auth": self.headers.get("Authorization")})
            status = answers.pop(0) if answers else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sms", received, answers
    server.shutdown()
    server.server_close()


def _queue(engine, channel, recipient, subject="红牌督办：QX-1", body="办件已超过法定期限"):
    with engine.db.write_session() as session, session.begin():
        row = notify.enqueue(engine, session, channel, recipient, subject, body, engine.now(), case_id=None)
        session.flush()
        return row.id if row else None


def _row(engine, row_id) -> Notification:
    with engine.db.session() as s:
        return s.get(Notification, row_id)


def test_email_goes_through_a_real_smtp_server(engine, smtp_server):
    controller, mailbox = smtp_server
    engine.notification_channels = {"email": notify.EmailChannel(controller.hostname, controller.port,
                                                                  sender="jiancha@example.gov.cn")}  # fmt: skip
    engine.contacts = {"wang.juzhang": {"email": "wang@example.gov.cn"}}
    row_id = _queue(engine, "email", "wang.juzhang")
    report = notify.dispatch(engine)
    assert (report.sent, report.failed) == (1, 0)
    ((to, message),) = mailbox.messages
    assert to == ["wang@example.gov.cn"] and message["From"] == "jiancha@example.gov.cn"
    assert str(make_header(decode_header(message["Subject"]))) == "红牌督办：QX-1"
    assert "办件已超过法定期限" in message.get_payload(decode=True).decode("utf-8")
    row = _row(engine, row_id)
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    assert notify.dispatch(engine).sent == 0  # sent once


def test_sms_is_posted_to_the_configured_gateway(engine, sms_gateway):
    url, received, _ = sms_gateway
    engine.notification_channels = {"sms": notify.SmsGateway(url, token="secret-token")}
    engine.contacts = {"li.shencha": {"phone": "13900000002"}}
    row_id = _queue(engine, "sms", "li.shencha", "黄牌预警：QX-1", "审查环节剩余 2 个工作日")
    assert notify.dispatch(engine).sent == 1
    assert received == [{"json": {"to": "13900000002", "text": "【黄牌预警：QX-1】审查环节剩余 2 个工作日"},
                         "auth": "Bearer secret-token"}]  # fmt: skip
    assert _row(engine, row_id).state == "sent"


def test_failed_delivery_is_retried_with_back_off_then_marked_failed(engine, clock, sms_gateway):
    url, received, answers = sms_gateway
    answers.extend([503] * notify.MAX_ATTEMPTS)
    engine.notification_channels = {"sms": notify.SmsGateway(url)}
    engine.contacts = {"li.shencha": {"phone": "13900000002"}}
    row_id = _queue(engine, "sms", "li.shencha")
    assert notify.dispatch(engine).retried == 1
    row = _row(engine, row_id)
    assert row.state == "pending" and "HTTP 503" in row.last_error
    assert notify.dispatch(engine).retried == 0  # waits for its back-off (1 minute)
    for attempt in range(2, notify.MAX_ATTEMPTS + 1):
        clock.advance(minutes=2 ** (attempt - 2))
        notify.dispatch(engine)
    row = _row(engine, row_id)
    assert row.state == "failed" and row.attempts == notify.MAX_ATTEMPTS and len(received) == notify.MAX_ATTEMPTS
    clock.advance(timedelta(hours=1))
    assert notify.dispatch(engine).sent == 0


def test_unconfigured_channel_is_reported_on_the_row(engine):
    engine.notification_channels = {}
    engine.contacts = {"wang.juzhang": {"email": "wang@example.gov.cn"}}
    row_id = _queue(engine, "email", "wang.juzhang")
    notify.dispatch(engine)
    assert "email is not configured" in _row(engine, row_id).last_error


def test_in_app_is_delivered_by_writing_and_email_needs_an_address(engine):
    engine.contacts = {}
    assert _queue(engine, "email", "nobody") is None  # no address: nothing queued, no failure noise
    row_id = _queue(engine, "in_app", "reviewer@qx-scjg")
    (note,) = notify.inbox(engine, ["li.shencha", "reviewer@qx-scjg"], unread_only=True)
    assert note.id == row_id and note.state == "sent"
    notify.mark_read(engine, row_id)
    assert notify.inbox(engine, ["reviewer@qx-scjg"], unread_only=True) == []
    with pytest.raises(ValueError, match="channel 'fax'"):
        _queue(engine, "fax", "li.shencha")
    with engine.db.session() as s:
        assert len(s.scalars(select(Notification)).all()) == 1


def test_channels_are_read_from_the_environment():
    channels = notify.channels_from_env({"GOVFLOW_SMTP_HOST": "mail.example.gov.cn", "GOVFLOW_SMTP_PORT": "587",
                                         "GOVFLOW_SMTP_STARTTLS": "1", "GOVFLOW_SMS_URL": "https://sms.example/send"})  # fmt: skip
    assert channels["email"] == notify.EmailChannel("mail.example.gov.cn", 587, starttls=True)
    assert channels["sms"] == notify.SmsGateway("https://sms.example/send")
    assert notify.channels_from_env({}) == {}
