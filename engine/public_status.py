"""进度查询: what a member of the public may see of a case, by its receipt number and the check code printed on
its receipt (and in the receipt's QR code). One home for the public page and the public API.

What is shown, and nothing more: the item, the department, where the case stands (the running stages), the
acceptance date, the promised and statutory due dates, the clock-stop periods with their reason, the one-time
notice (the missing materials) and the result. No officer names, no opinions, no other case data. A wrong code
and an unknown number get the same answer (None), compared in constant time, so receipt numbers cannot be
enumerated.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine import stages
from engine.deadlines import CLOCK_STOP_REASONS
from engine.store import AuditEvent, Case, ClockStop

CHECK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off paper and typed on a phone
CHECK_LENGTH = 6
MAX_RECEIPT = 64


def new_check_code() -> str:
    return "".join(secrets.choice(CHECK_ALPHABET) for _ in range(CHECK_LENGTH))


def normalised_code(code: str | None) -> str:
    """A check code as typed: case and spaces do not matter."""
    return "".join((code or "").split()).upper()


@dataclass(frozen=True)
class ClockStopShown:
    reason: str  # a clock-stop reason key (the pages name it through their one home)
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class PublicStatus:
    receipt_no: str
    item_name: str | None
    department: str | None
    status: str  # running | suspended | completed | terminated | error
    stages: list[str]  # stage keys running now (engine.stages names them)
    accepted_at: datetime
    completed_at: datetime | None
    promised_due: datetime | None
    statutory_due: datetime | None
    provisional: bool
    clock_stops: list[ClockStopShown] = field(default_factory=list)
    missing_materials: list[str] = field(default_factory=list)  # the one-time notice, while it stands
    results: list[str] = field(default_factory=list)  # the result end events' `result` property, as reached

    def as_json(self) -> dict:
        def at(value):
            return value.isoformat() if value else None

        return {
            "receipt_no": self.receipt_no, "item_name": self.item_name, "department": self.department,
            "status": self.status, "stages": self.stages, "accepted_at": at(self.accepted_at),
            "completed_at": at(self.completed_at), "promised_due": at(self.promised_due),
            "statutory_due": at(self.statutory_due), "provisional": self.provisional,
            "clock_stops": [{"reason": s.reason, "started_at": at(s.started_at), "ended_at": at(s.ended_at)}
                            for s in self.clock_stops],
            "missing_materials": self.missing_materials, "results": self.results,
        }  # fmt: skip


def look_up(engine, receipt_no: str | None, code: str | None) -> PublicStatus | None:
    """The public status of the case with this receipt number, if `code` is its check code; None otherwise
    (the same None for an unknown number, a wrong code, or input that cannot be either)."""
    receipt_no = (receipt_no or "").strip()
    given = normalised_code(code)
    if not receipt_no or len(receipt_no) > MAX_RECEIPT or not given or len(given) > 16:
        return None
    with engine.db.lookup_session() as session:
        case = session.scalars(select(Case).where(Case.receipt_no == receipt_no)).first()
        expected = case.check_code if case is not None and case.check_code else new_check_code()
        if not hmac.compare_digest(expected.encode(), given.encode()) or case is None:
            return None
        stops = list(session.scalars(select(ClockStop).where(ClockStop.case_id == case.id)
                                     .order_by(ClockStop.started_at)))  # fmt: skip
        completed = [bpmn_id for payload in session.scalars(
            select(AuditEvent.payload).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)
        ) for bpmn_id in (payload or {}).get("completed", [])]  # fmt: skip
        elements = engine.bundle(session, case.process_version_id).elements
        view = _view(engine, case, stops, completed, elements)
    return view


def _view(engine, case: Case, stops: list[ClockStop], completed: list[str], elements: dict) -> PublicStatus:
    limits = engine.deadlines.case_limits(case.id)
    whole = limits.case
    data = case.data or {}
    running = [s.stage for s in limits.stages if s.running and s.stage != "case"]
    results = []
    for bpmn_id in completed:
        result = ((elements.get(bpmn_id) or {}).get("properties") or {}).get("result")
        if result and result not in results:
            results.append(result)
    waiting = any(s.reason == "supplement" and s.ended_at is None for s in stops) or "supplement" in (
        data.get("accept_outcome"),
        data.get("outcome"),
    )
    missing = _missing(data) if waiting else []
    return PublicStatus(
        receipt_no=case.receipt_no, item_name=data.get("item_name"), department=data.get("department"),
        status=case.status, stages=running if case.status == "running" else [], accepted_at=case.created_at,
        completed_at=case.completed_at, promised_due=whole.promised_due if whole else None,
        statutory_due=whole.statutory_due if whole else None, provisional=bool(whole and whole.provisional),
        clock_stops=[ClockStopShown(s.reason, s.started_at, s.ended_at) for s in stops],
        missing_materials=missing if case.status == "running" else [],
        results=results,
    )  # fmt: skip


def public_json(engine, view: PublicStatus) -> dict:
    """The public status as the public API gives it: codes with the Chinese names a person reads."""
    departments = {d.code: d.name for d in engine.identity.departments()}
    body = view.as_json()
    body["department_name"] = departments.get(view.department or "", view.department)
    body["stages"] = [{"key": s, "name": stages.stage_label(s, instance_name=lambda c: departments.get(c, c))}
                      for s in view.stages]  # fmt: skip
    for stop in body["clock_stops"]:
        stop["reason_name"] = CLOCK_STOP_REASONS.get(stop["reason"], stop["reason"])
    return body


def _missing(data: dict) -> list[str]:
    """The one-time notice's list: the notice the procedure issued, else the required materials the acceptance
    checklist records as not provided."""
    notice = data.get("supplement_notice")
    if isinstance(notice, dict) and isinstance(notice.get("items"), list):
        return [str(m) for m in notice["items"]]
    rows = [m for m in data.get("materials") or [] if isinstance(m, dict)]
    listed = [str(m.get("name", "")) for m in rows if m.get("required") and not m.get("provided")]
    return listed or [str(m) for m in data.get("missing_materials") or []]
