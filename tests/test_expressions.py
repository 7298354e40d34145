"""Camunda's expression language in the subset Camunda Modeler files use (issue 12 item 7): each expression means
in govflow what it means in Camunda, evaluated on case data in the sandbox; calls into Camunda's Java runtime are
refused with the reason."""

from __future__ import annotations

import pytest

from engine.expressions import ExpressionRefused, is_camunda, to_python
from engine.sandbox import Sandbox

DATA = {"approved": True, "amount": 1500, "a": "x", "b": False, "applicant": {"name": "某公司", "kind": "person"},
        "items": ["营业执照"], "none": None, "list": []}  # fmt: skip


@pytest.mark.parametrize(
    "expression, value",
    [
        ("${approved}", True),
        ("#{amount > 1000}", True),
        ("${!approved}", False),
        ("${a == 'x' && b}", False),
        ("${a == 'x' || b}", True),
        ("${amount ge 1500 and amount lt 2000}", True),
        ('${applicant.kind eq "person"}', True),
        ("${applicant.name}", "某公司"),
        ("${items[0]}", "营业执照"),
        ("${none == null}", True),
        ("${empty list}", True),
        ("${amount div 2 + amount mod 7}", 750 + 1500 % 7),
        ("${true && !false}", True),
    ],
)
def test_an_expression_means_what_it_means_in_camunda(expression, value):
    assert is_camunda(expression)
    assert Sandbox().evaluate(to_python(expression), DATA) == value


@pytest.mark.parametrize(
    "expression, reason",
    [
        ("${execution.getVariable('x')}", "method calls (getVariable(...)) are not allowed"),
        ("${bean.check(amount)}", "method calls (check(...)) are not allowed"),
        ("${size(items)}", "function calls (size(...)) are not allowed"),
        ("${approved ? 'a' : 'b'}", "the ?: operator is not supported"),
        ("${x = 1}", "'=' at position 3 is not part of the expression language"),
        ("${applicant.}", "a '.' must be followed by a field name"),
        ("${}", "is empty"),
    ],
)
def test_what_reaches_into_the_java_runtime_is_refused_with_the_reason(expression, reason):
    with pytest.raises(ExpressionRefused, match=reason.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        to_python(expression)


def test_plain_python_is_not_taken_for_a_camunda_expression():
    assert not is_camunda("amount > 1000") and not is_camunda("reviewer@${department}")
