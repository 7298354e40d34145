"""What a BPMN snippet meets at run time: the sandbox's errors, the names it may not use, the guarded
operators (size bounds on `+`, `*`, `**`, `<<`), the capped builtins and the guard table RestrictedPython's
compiled code calls. `engine.sandbox` compiles snippets against these and runs them."""

from __future__ import annotations

import functools
import logging
import operator

from RestrictedPython import PrintCollector, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

_log = logging.getLogger("engine.sandbox")
_MAX_ITEMS = 1_000_000
_MAX_INT_BITS = 100_000
_SEQ = (str, bytes, list, tuple)
# Refused wherever they appear: never a sensible process variable name.
ALWAYS_FORBIDDEN = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "breakpoint",
        "memoryview",
        "bytearray",
        "super",
        "classmethod",
        "staticmethod",
        "builtins",
        "sys",
        "os",
        "subprocess",
        "importlib",
        "SystemExit",
        "KeyboardInterrupt",
        "GeneratorExit",
        "BaseException",
    }
)
# Refused only when called: "type", "id", "open" or "license" are plausible process variables, and as
# bare names they can only resolve to data, since these builtins are not in the namespace.
CALL_FORBIDDEN = frozenset(
    {
        "type",
        "id",
        "open",
        "dir",
        "input",
        "help",
        "object",
        "property",
        "iter",
        "pow",
        "bytes",
        "format",
        "exit",
        "quit",
        "license",
        "credits",
        "copyright",
    }
)
NOT_BUILTINS = ALWAYS_FORBIDDEN | CALL_FORBIDDEN
FORBIDDEN_ATTRS = INSPECT_ATTRIBUTES | {"format", "format_map", "mro", "f_trace_lines", "f_trace_opcodes"}


class SandboxError(Exception):
    """A snippet was refused (at compile) or broke a sandbox rule/time budget (at run). str() is one line."""


class SandboxViolation(SandboxError):
    """Refused by policy: import, underscore attribute, forbidden name, size limit..."""


class SandboxTimeout(SandboxError):
    """The snippet ran longer than its time budget."""


class ThrownEvent(SandboxError):
    """A script threw a BPMN error or escalation (`throw_error`, `throw_escalation`): the script ends at that line,
    keeping what it assigned before, and the engine hands the event to the boundary events that catch its code.
    Being a SandboxError, no except block in the script can swallow it."""

    def __init__(self, kind: str, code: str, message: str | None):
        self.kind, self.code, self.message = kind, code, message
        super().__init__(f"{kind} {code} was thrown outside a script task: only a script task can throw one")


def _thrower(kind: str):
    def throw(code, message=None, /):
        if not isinstance(code, str) or not code.strip():
            raise SandboxViolation(f"throw_{kind}() needs the {kind} code, a non-empty string, as its first argument")
        if message is not None and not isinstance(message, str):
            raise SandboxViolation(f"throw_{kind}(): the message, if given, must be a string")
        raise ThrownEvent(kind, code.strip(), message)

    throw.__name__ = f"throw_{kind}"
    return throw


# ---- run-time guards; their names start with "_" so snippets cannot reach them ---------------------


def _getattr(obj: object, name: str) -> object:
    if name.startswith("_") or name in FORBIDDEN_ATTRS:
        raise SandboxViolation(f'attribute "{name}" is not allowed')
    return safer_getattr_raise(obj, name)  # keeps RestrictedPython's own str.format/Formatter checks


def _limit(too_big: bool, what: str) -> None:
    if too_big:
        raise SandboxViolation(f"{what} is not allowed")


_LONG, _WIDE = f"a sequence longer than {_MAX_ITEMS} items", f"an integer wider than {_MAX_INT_BITS} bits"


def _ints(a, b) -> bool:
    return isinstance(a, int) and isinstance(b, int)


def _add(a, b, op=operator.add):
    _limit(isinstance(a, _SEQ) and isinstance(b, _SEQ) and len(a) + len(b) > _MAX_ITEMS, _LONG)  # `s = s + s`
    return op(a, b)


def _mult(a, b, op=operator.mul):
    if _ints(a, b):
        _limit(a.bit_length() + b.bit_length() > _MAX_INT_BITS, _WIDE)
    elif isinstance(a, _SEQ) or isinstance(b, _SEQ):
        seq, times = (a, b) if isinstance(a, _SEQ) else (b, a)
        _limit(isinstance(times, int) and len(seq) * times > _MAX_ITEMS, _LONG)
    return op(a, b)


def _pow(a, b, op=operator.pow):
    _limit(_ints(a, b) and b > 0 and abs(a) > 1 and a.bit_length() * b > _MAX_INT_BITS, _WIDE)
    return op(a, b)


def _lshift(a, b, op=operator.lshift):
    _limit(_ints(a, b) and a != 0 and b > 0 and a.bit_length() + b > _MAX_INT_BITS, _WIDE)
    return op(a, b)


_INPLACE = {
    "+=": functools.partial(_add, op=operator.iadd),
    "*=": functools.partial(_mult, op=operator.imul),
    "**=": functools.partial(_pow, op=operator.ipow),
    "<<=": functools.partial(_lshift, op=operator.ilshift),
    "-=": operator.isub,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _range(*args) -> range:
    r = range(*args)
    _limit(bool(r[_MAX_ITEMS:]), f"range() over more than {_MAX_ITEMS} elements")  # slicing never overflows
    return r


def _sum(iterable, /, start=0):
    _limit(isinstance(start, _SEQ), "sum() of sequences")  # one C call would concatenate without checks
    return sum(iterable, start)


class _Printer(PrintCollector):
    """print() in a script goes to the log, not to the web server's stdout."""

    def _call_print(self, *objects, **kwargs):
        start = len(self.txt)
        super()._call_print(*objects, **kwargs)
        _log.info("script printed: %s", "".join(self.txt[start:]).rstrip("\n"))


BUILTINS = {
    **{k: v for k, v in safe_builtins.items() if k[0] != "_" and k not in NOT_BUILTINS},
    "len": len,
    "min": min,
    "max": max,
    "sum": _sum,
    "abs": abs,
    "round": round,
    "sorted": sorted,
    "any": any,
    "all": all,
    "enumerate": enumerate,
    "zip": zip,
    "range": _range,
    "throw_error": _thrower("error"),
    "throw_escalation": _thrower("escalation"),
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "isinstance": isinstance,
    "map": map,
    "filter": filter,
    "reversed": reversed,
    "next": next,
}
GUARDS = {
    "_getattr_": _getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
    "_print_": _Printer,
    "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_add_": _add,
    "_mult_": _mult,
    "_pow_": _pow,
    "_lshift_": _lshift,
}
