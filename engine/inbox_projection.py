"""The inbox projection: the case facts an open task row carries so that the inbox never reads case JSON.

Every case step brings its open task rows in line (`follow`, called by the step's tasks phase,
engine/task_projection.py): the item, department and applicant of the case, a lower-cased search text for the
inbox's text filter, and the one candidate group the task is offered to when that is its only offer
(`offered_to`), which lets the inbox find a group's unclaimed tasks, with their due instants, in one range of an
index instead of joining the candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Between the fields of the search text: a text filter containing it could only match across two fields.
SEARCH_SEPARATOR = "\n"
# The search text is in a PostgreSQL index entry (at most 2,704 bytes with the other covered columns): 400
# characters are at most 1,600 bytes even in 4-byte characters; longer texts lose the end of the applicant's name.
SEARCH_TEXT_LENGTH = 400
FACTS = ("item_code", "item_name", "department", "applicant_name", "search_text")


def _text(value, length: int) -> str | None:
    if value is None or value == "":
        return None
    return str(value)[:length]


def case_facts(receipt_no: str, data: Mapping | None) -> dict[str, str | None]:
    """The columns a task row takes from its case (the lengths of the catalog's and the supervision's columns)."""
    data = data or {}
    applicant = data.get("applicant") if isinstance(data.get("applicant"), Mapping) else {}
    facts = {
        "item_code": _text(data.get("item_code"), 64),
        "item_name": _text(data.get("item_name"), 200),
        "department": _text(data.get("department"), 64),
        "applicant_name": _text(applicant.get("name"), 200),
    }
    fields = (receipt_no, facts["item_name"], facts["applicant_name"])
    facts["search_text"] = SEARCH_SEPARATOR.join(
        (f or "").replace(SEARCH_SEPARATOR, " ").lower() for f in fields
    )[:SEARCH_TEXT_LENGTH]  # fmt: skip
    return facts


def offered_to(groups: Iterable[str] | None, users: Iterable[str] | None) -> str | None:
    """The task's candidate group when it is offered to that one group and to nobody by name, else None (the
    inbox then reads the task's candidates)."""
    distinct = list(dict.fromkeys(groups or ()))
    return distinct[0] if len(distinct) == 1 and not list(users or ()) else None


def task_columns(receipt_no: str, data: Mapping | None, groups, users) -> dict[str, str | None]:
    """Every projection column of a task opening on a case (what `follow` writes)."""
    return {**case_facts(receipt_no, data), "offered_to": offered_to(groups, users)}


def follow(case, rows: Iterable) -> None:
    """Write the projection columns of the case's open task rows where they differ (new rows, changed data)."""
    facts = None
    for row in rows:
        if row.state != "open":
            continue
        if facts is None:
            facts = case_facts(case.receipt_no, case.data)
        wanted = {**facts, "offered_to": offered_to(row.candidate_groups, row.candidate_users)}
        for name, value in wanted.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
