"""The demo organisation: departments, one user per role per relevant department, the catalog, the procedures
and a few dozen cases in varied states (some in the yellow, some red), for `govflow demo`.

Cases are walked on a clock set in the past (a second engine over the same database with a ManualClock), so
their time limits are really running late — nothing is faked in the data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from engine.clock import ManualClock
from engine.errors import GovflowError
from engine.process_engine import ProcessEngine
from engine.store import Case
from engine.store.identity import Membership

DEMO_PASSWORD = "govflow-demo"
NAMES = (
    "李伟", "王芳", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴婷", "徐明", "孙悦", "马超", "朱琳",
    "胡斌", "郭娜", "何军", "林晓", "高峰", "罗燕", "梁宇", "宋佳", "郑凯", "谢颖", "韩冰", "唐诚", "冯雪", "于浩",
    "董倩", "萧然", "程亮", "曹阳", "袁媛", "邓涛", "许诺", "傅强", "沈洁", "曾鹏", "彭琳", "吕东", "苏晴", "卢刚",
    "蒋欣", "蔡鑫", "贾蕾", "丁一", "魏来", "薛宁", "叶青", "阎石", "余晖", "潘越", "杜鹃", "戴维", "夏雨", "钟灵",
)  # fmt: skip
# The department leaders named in departments.toml (their user names are the pinyin of these names).
LEADER_NAMES = {
    "zhou.ming": "周明", "zhao.gang": "赵刚", "sun.li": "孙丽", "qian.wei": "钱伟", "li.qiang": "李强",
    "zhou.hua": "周华", "wu.jian": "吴健", "zheng.lan": "郑兰", "wang.fang": "王芳", "feng.yu": "冯雨",
    "chen.bo": "陈波", "chu.jing": "储静", "wei.dong": "魏东", "jiang.ping": "蒋平",
}  # fmt: skip
APPLICANTS = (
    ({"kind": "organisation", "name": "示范县鑫源餐饮管理有限公司", "id_no": "91330100MA2XXXX01K"}, None),
    ({"kind": "person", "name": "王建国", "id_no": "330102198001011234"}, None),
    ({"kind": "organisation", "name": "示范县锦绣文化传媒有限公司", "id_no": "91330100MA2XXXX02F"}, None),
    ({"kind": "person", "name": "刘桂英", "id_no": "330102196505053321"},
     {"name": "柳庄村代办员 张红", "phone": "13800000011"}),
    ({"kind": "organisation", "name": "示范县安居建筑工程有限公司", "id_no": "91330100MA2XXXX03D"}, None),
    ({"kind": "person", "name": "陈小明", "id_no": "330102199203151518"}, None),
    ({"kind": "organisation", "name": "示范县悦来宾馆", "id_no": "92330100MA2XXXX04B"}, None),
    ({"kind": "person", "name": "赵秀兰", "id_no": "33010219580808002X"},
     {"name": "上湾村代办员 李强", "phone": "13800000022"}),
)  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    department: str
    roles: tuple[str, ...]


def distinct_names(reserved=()):
    """Display names no two demo accounts share: NAMES in turn, then the other surname + given name pairs of NAMES,
    skipping `reserved` (the leaders' names)."""
    used = set(reserved)
    pairs = [(name[0], name[1:]) for name in NAMES]
    for name in [*NAMES, *(surname + given for surname, _ in pairs for _, given in pairs)]:
        if name not in used:
            used.add(name)
            yield name


def _short(code: str) -> str:
    return code.split("-", 1)[1] if code.startswith("qx-") else code


def plan_accounts(departments, items) -> list[DemoAccount]:
    """One account per role per relevant department (two reviewers and two officers, so that delegation and
    AB backups can be shown), the department leaders named in departments.toml, and the centre's staff."""
    by_code = {d.code: d for d in departments}
    kinds: dict[str, set[str]] = {}
    for item in items:
        kinds.setdefault(item.department, set()).add(item.kind)
        for co in item.co_departments or ():
            kinds.setdefault(co, set()).add("co")
    names = distinct_names(LEADER_NAMES.values())
    accounts: list[DemoAccount] = []

    def add(code: str, suffix: str, roles: tuple[str, ...], username: str | None = None):
        name = LEADER_NAMES.get(username) if username else None
        accounts.append(DemoAccount(username or f"{_short(code)}.{suffix}", name or next(names), code, roles))

    for code in sorted(kinds):
        if code not in by_code:
            continue
        k = kinds[code]
        if k - {"co"}:
            add(code, "clerk", ("clerk",))
            add(code, "approver", ("approver",))
        add(code, "reviewer", ("reviewer",))
        add(code, "reviewer2", ("reviewer",))
        if "penalty" in k:
            add(code, "officer", ("officer",))
            add(code, "officer2", ("officer",))
            add(code, "legal", ("legal_reviewer",))
        if "review_appeal" in k:
            add(code, "appeal", ("appeal_officer",))
            add(code, "appeal2", ("appeal_officer",))
        leader = by_code[code].leader
        if leader:
            add(code, "leader", ("leader", "approver"), username=leader)
    for d in departments:
        if "政务服务中心" in d.name:
            add(d.code, "clerk", ("clerk",))
            add(d.code, "supervisor", ("supervisor",))
            add(d.code, "admin", ("admin", "designer"))
            if d.leader:
                add(d.code, "leader", ("leader", "supervisor"), username=d.leader)
        elif d.level in ("town", "village"):
            add(d.code, "clerk", ("clerk",))
    seen, unique = set(), []
    for a in accounts:
        if a.username not in seen:
            seen.add(a.username)
            unique.append(a)
    return unique


def seed_organisation(engine, processes_dir: Path) -> list[DemoAccount]:
    """The statutory calendar, departments, the catalog and the demo accounts (only when no user exists yet);
    returns the accounts."""
    engine.calendar.seed()  # the official schedule as the service's own data (refreshed, overrides kept)
    engine.identity.load_departments(processes_dir / "departments.toml")
    engine.catalog.load(processes_dir / "catalog.toml")
    accounts = plan_accounts(engine.identity.departments(), engine.catalog.list())
    if engine.identity.count_users() == 0:
        for a in accounts:
            engine.identity.add_user(a.username, DEMO_PASSWORD, a.department, a.roles, a.display_name)
        names = {a.username for a in accounts}
        # One AB post to show: the health commission's first reviewer is away, the second covers.
        if {"wsjk.reviewer", "wsjk.reviewer2"} <= names:
            engine.identity.set_absent("wsjk.reviewer", "wsjk.reviewer2")
    return accounts


# -- cases --------------------------------------------------------------------------------------------------
POSITIVE = ("accept", "approve", "approved", "pass", "agree", "consent", "yes", "grant", True)


def _answer(field, now):
    """A plausible value for one form field (the positive choice of an enum)."""
    if field.enum:
        return next((v for v in POSITIVE if v in field.enum), field.enum[0])
    if field.type == "boolean":
        return True
    if field.type in ("number", "integer"):
        return field.minimum if field.minimum is not None else 1
    if field.format == "date" or field.widget == "date":
        return now.date().isoformat()
    if field.type == "array" and field.item_fields:
        return [{sub.name: _answer(sub, now) for sub in field.item_fields if sub.required}]
    if field.type == "array":
        return []
    if field.type == "object":
        return {sub.name: _answer(sub, now) for sub in field.item_fields if sub.required}
    return "经审查，材料齐全，符合法定条件。" if field.name == "opinion" else "示范数据"


def task_answer(engine, task) -> dict:
    """Form data that completes a task on its positive path (required fields and the opinion)."""
    if not task.form_key or not engine.forms.exists(task.form_key):
        return {"opinion": "同意。"}
    form = engine.forms.get(task.form_key)
    now = engine.now()
    return {f.name: _answer(f, now) for f in form.fields if f.required or f.name == "opinion"}


def _actor_for(engine, task):
    """A demo user who may act on the task: the assignee, else the first member of a candidate group."""
    with engine.db.session() as session:
        for group in task.candidate_groups or []:
            role, _sep, department = group.partition("@")
            member = session.query(Membership.username).filter_by(role=role, department=department).first()
            if member:
                return engine.identity.actor(member[0])
    return engine.identity.actor(task.assignee) if task.assignee else None


def walk(engine, case_id: str, steps: int, clock: ManualClock, rng: random.Random) -> int:
    """Complete up to `steps` open tasks of the case on their positive path, a working day or two apart."""
    done = 0
    while done < steps:
        open_tasks = engine.tasks.query(case_id=case_id, state="open", limit=5)
        if not open_tasks:
            break
        task = open_tasks[0]
        actor = _actor_for(engine, task)
        if actor is None:
            break
        try:
            engine.tasks.claim(task.id, actor.username, actor=actor)
            engine.tasks.complete(task.id, actor.username, task_answer(engine, task), actor=actor)
        except GovflowError:
            break
        done += 1
        clock.advance(timedelta(days=rng.choice((1, 1, 2, 3)), hours=rng.randint(0, 3)))
    return done


def seed_cases(engine, count: int = 36, seed: int = 5) -> int:
    """Start `count` cases of the approval items at different moments of the last weeks and walk each some way;
    the older ones, stuck in review, run yellow or red. Returns the number of cases started."""
    rng = random.Random(seed)
    deployed = {p.key for p in engine.repository.list()}
    items = [i for i in engine.catalog.list() if i.kind == "license" and i.process in deployed]
    if not items:
        return 0
    now = engine.now()
    started = 0
    for n in range(count):
        days_ago = rng.choice((0, 1, 2, 4, 6, 8, 9, 10, 12, 15, 18, 22, 26, 30))
        clock = ManualClock((now - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0))
        past = ProcessEngine(engine.db, clock=clock, forms_dir=engine.forms_dir)
        item = items[n % len(items)]
        applicant, proxy = APPLICANTS[n % len(APPLICANTS)]
        clerk = _clerk(past, item.department)
        if clerk is None:
            continue
        applicant = {**applicant, "phone": f"1390000{n:04d}"}
        try:
            provided = [m.name for m in item.materials if m.required]
            case = past.catalog.apply(item.code, applicant, {"materials": provided}, actor=clerk, proxy=proxy)
        except GovflowError:
            continue
        started += 1
        # The newest stay at acceptance; older ones go through review, decision or to the end.
        steps = 0 if days_ago <= 1 else rng.choice((1, 1, 2, 2, 3, 5))
        walk(past, case.id, steps, clock, rng)
    return started


def has_cases(engine) -> bool:
    with engine.db.session() as session:
        return session.scalars(select(Case.id).limit(1)).first() is not None


def _clerk(engine, department: str) -> str | None:
    for user in engine.identity.users(department):
        if "clerk" in user.roles:
            return user.username
    return None


def accounts_table(accounts: list[DemoAccount]) -> str:
    """The demo accounts as printed on start (and written in the README)."""
    lines = [f"demo accounts (password for all: {DEMO_PASSWORD})"]
    for a in accounts:
        lines.append(f"  {a.username:<28} {','.join(a.roles):<24} {a.department:<26} {a.display_name}")
    return "\n".join(lines)
