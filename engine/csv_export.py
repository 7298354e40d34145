"""The CSV files the platform gives out (the supervision case list, the statistics): the home of how a cell is
written into one.

A spreadsheet program opening a CSV takes a cell beginning with = + - @ (or a tab or carriage return, which it
skips) as a formula: an applicant named =HYPERLINK("http://…","点击查看") becomes a link in the supervisor's
spreadsheet, and older programs run commands from such a cell. A text cell beginning with one of them, or with
its full-width form that a Chinese input method types, is written after an apostrophe, which the program shows
as text. Numbers are written as they are: -3 is a number, not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def cell(value: object) -> object:
    """A value as it may go into a CSV cell: text that a spreadsheet would run as a formula is made text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CsvWriter:
    """csv.writer whose rows go through `cell`: every CSV export writes its rows with one."""

    def __init__(self, buffer):
        self._writer = csv.writer(buffer)

    def writerow(self, values: Iterable[object]) -> None:
        self._writer.writerow([cell(value) for value in values])
