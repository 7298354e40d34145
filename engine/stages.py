"""The stages of the procedures: the stage keys the diagrams use (an element's `stage` property, `start_limit`,
the catalog's `stage_limits`, an alert's stage) and their names.

One home for stage names: the alerts' messages, the CLI and the supervision exports take the Chinese name here;
the web pages and the JSON API pass the same Chinese name, which is the message id of its English name in the
web's catalog (webui/translations), through gettext. A stage run per instance is keyed `<stage>:<instance>`
(e.g. `co_review:qx-wsjk`, one per co-department) and named `<name>（<instance>）`.
"""

from __future__ import annotations

# key → Chinese name (also the msgid of its English name). "case" is the whole-case clock.
STAGE_NAMES = {
    "case": "办件总时限",
    "accept": "受理",
    "supplement": "补正",
    "review": "审查",
    "co_review": "协办审查",
    "joint_meeting": "联审会议",
    "hearing": "听证",
    "decide": "决定",
    "certificate": "制证",
    "deliver": "送达",
    "filing": "立案",
    "investigate": "调查取证",
    "evidence_hold": "证据先行登记保存",
    "legal_review": "法制审核",
    "copy": "发送申请书副本",
    "reply": "答复",
}
# The stages a person's task can stand at (the inbox's stage filter): every stage but the whole-case clock.
TASK_STAGES = {key: name for key, name in STAGE_NAMES.items() if key != "case"}


def split(stage: str) -> tuple[str, str]:
    """(stage key, instance) of a stage as clocks and alerts record it."""
    key, _, instance = stage.partition(":")
    return key, instance


def stage_name(key: str) -> str:
    """The Chinese name of a stage key (the key itself for a stage no procedure here declares)."""
    return STAGE_NAMES.get(key, key)


def stage_label(stage: str, translate=None, instance_name=None, element_name=None) -> str:
    """The name of a stage as recorded (`review`, `co_review:qx-wsjk`), translated by `translate` (gettext) when
    given, its instance named by `instance_name` (a department's name for its code) when given:
    `协办审查（qx-wsjk）`, `协办审查（示范县卫生健康委员会）`. Several stages (the supervision row's
    `review,co_review:x`) are named in turn; a part that is no stage but the id of an activity declaring none (the
    supervision row records those) is named by `element_name` when given (its name in the diagram)."""
    if "," in stage:
        return "、".join(stage_label(part, translate, instance_name, element_name) for part in stage.split(",") if part)
    key, instance = split(stage)
    if key not in STAGE_NAMES and element_name is not None:
        return element_name(stage)
    name = stage_name(key)
    if translate is not None and key in STAGE_NAMES:
        name = translate(name)
    if instance and instance_name is not None:
        instance = instance_name(instance)
    return f"{name}（{instance}）" if instance else name


def keys_named(text: str, translate=None, element_names: dict[str, str] | None = None) -> list[str]:
    """The stages a person means by `text`, as a filter asks for them: the keys whose name (in Chinese, or as
    `translate` gives it) is `text`, the activities declaring no stage whose diagram name (`element_names`: id →
    name) is `text`, else those whose name contains it; a key given as such is itself. Letter case and spaces
    around do not matter; a text naming nothing gives no key."""
    wanted = (text or "").strip().casefold()
    if not wanted:
        return []
    names: dict[str, set[str]] = {key: {name} for key, name in TASK_STAGES.items()}
    if translate is not None:
        for key, name in TASK_STAGES.items():
            names[key].add(translate(name))
    for bpmn_id, name in (element_names or {}).items():
        if bpmn_id not in names and name:
            names[bpmn_id] = {name}
    folded = {key: {n.strip().casefold() for n in found if n} for key, found in names.items()}
    exact = [key for key, found in folded.items() if wanted in found or key.casefold() == wanted]
    return exact or [key for key, found in folded.items() if any(wanted in n for n in found)]
