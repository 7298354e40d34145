"""Tests for engine.sandbox: escape attempts are refused, business snippets behave like plain Python."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pytest

from engine.sandbox import Sandbox, SandboxError, SandboxTimeout, SandboxViolation, ThrownEvent, check

BUDGET = 0.2

# (mode, source): refused by check() and by Sandbox before anything runs.
ESCAPES = [
    ("exec", "import os"),
    ("exec", "from os import path"),
    ("exec", "import os as o"),
    ("eval", "__import__('os')"),
    ("eval", "().__class__.__base__.__subclasses__()"),
    ("eval", "object.__subclasses__()"),
    ("eval", "[].__class__"),
    ("eval", "open('/etc/passwd')"),
    ("eval", "eval('1')"),
    ("exec", "exec('x = 1')"),
    ("eval", "compile('1', 'f', 'eval')"),
    ("eval", "globals()"),
    ("eval", "locals()"),
    ("eval", "vars()"),
    ("eval", "dir()"),
    ("eval", "getattr(x, '__class__')"),
    ("exec", "setattr(x, 'a', 1)"),
    ("eval", "type(x)"),
    ("eval", "(lambda: 0).__code__"),
    ("eval", "'{0.__class__}'.format(1)"),
    ("eval", "'{x}'.format_map(d)"),
    ("eval", "x.__dict__"),
    ("eval", "sys.modules"),
    ("exec", "os.system('id')"),
    ("eval", "(i for i in ()).gi_frame"),
    ("eval", "(i for i in ()).gi_code"),
    ("eval", "f.f_globals"),
    ("exec", "try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__"),
    ("eval", "tb.tb_frame"),
    ("eval", "breakpoint()"),
    ("eval", "memoryview(b'x')"),
    ("exec", "print.__self__"),
    ("eval", "__builtins__"),
    ("eval", "_getattr_"),
    ("eval", "int.mro()"),
    ("eval", "help()"),
    ("eval", "input()"),
    ("exec", "raise SystemExit"),
    ("exec", "class A:\n    pass"),
    ("exec", "def _hidden():\n    pass"),
    ("exec", "async def f():\n    pass"),
    ("exec", "try:\n    pass\nexcept* Exception:\n    pass"),
    ("eval", "(y := 1)"),
    ("eval", "print('x')"),
]

# (mode, source, expected error): acceptable to check(), stopped while running.
RUNTIME_REFUSALS = [  # the `except`/`finally` ones must not swallow the sandbox's own error
    ("exec", "while True: pass", SandboxTimeout),
    ("exec", "while True:\n    try:\n        while True: pass\n    except Exception:\n        pass", SandboxTimeout),
    ("exec", "while True:\n    try:\n        while True: pass\n    except:\n        pass", SandboxTimeout),
    ("exec", "try:\n    while True: pass\nfinally:\n    while True: pass", SandboxTimeout),
    ("exec", "f = lambda n: f(n - 1) + f(n - 1) if n else 0\nf(60)", SandboxTimeout),
    ("exec", "def g():\n    while True:\n        yield 1\nitems = list(g())", SandboxTimeout),
    ("eval", "[0 for i in range(999999) for j in range(999999)]", SandboxTimeout),
    ("eval", "range(10**12)", SandboxViolation),
    ("eval", "list(range(-10**30, 10**30))", SandboxViolation),
    ("eval", "'x' * 10**9", SandboxViolation),
    ("eval", "[0] * 10**9", SandboxViolation),
    ("eval", "2 ** 10**10", SandboxViolation),
    ("eval", "1 << 10**10", SandboxViolation),
    ("exec", "s = 'x' * 999999\nwhile True:\n    s = s + s", SandboxViolation),
    ("exec", "x = [0]\nx *= 10**9", SandboxViolation),
    ("eval", "sum([[0] * 999999] * 100, [])", SandboxViolation),
    ("exec", "try:\n    r = range(10**12)\nexcept Exception:\n    r = None", SandboxViolation),
    ("exec", "try:\n    while True: pass\nexcept Exception:\n    caught = True", SandboxTimeout),
    ("exec", "try:\n    while True: pass\nexcept:\n    caught = True", SandboxTimeout),
]


def run(sandbox: Sandbox, mode: str, source: str, data: dict | None = None):
    data = {} if data is None else data
    return sandbox.evaluate(source, data) if mode == "eval" else sandbox.execute(source, data)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(helpers={"workdays_after": lambda days: f"+{days}wd", "VAT": 0.2}, time_budget=BUDGET)


@pytest.mark.parametrize(("mode", "source"), ESCAPES)
def test_escape_is_refused_by_check(mode, source):
    problems = check(source, mode)
    assert problems, f"check() accepted {source!r}"
    assert all(isinstance(p, str) and "\n" not in p for p in problems)


@pytest.mark.parametrize(("mode", "source"), ESCAPES)
def test_escape_is_refused_at_run_time(sandbox, mode, source):
    data = {"x": 1, "d": {}, "f": None, "tb": None}
    with pytest.raises(SandboxError) as caught:
        run(sandbox, mode, source, data)
    assert "\n" not in str(caught.value)
    assert data == {"x": 1, "d": {}, "f": None, "tb": None}


@pytest.mark.parametrize(("mode", "source", "error"), RUNTIME_REFUSALS)
def test_runaway_snippet_is_stopped(sandbox, mode, source, error):
    started = time.monotonic()
    with pytest.raises(error) as caught:
        run(sandbox, mode, source)
    assert time.monotonic() - started < BUDGET + 1.0
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ('decision == "approve"', {"decision": "approve"}, True),
        ('decision == "approve"', {"decision": "reject"}, False),
        ("amount > 1000 and not urgent", {"amount": 1500, "urgent": False}, True),
        ("len(items) * 2", {"items": [1, 2, 3]}, 6),
        ("any(x > limit for x in items)", {"items": [1, 5], "limit": 3}, True),
        ("[x * factor for x in items if x]", {"items": [0, 1, 2], "factor": 10}, [10, 20]),
        ("sorted(items, key=lambda x: -x)[0]", {"items": [3, 9, 4]}, 9),
        ("max(scores.values())", {"scores": {"a": 3, "b": 7}}, 7),
        ("applicant['age'] >= 18", {"applicant": {"age": 20}}, True),
        ("f'{ref}-{n:04d}'", {"ref": "PERMIT", "n": 42}, "PERMIT-0042"),
        ("round(net * (1 + VAT), 2)", {"net": 10.005}, round(10.005 * 1.2, 2)),
        ("2 ** 64 + len('x' * 1000)", {}, 2**64 + 1000),
        ("next((x for x in items if x > 1), None)", {"items": [1, 2, 3]}, 2),
        ("type == 'renewal'", {"type": "renewal"}, True),
    ],
)
def test_conditions_evaluate_like_python(sandbox, expression, data, expected):
    assert check(expression, "eval") == []
    assert sandbox.evaluate(expression, data) == expected


def test_evaluate_leaves_data_alone(sandbox):
    data = {"a": 1, "items": [1, 2]}
    assert sandbox.evaluate("[a + i for i in items]", data) == [2, 3]
    assert data == {"a": 1, "items": [1, 2]}


def test_script_assignments_land_in_data(sandbox):
    data = {"count": 1, "old": "x", "form": {"name": "Ada"}, "log": [1]}
    sandbox.execute(
        "count += 2\n"
        "total, rest = 10, 5\n"
        "form['checked'] = True\n"
        "log += [2]\n"
        "for i in range(3):\n"
        "    total += i\n"
        "del old\n"
        "label = form['name'].upper()\n",
        data,
    )
    assert data == {
        "count": 3,
        "total": 13,
        "rest": 5,
        "i": 2,
        "form": {"name": "Ada", "checked": True},
        "log": [1, 2],
        "label": "ADA",
    }


def test_script_leaves_no_functions_modules_or_iterators(sandbox):
    data = {"keep": 1}
    sandbox.execute(
        "def helper(x):\n    return x * 2\n"
        "twice = lambda x: x * 2\n"
        "gen = (i for i in range(3))\n"
        "mapped = map(str, [1])\n"
        "numbers = range(3)\n"
        "measure = len\n"
        "value = helper(4) + twice(1)\n",
        data,
    )
    assert data == {"keep": 1, "value": 10}


def test_builtin_and_helper_names_are_not_left_in_data(sandbox):
    data = {"id": 7}  # a pre-existing variable named like a builtin stays a variable
    sandbox.execute("sum = 3\nVAT = 0.5\nid = id + 1\nlength = len('abc')", data)
    assert data == {"id": 8, "length": 3}


def test_helpers_are_callable(sandbox):
    assert sandbox.evaluate("workdays_after(5)", {}) == "+5wd"
    data = {"days": 3}
    sandbox.execute("due = workdays_after(days)\nrate = VAT", data)
    assert data == {"days": 3, "due": "+3wd", "rate": 0.2}


@pytest.mark.parametrize("mode", ["exec", "eval"])
def test_data_key_colliding_with_helper_is_refused(sandbox, mode):
    with pytest.raises(SandboxError, match="workdays_after"):
        run(sandbox, mode, "1", {"workdays_after": 3})


@pytest.mark.parametrize("name", ["_private", "open", "getattr", "not an identifier"])
def test_unsafe_helper_names_are_rejected(name):
    with pytest.raises(ValueError):
        Sandbox(helpers={name: len})


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("1 / 0", ZeroDivisionError),
        ("undefined_name", NameError),
        ("'a' + 1", TypeError),
        ("{}['missing']", KeyError),
        ("[].missing", AttributeError),
    ],
)
def test_ordinary_errors_propagate_unchanged(sandbox, source, error):
    with pytest.raises(error) as caught:
        sandbox.evaluate(source, {})
    assert not isinstance(caught.value, SandboxError)


def test_script_may_handle_its_own_errors(sandbox):
    data = {"raw": "12a"}
    sandbox.execute("try:\n    n = int(raw)\nexcept ValueError:\n    n = 0\nfinally:\n    done = True", data)
    assert data == {"raw": "12a", "n": 0, "done": True}


def test_failed_script_leaves_data_untouched(sandbox):
    data = {"n": 1}
    with pytest.raises(ZeroDivisionError):
        sandbox.execute("n = 5\nm = 1 / 0", data)
    assert data == {"n": 1}


def test_timeout_works_in_a_worker_thread(sandbox):
    outcome = []

    def worker():
        try:
            sandbox.execute("x = 0\nwhile True:\n    x += 1", {})
        except SandboxError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    started = time.monotonic()
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], SandboxTimeout)
    assert str(outcome[0]) == f"script exceeded its time budget of {BUDGET} s"
    assert time.monotonic() - started < BUDGET + 1.0


def test_existing_trace_function_is_kept(sandbox):
    seen = set()

    def tracer(frame, event, arg):
        seen.add(frame.f_code.co_filename)
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with pytest.raises(SandboxTimeout):
            sandbox.execute("while True: pass", {})
        sandbox.execute("def f():\n    return 1\nx = f()", {})
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)
    assert "<bpmn snippet>" in seen  # the tracer kept seeing snippet frames


def test_generator_resumed_after_its_run_is_refused(sandbox):
    generator = sandbox.evaluate("(x for x in items)", {"items": [1, 2]})
    with pytest.raises(SandboxViolation):
        list(generator)


def test_error_handled_by_caller_does_not_leak_into_snippet(sandbox):
    data = {}
    try:
        raise SandboxViolation("earlier failure")
    except SandboxError:
        sandbox.execute("try:\n    x = 1\nfinally:\n    y = 2", data)
    assert data == {"x": 1, "y": 2}


def test_data_keys_cannot_replace_guards(sandbox):
    data = {"_getattr_": "evil", "_getiter_": None, "__builtins__": {}, "items": [1, 2]}
    assert sandbox.evaluate("[i for i in items] + [items.count(1)]", data) == [1, 2, 1]
    sandbox.execute("total = sum(items)", data)
    assert data["total"] == 3 and data["_getattr_"] == "evil"


def test_print_goes_to_the_log(sandbox, caplog):
    data = {}
    with caplog.at_level(logging.INFO, logger="engine.sandbox"):
        sandbox.execute("print('hello', 42)\nx = 1", data)
    assert "hello 42" in caplog.text
    assert data == {"x": 1}


@pytest.mark.parametrize(
    ("mode", "source", "expected"),
    [
        ("exec", "import os", ["import is not allowed (line 1)"]),
        ("exec", "x = 1\ny = open('f')", ['name "open" is not allowed (line 2)']),
        ("eval", "x.__class__", ['attribute "__class__" is not allowed (line 1)']),
        ("eval", "x.__subclasses__", ['attribute "__subclasses__" is not allowed (line 1)']),
        ("eval", "1 +", ["syntax error: invalid syntax (line 1)"]),
        ("eval", "x = 1", ["syntax error: invalid syntax (line 1)"]),
        ("exec", "def f():\n    nonlocal q", ["Nonlocal statements are not allowed (line 2)"]),
    ],
)
def test_check_messages(mode, source, expected):
    assert check(source, mode) == expected


@pytest.mark.parametrize(
    ("mode", "source"),
    [
        ("eval", 'decision == "approve"'),
        ("eval", "len([x for x in items if x > 0]) >= quorum"),
        ("eval", "open == True"),  # a variable that happens to be named like a builtin
        ("exec", "for _ in range(3):\n    pass"),
        ("exec", "def fee(amount):\n    return amount * 0.1\ncharge = fee(total)\nprint(charge)"),
        ("exec", ""),
    ],
)
def test_check_accepts_ordinary_snippets(mode, source):
    assert check(source, mode) == []


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        (None, "eval"),
        (b"1", "eval"),
        ("1", "single"),
        ("a\x00b", "eval"),
        ("-" * 200_000 + "1", "eval"),
        ("(" * 300 + ")" * 300, "eval"),
        ("1 +" * 100_000 + "1", "eval"),
    ],
)
def test_check_never_raises(source, mode):
    problems = check(source, mode)
    assert problems and all(isinstance(p, str) and "\n" not in p for p in problems)


def test_syntax_error_is_a_sandbox_error_but_not_a_violation(sandbox):
    with pytest.raises(SandboxError) as caught:
        sandbox.evaluate("1 +", {})
    assert not isinstance(caught.value, SandboxViolation)
    assert str(caught.value) == "syntax error: invalid syntax (line 1)"


def test_compiled_code_is_cached(sandbox):
    from engine.sandbox import _compile

    source = "cached_marker_variable + 1"
    sandbox.evaluate(source, {"cached_marker_variable": 1})
    hits = _compile.cache_info().hits
    sandbox.evaluate(source, {"cached_marker_variable": 2})
    assert _compile.cache_info().hits == hits + 1


def test_a_thrown_bpmn_error_keeps_what_the_script_recorded_before_it(sandbox):
    data = {"complete": False}
    script = "reason = 'identity card missing'\nif not complete:\n    throw_error('INCOMPLETE', reason)\nlater = 1"
    with pytest.raises(ThrownEvent) as thrown:
        sandbox.execute(script, data)
    assert (thrown.value.kind, thrown.value.code, thrown.value.message) == ("error", "INCOMPLETE", "identity card missing")
    assert data == {"complete": False, "reason": "identity card missing"}


def test_a_script_cannot_swallow_its_own_throw(sandbox):
    script = "try:\n    throw_escalation('LARGE_AMOUNT')\nexcept Exception:\n    swallowed = True\nfinally:\n    done = 1"
    data: dict = {}
    with pytest.raises(ThrownEvent) as thrown:
        sandbox.execute(script, data)
    assert thrown.value.kind == "escalation" and "swallowed" not in data


@pytest.mark.parametrize(
    "call, words",
    [
        ("throw_error('')", "needs the error code, a non-empty string"),
        ("throw_error(42)", "needs the error code, a non-empty string"),
        ("throw_escalation('X', 3)", "the message, if given, must be a string"),
    ],
)
def test_a_throw_needs_a_code_and_a_string_message(sandbox, call, words):
    with pytest.raises(SandboxViolation, match=words):
        sandbox.execute(call, {})


def test_a_condition_cannot_throw(sandbox):
    with pytest.raises(ThrownEvent, match="only a script task can throw one"):
        sandbox.evaluate("throw_error('X')", {})
