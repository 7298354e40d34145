"""Parts the procedure diagrams share: supervision timers on a stage and the watcher of a whole-case limit."""

from __future__ import annotations

from processes.tools.bpmn_builder import Container, Process

_LEVELS = (
    ("yellow", "黄牌预警", "deadline_warn({stage})", "剩余不足2个工作日或已用承诺时限的80%：黄牌预警"),
    ("red", "红牌（承诺时限届满）", "deadline({stage})", "承诺时限届满未办结：红牌"),
    ("red_plus", "红牌督办（法定时限届满）", "deadline({stage}, 'statutory')", "法定时限届满未办结：红牌并发督办函"),
)
SUPERVISION_DOC = (
    "电子监察：预警分级为本地配置（黄牌：剩余不足2个工作日或已用承诺时限80%；红牌：承诺时限届满；"
    "红牌督办：法定时限届满），计时扣除依法中止计时的期间。"
)


def stage_timers(c: Container, host: str, stage_expr: str, label: str, lane: str = "supervision",
                 levels: tuple[str, ...] = ("yellow", "red", "red_plus")) -> None:  # fmt: skip
    """Non-interrupting boundary timers on `host` for the yellow / red / red-plus alerts of a stage clock.
    `stage_expr` is the Python expression of the stage key, e.g. "'review'" or "'co_review:' + co_department"."""
    end = f"{host}_alerted"
    for kind, name, expression, doc in _LEVELS:
        if kind not in levels:
            continue
        timer = f"{host}_{kind}"
        c.boundary_timer(
            timer, name, host, expression.format(stage=stage_expr), doc=f"{label}：{doc}。{SUPERVISION_DOC}"
        )
        script = f"{host}_{kind}_alert"
        c.script(script, f"{label}{name}", lane, f"alert('{kind}', {stage_expr})", doc=f"{label}：{doc}")
        c.flow(timer, script)
        c.flow(script, end)
    c.end(end, "预警已发出", lane)


def case_watch(p: Process, id: str, label: str, signal: str, lane: str = "supervision", doc: str = "") -> str:
    """A sub-process that lasts from the start of the whole-case clock until the main path throws `signal`;
    its boundary timers raise the case's yellow / red / red-plus alerts. Returns its id."""
    watch = p.subprocess(id, label, lane, doc=doc or f"{label}：在作出决定前持续监控办理时限（stage=case）。")
    inner = watch.inner
    inner.start(f"{id}_start", "开始监控")
    inner.catch_signal(f"{id}_until", "作出决定", None, signal, doc="主流程作出决定时抛出信号，监控结束。")
    inner.end(f"{id}_end", "监控结束")
    inner.flow(f"{id}_start", f"{id}_until")
    inner.flow(f"{id}_until", f"{id}_end")
    stage_timers(p, id, "'case'", "办理时限", lane)
    return id
