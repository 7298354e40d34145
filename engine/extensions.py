"""The extension of a time limit (延期): the one extension a statutory limit may get, its legal maximum and the
article that grants it (行政许可法第42条, 第26条; 行政复议法第62条; the enforcement filing check)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.deadlines import Limit
from engine.errors import InvalidData


@dataclass(frozen=True)
class ExtensionRule:
    """The legal maximum of the one extension a limit may get, and the article that grants it."""

    code: str
    maximum: Limit
    article: str


EXTENSION_RULES = {
    "approval": ExtensionRule("approval", Limit(10, "wd"), "行政许可法第42条第1款"),
    "joint": ExtensionRule("joint", Limit(15, "wd"), "行政许可法第26条、第42条第2款"),
    "review_appeal": ExtensionRule("review_appeal", Limit(30, "d"), "行政复议法第62条"),
    "filing_check": ExtensionRule("filing_check", Limit(15, "wd"), "市场监督管理行政处罚程序规定第18条"),
}
# Which rule applies, read from the statutory limit when the catalog names none (limits.<stage>.extension_rule).
_RULE_BY_LIMIT = {Limit(20, "wd"): "approval", Limit(45, "wd"): "joint", Limit(60, "d"): "review_appeal",
                  Limit(15, "wd"): "filing_check"}  # fmt: skip


def extension_rule(statutory: Limit | None, code: str | None = None) -> ExtensionRule:
    """The extension rule of a limit: named by `code`, else implied by the statutory limit; else refused."""
    if code:
        if code not in EXTENSION_RULES:
            raise InvalidData(f"extension rule '{code}' is unknown (known: {', '.join(EXTENSION_RULES)})")
        return EXTENSION_RULES[code]
    if statutory in _RULE_BY_LIMIT:
        return EXTENSION_RULES[_RULE_BY_LIMIT[statutory]]
    raise InvalidData(
        f"no law allows extending a statutory limit of {statutory or 'none'}: extensions exist for 20wd "
        "(行政许可法第42条, +10wd), 45wd (第26条、第42条, +15wd), 60d (行政复议法第62条, +30d) "
        "and 15wd filing checks (+15wd)"
    )


def check_extension(statutory: Limit | None, current: str | None, by: Limit, rule_code: str | None = None) -> None:
    """Refuse a second extension, one in another unit, or one beyond the legal maximum, citing the article."""
    rule = extension_rule(statutory, rule_code)
    if current:
        raise InvalidData(f"this limit was already extended by {current}; {rule.article} allows one extension only")
    if by.n <= 0:
        raise InvalidData(f"an extension must be at least 1{by.unit}")
    if by.unit != rule.maximum.unit or by.n > rule.maximum.n:
        raise InvalidData(f"an extension of {by} is beyond the legal maximum of {rule.maximum} ({rule.article})")
