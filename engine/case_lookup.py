"""Finding a case by its id or by its receipt number (办件编号, the applicant's lookup key): the one look-up the
services and the supervision area use, with the one answer for a case that is not there."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.errors import NotFound
from engine.store import Case

_BY_RECEIPT = select(Case).where(Case.receipt_no == bindparam("ref"))


def case_not_found(ref: str) -> NotFound:
    """The error for a case that does not exist (or that the asker may not know of: the same words)."""
    return NotFound(f"case {ref} does not exist")


def find_case(session, ref: str) -> Case:
    """The case with id `ref`, else the one with receipt number `ref`; NotFound when neither exists."""
    case = session.get(Case, ref) or session.scalars(_BY_RECEIPT, {"ref": ref}).first()
    if case is None:
        raise case_not_found(ref)
    return case
