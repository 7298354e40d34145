"""A case's variables: one scope per case, each task's changes applied to it in the order tasks complete.

SpiffWorkflow gives every task its own copy of the data and merges the copies again at joins, so a branch that
finished early, or waited, brings its old values back and a list appended on three branches keeps one entry.
govflow keeps the variables itself (docs/designing-processes.md, "Case data", is the designer's statement):

- The case scope, plus one local scope per instance of a multi-instance activity: its element variable, its
  output item and the variables it creates. Loop iterations have no scope of their own.
- Before a task runs, its data is set to what its scopes show: the case's variables overlaid with the locals of
  the instances it runs in (innermost last).
- After it runs, the changes it made to that data are applied, not its whole copy: a value set or removed, items
  appended to a list, items of a list or map changed. A change goes to the innermost scope that holds the
  variable; a new variable goes to the innermost scope (the instance's, inside an instance).
- When an instance completes, its output item is put into the output collection: at its key or index when the
  collection is a map or is the input collection itself, else appended.
- The variables are plain JSON, the same in a case restored from its saved state and on every database: what a
  task leaves is made plain where that loses nothing (a tuple becomes a list, a set its sorted list, an integer
  key its text) and refused otherwise (`NotPlainData`, naming the variable and the element that set it), as is
  case data over the size limit at the end of a step.

This module knows data only. The adapter (engine.workflow) tells it which tasks are instances (`is_instance`),
which task specs only merge copies (`merges_copies`: joins; their changes are ignored) and how to find a task by
id; it reads `task.parent`, `task.task_spec`, `task.workflow.parent_task_id`, `task.data` and
`task.internal_data`, where the scopes are kept so they are saved with the case's state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from copy import deepcopy

CASE_KEY = "case_data"  # in the root task's internal data
LOCAL_KEY = "local_data"  # in an instance task's internal data

# One change: (path, op, value). op "set" puts value at path, "delete" removes path, "append" appends value to
# the list at path.
Change = tuple[tuple, str, object]

CASE_DATA_LIMIT = 1_000_000  # bytes of the case's variables as UTF-8 JSON, unless the engine is configured otherwise
_PLAIN = "case data must be plain JSON: text, numbers, true/false, null, lists and maps with text keys"


class NotPlainData(Exception):
    """A variable a task left is not plain JSON and cannot become it without loss, or the case data is too large."""

    def __init__(self, variable: str, problem: str, element_id: str | None = None):
        self.variable, self.problem, self.element_id = variable, problem, element_id
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"variable '{self.variable}' {self.problem}"


class _Refused(Exception):
    def __init__(self, problem: str):
        self.problem, self.path = problem, []


def plain_variable(name: str, value):
    """`value` as plain JSON (the object itself when it already is), or NotPlainData naming the variable."""
    try:
        return _plain(value)
    except _Refused as exc:
        where = name + "".join(f"[{step!r}]" for step in exc.path)
        raise NotPlainData(where, f"{exc.problem}; {_PLAIN}") from None


def _plain(value):
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Refused("holds text that is not valid Unicode (a lone surrogate)") from None
        return value
    if kind is int:
        if value.bit_length() > 14_000:  # about 4,300 digits, Python's limit for writing an integer as text
            try:
                str(value)
            except ValueError:
                raise _Refused("is an integer of more than 4,300 digits") from None
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _Refused(f"is {value} (not a JSON number)")
        return value
    if kind is dict:
        return _plain_map(value)
    if kind is list or kind is tuple:
        return _plain_items(value, kind is tuple)
    if kind is set or kind is frozenset:
        try:
            ordered = sorted(value)
        except TypeError:
            raise _Refused("is a set of values that cannot be put in order (make it a list)") from None
        return _plain_items(ordered, True)
    if kind is bytes or kind is bytearray:
        raise _Refused("is binary data (bytes); keep text, e.g. decode it")
    raise _Refused(f"is a {kind.__name__}, not a JSON value")


def _plain_items(items, copy: bool):
    out = list(items) if copy else items
    for index, item in enumerate(items):
        try:
            made = _plain(item)
        except _Refused as exc:
            exc.path.insert(0, index)
            raise
        if made is not item:
            if out is items:
                out = list(items)
            out[index] = made
    return out


def _plain_map(value: dict):
    made, changed = {}, False
    for key, item in value.items():
        try:
            plain = _plain(item)
        except _Refused as exc:
            exc.path.insert(0, key)
            raise
        if type(key) is not str:
            # JSON keys are text: an integer key becomes its text, unless that text is a key already.
            if type(key) is not int:
                raise _Refused(f"is a map with the key {key!r}; map keys must be text")
            if str(key) in value:
                raise _Refused(f"is a map with both the key {key} and the key '{key}'; map keys must be text")
            key = str(key)
            changed = True
        made[key] = plain
        changed = changed or plain is not item
    return made if changed else value


def encoded_size(value) -> int:
    """Bytes of `value` as the UTF-8 JSON a case row stores."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8"))


def changes(before: dict, after: dict) -> list[Change]:
    """What a task changed, from the data it was given (`before`) to the data it left (`after`)."""
    found: list[Change] = []
    _diff_map((), before, after, found)
    return found


def _diff_map(path: tuple, before: dict, after: dict, found: list[Change]) -> None:
    for key, value in after.items():
        if key in before:
            _diff_value(path + (key,), before[key], value, found)
        else:
            found.append((path + (key,), "set", value))
    found.extend((path + (key,), "delete", None) for key in before if key not in after)


def _diff_value(path: tuple, old, new, found: list[Change]) -> None:
    if type(old) is dict and type(new) is dict:
        _diff_map(path, old, new, found)
    elif type(old) is list and type(new) is list and len(new) >= len(old):
        for index, item in enumerate(old):
            _diff_value(path + (index,), item, new[index], found)
        found.extend((path, "append", item) for item in new[len(old) :])
    elif type(old) is not type(new) or old != new:  # 1 and True are equal in Python, not in JSON
        found.append((path, "set", new))


def apply(scopes: list[dict], found: list[Change], after: dict) -> None:
    """Apply changes to a chain of scopes (innermost last). A change whose place no longer exists in its scope
    (another task removed or reshaped it meanwhile) sets the whole variable to the task's value."""
    for path, op, value in found:
        key = path[0]
        scope = next((s for s in reversed(scopes) if key in s), scopes[-1])
        if op == "delete" and key not in scope:
            continue
        if not _apply_one(scope, path, op, value):
            scope[key] = deepcopy(after[key])


def _apply_one(scope: dict, path: tuple, op: str, value) -> bool:
    node = scope
    steps = path if op == "append" else path[:-1]
    for step in steps:
        if not _holds(node, step):
            return False
        node = node[step]
    if op == "append":
        if type(node) is not list:
            return False
        node.append(deepcopy(value))
        return True
    last = path[-1]
    if type(node) is dict:
        if op == "delete":
            node.pop(last, None)
        else:
            node[last] = deepcopy(value)
        return True
    if type(node) is list and op == "set" and _holds(node, last):
        node[last] = deepcopy(value)
        return True
    return False


def _engine_held(spec) -> list[str]:
    """Names the engine itself keeps in a task's data: data objects it copied in, the output collection a
    multi-instance builds before its first instance completes."""
    refs = [*getattr(spec, "data_input_associations", ()), *getattr(spec, "data_output_associations", ())]
    refs.append(getattr(spec, "data_output", None))
    return [ref.bpmn_id for ref in refs if ref is not None]


def _holds(node, step) -> bool:
    if type(node) is dict:
        return step in node
    return type(node) is list and type(step) is int and 0 <= step < len(node)


class CaseData:
    """The variables of one case's workflow, kept in its state."""

    def __init__(self, root, find_task: Callable, is_instance: Callable, merges_copies: Callable):
        self.root = root
        self._find = find_task
        self._is_instance = is_instance
        self._merges = merges_copies
        self._running: tuple | None = None  # (task, the data it was given) between before() and after()
        self.written: dict[str, str | None] = {}  # variable → BPMN id of the element that last set it here

    @property
    def case(self) -> dict:
        return self.root.internal_data[CASE_KEY]

    @classmethod
    def initialise(cls, root, data: dict) -> None:
        root.internal_data[CASE_KEY] = deepcopy(data)

    # -- scopes
    def _instances(self, task) -> list:
        """The instances `task` runs in, outermost first (the task itself when it is one)."""
        found = []
        node = task
        while node is not None:
            if self._is_instance(node):
                found.append(node)
            parent_id = node.workflow.parent_task_id  # up out of a subprocess to the task that runs it
            node = self._find(parent_id) if parent_id is not None else None
        found.reverse()
        return found

    def _locals(self, instance) -> dict:
        local = instance.internal_data.get(LOCAL_KEY)
        if local is None:
            # First seen: the multi-instance gave the instance its element variable (and output item).
            spec = instance.parent.task_spec
            names = {ref.bpmn_id for ref in (spec.input_item, spec.output_item) if ref is not None}
            local = {name: deepcopy(instance.data[name]) for name in names if name in instance.data}
            instance.internal_data[LOCAL_KEY] = local
        return local

    def scopes(self, task) -> list[dict]:
        return [self.case] + [self._locals(i) for i in self._instances(task)]

    def view(self, task) -> dict:
        """What `task` sees: the case's variables overlaid with the locals of its instances."""
        shown = {}
        for scope in self.scopes(task):
            shown.update(scope)
        return deepcopy(shown)

    def show(self, task) -> None:
        """Give `task` the data its scopes show now (keeping data objects the engine copied into it)."""
        data = self.view(task)
        for name in _engine_held(task.task_spec):
            if name in task.data and name not in data:
                data[name] = task.data[name]
        task.data = data

    # -- running tasks
    def before(self, task) -> None:
        """Called right before `task` runs (a submitted form is added to its data after this)."""
        self.show(task)
        self._running = (task, deepcopy(task.data))

    def after(self, task) -> None:
        """Called right after `task` ran: apply its changes, then collect an instance's output."""
        running, self._running = self._running, None
        if running is None or running[0] is not task:
            return
        if not self._merges(task.task_spec):
            found = self._made_plain(task, running[1])
            apply(self.scopes(task), found, task.data)
        if self._is_instance(task):
            self._collect(task)
            task.internal_data.pop(LOCAL_KEY, None)  # the instance is over: its locals need not be kept

    def _made_plain(self, task, before: dict) -> list[Change]:
        """The task's changes, once the variables it changed are plain JSON in its own data (NotPlainData)."""
        found = changes(before, task.data)
        element = getattr(task.task_spec, "bpmn_id", None)
        converted = False
        for name in dict.fromkeys(path[0] for path, op, _ in found if op != "delete"):
            self.written[name] = element
            try:
                value = plain_variable(name, task.data[name])
            except NotPlainData as exc:
                exc.element_id = element
                raise
            if value is not task.data[name]:
                task.data[name], converted = value, True
        return changes(before, task.data) if converted else found

    def shared(self, limit: int) -> dict:
        """A copy of the case's variables for the case row: NotPlainData when they are over `limit` bytes,
        naming the largest variable and the element that set it in this step, if one did."""
        data = deepcopy(self.case)
        try:
            size = encoded_size(data)
        except (TypeError, ValueError):  # a value that came in some other way than a task: name it
            for name, value in data.items():
                plain_variable(name, value)
            raise
        if size > limit:
            name = max(data, key=lambda key: encoded_size(data[key]))
            problem = f"makes the case data {size:,} bytes, over the limit of {limit:,}; keep large content in files"
            raise NotPlainData(name, problem, self.written.get(name))
        return data

    def write(self, task, values: dict) -> None:
        """Set variables as if `task` had set them (a message's payload, delivered to the event that waits)."""
        apply(self.scopes(task), [((key,), "set", value) for key, value in values.items()], values)

    def _collect(self, instance) -> None:
        spec = instance.parent.task_spec
        if spec.data_output is None or spec.output_item is None:
            return
        local = self._locals(instance)
        if spec.output_item.bpmn_id not in local:
            return
        item = deepcopy(local[spec.output_item.bpmn_id])
        name = spec.data_output.bpmn_id
        scopes = self.scopes(instance.parent)
        scope = next((s for s in reversed(scopes) if name in s), scopes[-1])
        collection = scope.get(name)
        if not isinstance(collection, dict | list):
            collection = scope[name] = {} if isinstance(instance.parent.data.get(name), dict) else []
        key = instance.internal_data.get("key_or_index")
        in_place = spec.data_input is not None and spec.data_input.bpmn_id == name
        if key is not None and (isinstance(collection, dict) or (in_place and _holds(collection, key))):
            collection[key] = item
        else:
            collection.append(item)
