"""Sandbox for the Python snippets in BPMN diagrams: script tasks (`Sandbox.execute`), and gateway
conditions, timer expressions and multi-instance cardinalities (`Sandbox.evaluate`). `check` reports
problems before anything runs (diagram editor, deployment). The guards, builtins and errors a running
snippet meets are in `engine.sandbox_guards`.

* A policy pass refuses imports, names/attributes starting with "_", dangerous names (eval, getattr, sys,
  calls of type()/open()...), attributes reaching frames, code or str.format, classes and ":=". Then
  RestrictedPython compiles the tree, routing attribute/item access, iteration and writes through guards.
* Namespace: RestrictedPython's safe builtins minus setattr/delattr/pow/id and BaseException-only classes,
  plus a few harmless builtins (range capped) and the caller's helpers.
* Time: not sys.settrace. CPython 3.11 emits no 'line' event for a one-line `while True: pass`, and a trace
  function that raises is switched off, so a snippet catching its timeout would then run unwatched.
  Instead the compiler puts a deadline check at the top of every loop body, comprehension step, function
  and lambda, and every except/finally block re-raises any SandboxError first, so a timeout cannot be
  swallowed. Works in any thread and leaves debuggers/coverage tracers alone.
* Cheap memory bounds: `+`, `*`, `**`, `<<` (and their augmented forms) refuse results over 1,000,000
  items (str/bytes/list/tuple) or 100,000 bits (int); range() is capped; sum() will not add sequences.

NOT bounded (run workers under an OS memory limit such as RLIMIT_AS or a cgroup):
* total memory built up step by step within the time budget (append loops, join, many 1M-item lists);
* single C calls that inflate their result: str.ljust/center/zfill/expandtabs/replace/translate,
  int.to_bytes, %-formatting or f-string widths such as f"{x:>999999999}";
* one slow C call (say sorting a million items) is not interrupted; the deadline fires after it returns;
* helpers are trusted code and run unwatched until they return.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import time
from types import ModuleType
from typing import NamedTuple

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.sandbox_guards import (
    ALWAYS_FORBIDDEN,
    BUILTINS,
    CALL_FORBIDDEN,
    FORBIDDEN_ATTRS,
    GUARDS,
    NOT_BUILTINS,
    SandboxError,
    SandboxTimeout,
    SandboxViolation,
    ThrownEvent,
)

__all__ = ["Sandbox", "SandboxError", "SandboxTimeout", "SandboxViolation", "ThrownEvent", "check"]

_FILENAME = "<bpmn snippet>"

# ---- compilation -----------------------------------------------------------------------------------


def _policy_problems(tree: ast.AST, mode: str) -> list[str]:
    """Friendly one-line problems, found before RestrictedPython (terser messages) sees the tree."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            what = "import"
        elif isinstance(node, (ast.ClassDef, ast.NamedExpr)):
            what = "class definition" if isinstance(node, ast.ClassDef) else 'assignment expression ":="'
        elif isinstance(node, ast.Attribute) and (node.attr[0] == "_" or node.attr in FORBIDDEN_ATTRS):
            what = f'attribute "{node.attr}"'
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in CALL_FORBIDDEN:
            what = f'name "{node.func.id}"'
        elif isinstance(node, ast.Name) and mode == "eval" and node.id in ("print", "printed"):
            what = f'"{node.id}" in an expression'
        elif isinstance(node, (ast.Name, ast.FunctionDef, ast.arg, ast.keyword, ast.ExceptHandler)):
            name = getattr(node, "id", None) or getattr(node, "arg", None) or getattr(node, "name", None)
            ok = not name or name == "_" or name[0] != "_" and name not in ALWAYS_FORBIDDEN
            what = None if ok else f'name "{name}"'
        else:
            what = None
        if what:
            line = getattr(node, "lineno", 0)
            found.append((line, f"{what} is not allowed (line {line})"))
    return list(dict.fromkeys(problem for _, problem in sorted(found, key=lambda item: item[0])))


def _call(name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    return ast.copy_location(ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[]), where)


def _first(name: str, body: list[ast.stmt], where: ast.AST) -> None:
    body.insert(0, ast.copy_location(ast.Expr(_call(name, [], where)), where))


class _Transformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer plus size guards, deadline checks and un-swallowable errors."""

    _BINOPS = {ast.Add: "_add_", ast.Mult: "_mult_", ast.Pow: "_pow_", ast.LShift: "_lshift_"}

    def visit_BinOp(self, node):
        node = self.node_contents_visit(node)
        guard = self._BINOPS.get(type(node.op))
        return node if guard is None else _call(guard, [node.left, node.right], node)

    def _ticking(self, node):
        _first("_tick_", node.body, node)
        return node

    def visit_While(self, node):
        return self._ticking(super().visit_While(node))

    def visit_For(self, node):
        return self._ticking(super().visit_For(node))

    def visit_FunctionDef(self, node):
        return self._ticking(super().visit_FunctionDef(node))

    def visit_comprehension(self, node):
        node = super().visit_comprehension(node)
        node.ifs.insert(0, _call("_tick_", [], node.target))  # _tick_() returns True, so no item is lost
        return node

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(ast.And(), [_call("_tick_", [], node), node.body]), node)
        return node

    def visit_ExceptHandler(self, node):
        node = super().visit_ExceptHandler(node)
        _first("_handler_", node.body, node)
        return node

    def visit_Try(self, node):
        node = super().visit_Try(node)
        if node.finalbody:
            _first("_handler_", node.finalbody, node.finalbody[0])
        return node

    def visit_Module(self, node):
        return ast.fix_missing_locations(super().visit_Module(node))

    def visit_Expression(self, node):
        return ast.fix_missing_locations(super().visit_Expression(node))


class _Compiled(NamedTuple):
    code: object
    problems: tuple[str, ...]
    syntax: bool = False  # problems are syntax errors rather than policy refusals
    timed: bool = False  # has loops, functions or handlers, so needs this run's deadline guards


_TIMED_NODES = (ast.While, ast.For, ast.comprehension, ast.FunctionDef, ast.Lambda, ast.Try)
_RP_ERROR = re.compile(r"Line (\w+): (.*?)\.?$")


@functools.lru_cache(maxsize=4096)  # the same few snippets run thousands of times
def _compile(source: str, mode: str) -> _Compiled:
    try:
        tree = ast.parse(source, _FILENAME, mode)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return _Compiled(None, (f"syntax error: {exc.msg}{where}",), syntax=True)
    except (ValueError, RecursionError, MemoryError):  # absurd nesting or size
        return _Compiled(None, ("snippet is too deeply nested or too large",), syntax=True)
    problems = _policy_problems(tree, mode)
    if problems:
        return _Compiled(None, tuple(problems))
    timed = any(isinstance(node, _TIMED_NODES) for node in ast.walk(tree))
    try:
        compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
        result = compiler(tree, _FILENAME, policy=_Transformer)
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        return _Compiled(None, (f"cannot compile: {exc or type(exc).__name__}",), syntax=True)
    if result.errors:  # constructs RestrictedPython refuses that the policy pass does not name
        problems = [m.expand(r"\2 (line \1)") if (m := _RP_ERROR.match(e)) else e for e in result.errors]
        return _Compiled(None, tuple(p.replace("\n", " ") for p in problems))
    return _Compiled(result.code, (), timed=timed)


def check(source: str, mode: str) -> list[str]:
    """Problems with a snippet ('exec' script or 'eval' expression), [] when it is acceptable.

    Syntax errors and policy refusals come with line numbers, e.g. 'import is not allowed (line 1)'.
    Never raises for bad input. Size limits and the time budget can only be enforced at run time.
    """
    if not isinstance(source, str):
        return [f"snippet must be text, not {type(source).__name__}"]
    if mode not in ("exec", "eval"):
        return [f"mode must be 'exec' or 'eval', not {mode!r}"]
    return list(_compile(source, mode).problems)


def _is_plain(value: object) -> bool:
    """Worth keeping in task data: not a function, class, module, iterator/generator or range."""
    return not (callable(value) or isinstance(value, (ModuleType, range)) or hasattr(type(value), "__next__"))


_MISSING = object()


class Sandbox:
    """Runs snippets with safe builtins plus vetted `helpers`; each run gets `time_budget` seconds."""

    def __init__(self, helpers: dict[str, object] | None = None, time_budget: float = 1.0):
        helpers = dict(helpers or {})
        for name in helpers:
            if not (isinstance(name, str) and name.isidentifier()) or name[0] == "_" or name in NOT_BUILTINS:
                raise ValueError(f"helper name {name!r} is not allowed")
        if not time_budget > 0:
            raise ValueError("time_budget must be positive")
        self.time_budget = float(time_budget)
        self._helper_names = frozenset(helpers)
        self._builtins = {**BUILTINS, **helpers}
        self._globals = {"__builtins__": self._builtins, **GUARDS}

    def _namespace(self, source: str, mode: str, data: dict) -> tuple[_Compiled, dict]:
        compiled = _compile(source, mode) if isinstance(source, str) else _Compiled(None, (), syntax=True)
        if compiled.code is None:
            problems = compiled.problems or check(source, mode)
            raise (SandboxError if compiled.syntax else SandboxViolation)("; ".join(problems))
        if self._helper_names and not data.keys().isdisjoint(self._helper_names):
            clash = sorted(self._helper_names.intersection(data))[0]
            raise SandboxError(f'data key "{clash}" clashes with the helper of the same name')
        return compiled, {**data, **self._globals}  # guards last: a data key can never replace them

    def _arm(self, namespace: dict, what: str) -> list[float]:
        """Put this run's deadline check and except/finally guard in `namespace`; return the deadline cell."""
        budget = self.time_budget
        deadline = [time.monotonic() + budget]
        outer = sys.exc_info()[1]  # an error the caller is handling around us is not ours to re-raise

        def tick() -> bool:
            if time.monotonic() > deadline[0]:
                if deadline[0] < 0:  # e.g. a generator the snippet returned, resumed after the run
                    raise SandboxViolation(f"{what} code ran after its sandbox run ended")
                raise SandboxTimeout(f"{what} exceeded its time budget of {budget} s")
            return True

        def handler() -> None:
            exc = sys.exc_info()[1]
            if isinstance(exc, SandboxError) and exc is not outer:
                raise exc
            tick()

        namespace["_tick_"], namespace["_handler_"] = tick, handler
        return deadline

    def _run(self, runner, compiled: _Compiled, namespace: dict, what: str):
        if not compiled.timed:  # straight-line code, e.g. `decision == "approve"`: nothing to arm
            return runner(compiled.code, namespace)
        deadline = self._arm(namespace, what)
        try:
            return runner(compiled.code, namespace)
        finally:
            deadline[0] = -1.0  # anything of this run still executing later is refused

    def evaluate(self, expression: str, data: dict) -> object:
        """Evaluate `expression` with `data` as its variables; `data` itself is not modified.

        Raises SandboxError subclasses for refusals and timeouts; ordinary errors inside the expression
        (NameError, ZeroDivisionError, TypeError...) propagate unchanged.
        """
        compiled, namespace = self._namespace(expression, "eval", data)
        return self._run(eval, compiled, namespace, "expression")

    def execute(self, script: str, data: dict) -> None:
        """Run `script`; variables it assigns or deletes are written back into `data` (in place).

        Only plain values are kept: functions, classes, modules, iterators, names starting with "_" and new
        variables named like a builtin or helper are dropped. A `data` key equal to a helper name raises
        SandboxError. If the script raises, the top-level keys of `data` are left as they were, except when it
        throws a BPMN error or escalation (ThrownEvent): what it assigned before the throw is kept.
        """
        compiled, namespace = self._namespace(script, "exec", data)
        try:
            self._run(exec, compiled, namespace, "script")
        except ThrownEvent:
            self._write_back(namespace, data)  # a thrown BPMN error keeps what the script recorded before it
            raise
        self._write_back(namespace, data)

    def _write_back(self, namespace: dict, data: dict) -> None:
        for key, value in namespace.items():
            if not isinstance(key, str) or key[:1] == "_":
                continue
            old = data.get(key, _MISSING)
            if old is value:
                continue
            if not _is_plain(value):
                data.pop(key, None)
            elif old is not _MISSING or key not in self._builtins:
                data[key] = value
        for key in data.keys() - namespace.keys():  # removed by `del`
            del data[key]
