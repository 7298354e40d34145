"""Notifications: a transactional outbox and its channels — in-app, e-mail (SMTP) and an SMS gateway (HTTP POST).

A notification is written in the same transaction as the alert it reports (so none is lost or sent for a step
that rolled back) and sent afterwards by `dispatch`, which the scheduler runs. In-app notifications are delivered
by being written. E-mail and SMS rows are leased before sending (at least once: a worker dying mid-send leaves
the row to be sent again when the lease ends) and retried with back-off, then marked failed.

Configuration (environment): GOVFLOW_SMTP_HOST, GOVFLOW_SMTP_PORT (25), GOVFLOW_SMTP_FROM, GOVFLOW_SMTP_USER,
GOVFLOW_SMTP_PASSWORD, GOVFLOW_SMTP_STARTTLS (1/0); GOVFLOW_SMS_URL, GOVFLOW_SMS_TOKEN. Addresses come from
`engine.contacts` (a callable or mapping: user → {"email", "phone"}), else a TOML file named by GOVFLOW_CONTACTS
(`[users.<name>] email = "...", phone = "..."`).
"""

from __future__ import annotations

import json
import os
import smtplib
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import String, and_, bindparam, case, func, literal, select, union_all, update

from engine.errors import NotFound
from engine.identity import absences_in_force
from engine.store import Case, Notification, SupervisionAlert
from engine.store.identity import Absence, Membership

CHANNELS = ("in_app", "email", "sms")
MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int = 25
    sender: str = "govflow@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, address, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


@dataclass(frozen=True)
class SmsGateway:
    """An SMS gateway reached by HTTP POST of JSON {"to", "text"}; any 2xx answer means accepted."""

    url: str
    token: str | None = None
    timeout: float = 10.0

    def send(self, address: str, subject: str, body: str) -> None:
        payload = json.dumps({"to": address, "text": f"【{subject}】{body}"}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                response.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"SMS gateway answered HTTP {exc.code} {exc.reason}") from None


def channels_from_env(env=os.environ) -> dict[str, object]:
    """The e-mail and SMS channels configured in the environment (absent ones are left out)."""
    out: dict[str, object] = {}
    if env.get("GOVFLOW_SMTP_HOST"):
        out["email"] = EmailChannel(
            env["GOVFLOW_SMTP_HOST"], int(env.get("GOVFLOW_SMTP_PORT", "25")),
            env.get("GOVFLOW_SMTP_FROM", "govflow@localhost"), env.get("GOVFLOW_SMTP_USER"),
            env.get("GOVFLOW_SMTP_PASSWORD"), env.get("GOVFLOW_SMTP_STARTTLS", "0") == "1",
        )  # fmt: skip
    if env.get("GOVFLOW_SMS_URL"):
        out["sms"] = SmsGateway(env["GOVFLOW_SMS_URL"], env.get("GOVFLOW_SMS_TOKEN"))
    return out


def channels_of(engine) -> dict[str, object]:
    """The engine's channels: `engine.notification_channels` if set, else from the environment."""
    configured = getattr(engine, "notification_channels", None)
    if configured is None:
        configured = engine.notification_channels = channels_from_env()
    return configured


def contact_of(engine, name: str) -> dict:
    """{"email", "phone"} of a user (empty when unknown)."""
    contacts = getattr(engine, "contacts", None)
    if contacts is None:
        path = os.environ.get("GOVFLOW_CONTACTS")
        contacts = {}
        if path:
            try:
                with open(path, "rb") as fh:
                    contacts = tomllib.load(fh).get("users", {})
            except (OSError, tomllib.TOMLDecodeError):
                contacts = {}
        engine.contacts = contacts
    found = contacts(name) if callable(contacts) else contacts.get(name)
    return dict(found or {})


def enqueue(engine, session, channel: str, recipient: str, subject: str, body: str, now: datetime, *,
            case_id: str | None = None, alert_id: int | None = None) -> Notification | None:  # fmt: skip
    """Add a notification to the outbox in the caller's transaction. E-mail and SMS need an address for the
    recipient; without one nothing is queued (the in-app notification still reaches them)."""
    if channel not in CHANNELS:
        raise ValueError(f"notification channel {channel!r} is not one of {', '.join(CHANNELS)}")
    address = None
    if channel != "in_app":
        address = contact_of(engine, recipient).get("email" if channel == "email" else "phone")
        if not address:
            return None
    row = Notification(
        channel=channel, recipient=recipient, address=address, subject=subject[:300], body=body, case_id=case_id,
        alert_id=alert_id, state="sent" if channel == "in_app" else "pending", attempts=0, created_at=now,
        next_attempt_at=now, sent_at=now if channel == "in_app" else None,
    )  # fmt: skip
    session.add(row)
    return row


# The backups in force of some users (built once: bound at execution), by the identity rule of an absence in force.
_BACKUPS = absences_in_force(
    select(Absence.username, Absence.backup).where(Absence.username.in_(bindparam("names", expanding=True))),
    bindparam("now"),
).order_by(Absence.id)


@dataclass(frozen=True)
class Addressee:
    """Who receives a notification meant for `meant_for`: that person, or their AB backup while they are absent
    (a group name is its own recipient)."""

    recipient: str
    meant_for: str

    @property
    def covering(self) -> bool:
        return self.recipient != self.meant_for


def addressees(session, names: list[str], now: datetime) -> list[Addressee]:
    """Each of `names` as it is to be reached now: an absent colleague through their backup (AB岗, by the identity
    rule of an absence in force), everyone else in person; one statement, read without flushing the caller's
    pending rows."""
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        return []
    with session.no_autoflush:
        backups = dict(session.execute(_BACKUPS, {"names": names, "now": now}).all())  # the latest absence wins
    return [Addressee(backups.get(name, name), name) for name in names]


def enqueue_for(engine, session, addressee: Addressee, channels, subject: str, body: str, now: datetime, *,
                case_id: str | None = None, alert_id: int | None = None) -> list[Notification]:  # fmt: skip
    """Queue one message to an addressee on each of `channels`; a backup is told whom they receive it for."""
    if addressee.covering:
        body = f"（AB岗代收：原发给 {addressee.meant_for}）\n{body}"
    rows = (enqueue(engine, session, channel, addressee.recipient, subject, body, now, case_id=case_id,
                    alert_id=alert_id) for channel in channels)  # fmt: skip
    return [row for row in rows if row is not None]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def dispatch(engine, limit: int = 100) -> DispatchReport:
    """Send due e-mail and SMS notifications (one lease + one send + one result per row)."""
    report = DispatchReport()
    channels = channels_of(engine)
    for _ in range(limit):
        claimed = _lease_next(engine)
        if claimed is None:
            break
        row_id, channel, address, subject, body, attempts = claimed
        error = None
        sender = channels.get(channel)
        try:
            if sender is None:
                raise RuntimeError(f"{channel} is not configured (see GOVFLOW_SMTP_* / GOVFLOW_SMS_URL)")
            sender.send(address, subject, body)
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded on the row and retried
            error = f"{type(exc).__name__}: {exc}"[:2000]
        _record(engine, row_id, attempts, error, report)
    return report


def _lease_next(engine):
    now = engine.now()
    with engine.db.write_session() as session, session.begin():
        query = (
            select(Notification)
            .where(Notification.state == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(1)
        )
        if engine.db.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        row = session.scalars(query).first()
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        return row.id, row.channel, row.address, row.subject, row.body, row.attempts


def _record(engine, row_id: int, attempts: int, error: str | None, report: DispatchReport) -> None:
    now = engine.now()
    with engine.db.write_session() as session, session.begin():
        row = session.get(Notification, row_id)
        if error is None:
            row.state, row.sent_at, row.last_error = "sent", now, None
            report.sent += 1
        elif attempts >= MAX_ATTEMPTS:
            row.state, row.last_error = "failed", error
            report.failed += 1
        else:
            row.last_error = error
            row.next_attempt_at = now + timedelta(minutes=2 ** (attempts - 1))
            report.retried += 1


def inbox(engine, recipients: list[str], *, unread_only: bool = False, limit: int = 100) -> list[Notification]:
    """In-app notifications for a user and their groups, newest first."""
    query = select(Notification).where(Notification.channel == "in_app", Notification.recipient.in_(recipients))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    with engine.db.session() as session:
        return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def mark_read(engine, notification_id: int) -> None:
    with engine.db.write_session() as session, session.begin():
        row = session.get(Notification, notification_id)
        if row is not None and row.read_at is None:
            row.read_at = engine.now()


# -- one user's in-app notifications (the web's 我的通知)


@dataclass(frozen=True)
class InboxEntry:
    id: int
    recipient: str
    subject: str
    body: str
    case_id: str | None
    receipt_no: str | None
    alert_kind: str | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class InboxPage:
    entries: list[InboxEntry]
    total: int  # of the list shown (all, or the unread ones)
    unread: int
    page: int
    pages: int
    newest: int | None  # the id of the newest of them all: "mark all read" marks up to it, not what came after


def addressed_to(username: str, now: datetime):
    """The condition for the in-app notifications of `username`: addressed to them by name, or to a candidate
    group they act with now — their own groups and, as an AB backup, those of the absent colleagues they cover
    (as identity.actor computes them) and what was addressed to those colleagues by name. In SQL, so that
    counting them is a single statement."""
    group = Membership.role + "@" + Membership.department
    # The identity service's rule for an absence in force, so both agree on who covers whom.
    covering = absences_in_force(select(group).join(Absence, Absence.username == Membership.username)
                                       .where(Absence.backup == username), now)  # fmt: skip
    # One IN list of three indexed parts (the name, the own groups, the covered colleagues' groups), not "= name OR
    # IN (groups)": PostgreSQL then expects a handful of recipients and both databases read only their entries of
    # ix_notifications_inbox instead of every in-app notification.
    # A backup also reads what was addressed by name to the colleague they cover (AB岗: B acts for A).
    covered = absences_in_force(select(Absence.username).where(Absence.backup == username), now)
    recipients = union_all(select(literal(username, String)), select(group).where(Membership.username == username),
                           covering, covered)  # fmt: skip
    return and_(Notification.channel == "in_app", Notification.recipient.in_(recipients))


def unread_count(engine, username: str) -> int:
    """How many in-app notifications of the user are unread (one COUNT statement)."""
    query = select(func.count()).where(addressed_to(username, engine.now()), Notification.read_at.is_(None))
    with engine.db.lookup_session() as session:
        return session.scalar(query)


def inbox_page(engine, username: str, page: int = 1, per_page: int = 20, *, unread_only: bool = False) -> InboxPage:
    """One page of the user's in-app notifications, newest first, with the receipt number of their case and the
    kind of the alert they report; a page past the last is the last."""
    mine = addressed_to(username, engine.now())
    unread = func.coalesce(func.sum(case((Notification.read_at.is_(None), 1), else_=0)), 0)
    counts = select(func.count(), unread, func.max(Notification.id)).where(mine)
    query = (
        select(Notification, Case.receipt_no, SupervisionAlert.kind)
        .outerjoin(Case, Case.id == Notification.case_id)
        .outerjoin(SupervisionAlert, SupervisionAlert.id == Notification.alert_id)
        .where(mine)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    with engine.db.session() as session:
        everything, unread, newest = session.execute(counts).one()
        total = unread if unread_only else everything
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = session.execute(query.order_by(Notification.id.desc()).offset((page - 1) * per_page).limit(per_page))
        entries = [
            InboxEntry(n.id, n.recipient, n.subject, n.body, n.case_id, receipt_no, kind, n.created_at, n.read_at)
            for n, receipt_no, kind in rows
        ]
    return InboxPage(entries, total, unread, page, pages, newest)


def mark_read_by(engine, username: str, notification_id: int) -> None:
    """Mark one of the user's in-app notifications read; NotFound when it is not theirs (nor exists)."""
    now = engine.now()
    with engine.db.write_session() as session, session.begin():
        row = session.scalars(select(Notification).where(Notification.id == notification_id,
                                                         addressed_to(username, now))).first()  # fmt: skip
        if row is None:
            raise NotFound(f"notification {notification_id} does not exist")
        if row.read_at is None:
            row.read_at = now


def mark_all_read_by(engine, username: str, up_to: int | None = None) -> int:
    """Mark the user's unread in-app notifications read (those up to id `up_to`: the ones the page showed);
    returns how many."""
    now = engine.now()
    query = update(Notification).where(addressed_to(username, now), Notification.read_at.is_(None))
    if up_to is not None:
        query = query.where(Notification.id <= up_to)
    with engine.db.write_session() as session, session.begin():
        return session.execute(query.values(read_at=now).execution_options(synchronize_session=False)).rowcount
