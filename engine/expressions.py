"""Camunda's expression language (JUEL) as Camunda Modeler files carry it, in the subset modellers use every day:
`${approved}`, `#{amount > 1000}`, `${!approved}`, `${a == 'x' && b}`, `${applicant.name}` (a field of an
object), `${items[0]}`, JUEL's word operators (`and or not eq ne lt gt le ge div mod empty`) and its literals
(`true false null`). Each is translated into the Python expression the sandbox runs, so conditions, timers,
candidate groups and assignees of a Camunda file deploy and run unchanged. Calls (`${execution.getVariable('x')}`,
`${bean.method()}`), assignments and the `?:` operator are refused, saying why: they reach into Camunda's Java
runtime, which govflow does not have.
"""

from __future__ import annotations

import re

WRAPPED = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%().\[\],?:])""",
    re.X,
)
_WORDS = {
    "true": "True", "false": "False", "null": "None", "and": "and", "or": "or", "not": "not", "eq": "==",
    "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%", "empty": "not",
}  # fmt: skip
_OPS = {"&&": "and", "||": "or", "!": "not"}


class ExpressionRefused(ValueError):
    """An expression outside the subset of Camunda's expression language that govflow runs; says why."""


def is_camunda(text: str | None) -> bool:
    """Whether the whole text is one `${...}` or `#{...}` expression."""
    return bool(text and WRAPPED.match(text))


def python_of(text: str) -> str:
    """The Python expression to run for a value of the diagram: a `${...}` expression translated, else the text
    itself (already Python)."""
    return to_python(text) if is_camunda(text) else text


def to_python(text: str) -> str:
    """The Python expression of a whole `${...}` / `#{...}` expression (ExpressionRefused when outside the
    subset)."""
    match = WRAPPED.match(text)
    if match is None:
        raise ExpressionRefused(f"'{text}' is not a ${{...}} expression")
    return inner_to_python(match.group(1), text)


def inner_to_python(inner: str, shown: str | None = None) -> str:
    """The Python expression of the inside of `${...}`; `shown` is the expression as the diagram has it."""
    shown = shown or f"${{{inner}}}"
    tokens = _tokens(inner, shown)
    if not tokens:
        raise ExpressionRefused(f"'{shown}' is empty")
    out: list[str] = []
    for i, (kind, text) in enumerate(tokens):
        following = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if kind == "op" and text == ".":
            if following is None or tokens[i + 1][0] != "name":
                raise ExpressionRefused(f"'{shown}': a '.' must be followed by a field name")
            continue  # the field name that follows becomes ["name"]
        if kind == "name" and i > 0 and tokens[i - 1][1] == ".":
            if following == "(":
                raise ExpressionRefused(f"'{shown}': method calls ({text}(...)) are not allowed in an expression; "
                                        "compute the value in a script task and use the variable")  # fmt: skip
            out.append(f'["{text}"]')
            continue
        if kind == "name" and following == "(":
            raise ExpressionRefused(f"'{shown}': function calls ({text}(...)) are not allowed in a Camunda "
                                    "expression; write the condition in Python instead")  # fmt: skip
        if text in ("?", ":"):
            raise ExpressionRefused(f"'{shown}': the ?: operator is not supported; use an exclusive gateway")
        if kind == "name":
            out.append(_WORDS.get(text, text))
        elif kind == "op":
            out.append(_OPS.get(text, text))
        else:
            out.append(text)
    return " ".join(out)


def _tokens(inner: str, shown: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    while at < len(inner):
        match = _TOKEN.match(inner, at)
        if match is None:
            raise ExpressionRefused(f"'{shown}': '{inner[at]}' at position {at + 1} is not part of the expression "
                                    "language govflow reads (no assignments, no lambdas)")  # fmt: skip
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
        at = match.end()
    return tokens
