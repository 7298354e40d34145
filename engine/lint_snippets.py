"""Lint of the snippets in a diagram: scripts, conditions, timer values and the `${...}` placeholders of groups and
assignees, each compiled as it will run (Python in the sandbox; Camunda's expression language through its
translation, engine.expressions). Each function returns the findings' messages; engine.lint names the element."""

from __future__ import annotations

import re

from engine import expressions, sandbox

_CAMUNDA_EL = re.compile(r"\$\{.*\}|#\{.*\}")
_CRON = re.compile(r"^\s*[\d*?/,\-LW#A-Za-z]+(\s+[\d*?/,\-LW#A-Za-z]+){4,6}\s*$")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_TIMER_EXAMPLES = {
    "timeDate": "an ISO 8601 date-time such as '2026-01-05T09:00:00+08:00'",
    "timeDuration": "an ISO 8601 duration such as 'PT5S' or 'P3D'",
    "timeCycle": "an ISO 8601 repeating interval such as 'R3/PT1H'",
}


def script_problems(text: str | None) -> list[str]:
    if not (text or "").strip():
        return ["script task has no script"]
    return [f"script: {problem}" for problem in sandbox.check(text, "exec")]


def placeholder_problems(value: str) -> list[str]:
    """The `${...}` parts of a candidate group, user or assignee value (`reviewer@${department}`)."""
    found = []
    for expr in _PLACEHOLDER.findall(value):
        try:
            python = expressions.inner_to_python(expr)
        except expressions.ExpressionRefused as exc:
            found.append(f"in '{value}': {exc}")
            continue
        found += [f"expression '${{{expr}}}' in '{value}': {problem}" for problem in sandbox.check(python, "eval")]
    return found


def expression_problems(text: str | None, what: str) -> list[str]:
    """A condition, a timer's value or a due date (`what` says which: 'condition', 'timer timeDuration' ...)."""
    text = (text or "").strip()
    if not text:
        return [f"{what} is empty"]
    if expressions.is_camunda(text):
        try:
            python = expressions.to_python(text)
        except expressions.ExpressionRefused as exc:
            return [f"{what}: {exc}"]
        return [f"{what} '{text}': {problem}" for problem in sandbox.check(python, "eval")]
    if _CAMUNDA_EL.search(text):
        return [f"{what} '{text}' mixes a Camunda ${{...}} expression with other text; write the whole value as one "
                "${...} expression or in Python"]  # fmt: skip
    if what == "timer timeCycle" and _CRON.match(text):
        return [f"{what} '{text}' is a cron expression, which govflow does not read; write an ISO 8601 repeating "
                "interval, e.g. 'R/2026-01-05T09:00:00+08:00/P1D' for every day at 9:00"]  # fmt: skip
    kind = what.removeprefix("timer ")
    if kind in _TIMER_EXAMPLES:
        return [f"{what} '{text}' is neither {_TIMER_EXAMPLES[kind]} nor a Python expression giving one ({problem}); "
                "write one of the two" for problem in sandbox.check(text, "eval")]  # fmt: skip
    return [f"{what} '{text}': {problem}" for problem in sandbox.check(text, "eval")]
