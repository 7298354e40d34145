"""Runtime service: start cases, send them messages, fire their timers, suspend, resume, terminate, retry."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from engine import audit, policy, workflow, workflow_clock
from engine.case_json import case_json, check_json_object
from engine.case_lookup import find_case
from engine.errors import CaseScriptError, GovflowError, InvalidData, NotFound
from engine.public_status import new_check_code
from engine.receipts import next_receipt_no
from engine.step import StepContext, StepFailed, deliver_thrown, reopen_after_error, run_step, step_on
from engine.store import Case, HumanTask, ProcessVersion

_PREFIX = re.compile(r"^[A-Z0-9]{1,16}$")
CORRECTABLE_FACTS = frozenset({"applicant", "proxy"})


class RuntimeService:
    def __init__(self, engine):
        self.engine = engine
        self._versions: dict[int, tuple[str, int]] = {}

    def start_as(self, who, process_key: str, data: dict | None = None, *, version: int | None = None,
                 override: policy.Override | None = None) -> Case:  # fmt: skip
        """Start a case as a person (the API, the CLI): the policy's `start` in the case's department (their
        own unless the data names another). A process that runs catalog items is refused, naming the items: its
        cases get their facts (department, applicant, limits, materials) from the catalog, through
        `catalog.accept`, exactly as at the window."""
        data = check_json_object(data)
        pv = self.engine.repository.get(process_key, version)
        items = [i.code for i in self.engine.catalog.list() if i.process == pv.key]
        if items:
            raise InvalidData(
                f"process {pv.key} runs catalog items ({', '.join(items[:5])}{' ...' if len(items) > 5 else ''}): "
                f"accept an application for one of them (`govflow apply ITEM_CODE --applicant ...`, or item_code "
                f"with applicant in the API) so that the item's department, limits and materials apply",
                [("item_code", "required")],
            )  # fmt: skip
        who = policy.subject(self.engine, who)
        data = {"department": who.department, **data}
        if override is None:
            policy.require(who, "start", policy.Target(department=data.get("department")))
        return self.start(pv.key, data, started_by=who.username, version=pv.version, override=override)

    def start(self, process_key: str, data: dict | None = None, *, started_by: str = "system",
              version: int | None = None, receipt_prefix: str | None = None,
              override: policy.Override | None = None, event: tuple[str, str] | None = None) -> Case:  # fmt: skip
        """Start a case on the latest (or given) version of a process; one transaction, nothing left behind
        when a script in the diagram fails. `event` (kind, name): the message or signal whose start event
        starts it (engine.services.messaging); its payload is `data`."""
        data = check_json_object(data)
        pv = self.engine.repository.get(process_key, version)
        prefix = (receipt_prefix or re.sub(r"[^A-Z0-9]", "", pv.key.upper())[:8] or "CASE").upper()
        if not _PREFIX.match(prefix):
            raise InvalidData(f"receipt prefix '{prefix}' must be 1-16 letters or digits")
        engine = self.engine
        try:
            with workflow_clock.clock_context(engine.now), engine.db.write_session() as session, session.begin():
                now = engine.now()
                bundle = engine.bundle(session, pv.id)
                flow = workflow.CaseWorkflow.start(bundle, data, engine.script_engine())
                case = Case(
                    id=uuid.uuid4().hex, receipt_no=next_receipt_no(session, prefix, now), process_version_id=pv.id,
                    status="running", state="", serializer_version="", data={}, started_by=started_by,
                    check_code=new_check_code(),
                    trail_seq=0, trail_hash=audit.GENESIS,
                    created_at=now, updated_at=now,
                )  # fmt: skip
                session.add(case)
                session.flush()

                def apply(ctx: StepContext) -> dict:
                    flow.run_engine_steps(ctx.record)
                    started_on = {}
                    if event is not None:
                        kind, name = event
                        flow.deliver(kind, name, data, ctx.record)
                        started_on = {"started_on": {"kind": kind, "name": name}}
                    return {"process": pv.key, "version": pv.version, "data": data, **started_on,
                            **policy.override_payload(override)}  # fmt: skip

                step_on(engine, session, case, started_by, "case_started", apply, flow=flow)
                engine.pipeline.finish(session)
            deliver_thrown(engine, session)
            return case
        except StepFailed as failed:
            raise CaseScriptError("(not started)", failed.failure.element_id, failed.failure.message) from None
        except workflow.ScriptFailure as failure:
            raise CaseScriptError("(not started)", failure.element_id, failure.message) from None

    def send_message(self, case_id: str, name: str, payload: dict | None = None, *, actor: str = "system") -> Case:
        """Deliver a message to one case waiting for it (engine.services.messaging finds the cases by key)."""
        return self.deliver(case_id, "message", name, payload, actor=actor)

    def send_signal(self, case_id: str, name: str, payload: dict | None = None, *, actor: str = "system") -> Case:
        """Deliver a signal to every event of one case waiting for it."""
        return self.deliver(case_id, "signal", name, payload, actor=actor)

    def deliver(self, case_id: str, kind: str, name: str, payload: dict | None = None, *,
                actor: str = "system") -> Case:  # fmt: skip
        """Deliver a message or a signal to one case waiting for it, in a step of the case."""
        payload = check_json_object(payload, f"{kind} payload")

        def apply(ctx: StepContext):
            try:
                ctx.flow.deliver(kind, name, payload, ctx.record)
            except workflow.NotWaiting:
                waiting = ", ".join(ctx.flow.waiting_messages()) or "no message"
                raise GovflowError(f"case {ctx.case.receipt_no} is not waiting for {kind} '{name}' (waiting for: "
                                   f"{waiting})") from None  # fmt: skip
            return {kind: name, "data": payload}

        return run_step(self.engine, case_id, actor, f"{kind}_received", apply)

    def fire_timers(self, case_id: str, *, actor: str = "scheduler") -> Case:
        """Fire the case's timers that are due now and run what follows."""

        def apply(ctx: StepContext):
            due = ctx.case.next_timer_at
            ctx.flow.fire_due_timers(ctx.record)
            return {"due": due.isoformat() if due else None}

        return run_step(self.engine, case_id, actor, "timers_fired", apply)

    def suspend(self, case_id: str, *, actor: str, reason: str, override: policy.Override | None = None) -> Case:
        return self._set_status(case_id, actor, reason, "case_suspended", ("running",), "suspended", override)

    def resume(self, case_id: str, *, actor: str, reason: str, override: policy.Override | None = None) -> Case:
        return self._set_status(case_id, actor, reason, "case_resumed", ("suspended",), "running", override)

    def terminate(self, case_id: str, *, actor: str, reason: str, override: policy.Override | None = None) -> Case:
        return self._set_status(case_id, actor, reason, "case_terminated", ("running", "suspended", "error"),
                                "terminated", override)  # fmt: skip

    def _set_status(self, case_id, actor, reason, action, statuses, new_status, override=None) -> Case:
        if not (reason or "").strip():
            raise InvalidData("a reason is required", [("reason", "required")])

        def apply(ctx: StepContext):
            ctx.case.status = new_status
            if new_status == "terminated":
                ctx.case.completed_at = ctx.now
                for row in ctx.session.scalars(
                    select(HumanTask).where(HumanTask.case_id == ctx.case.id, HumanTask.state == "open")
                ):
                    row.state, row.completed_at = "cancelled", ctx.now
            return {"reason": reason.strip(), **policy.override_payload(override)}

        return run_step(self.engine, case_id, actor, action, apply, statuses=statuses, load_flow=False)

    def retry(self, case_id: str, *, actor: str, override: policy.Override | None = None) -> Case:
        """Put a case in `error` back to running and run its engine steps and due timers again."""

        def apply(ctx: StepContext):
            return {"previous_error": reopen_after_error(ctx), **policy.override_payload(override)}

        return run_step(self.engine, case_id, actor, "case_retried", apply, statuses=("error",))

    def correct(self, case_id: str, facts: dict, *, actor: str, reason: str) -> Case:
        """Correct the applicant's or the agent's particulars of a case (当场更正, 行政许可法第32条第1款第3项):
        the action made for them, audited with the old and the new values and the reason. Facts that route a
        case (department, item) are not corrected here: a case of the wrong item or department is refused and
        applied for again."""
        facts = check_json_object(facts, "facts")
        wrong = sorted(set(facts) - CORRECTABLE_FACTS)
        if wrong or not facts:
            named = ", ".join(wrong) or "nothing"
            raise InvalidData(f"only {', '.join(sorted(CORRECTABLE_FACTS))} can be corrected, not {named}",
                              [(name, "not correctable") for name in wrong])  # fmt: skip
        if not (reason or "").strip():
            raise InvalidData("a reason is required", [("reason", "required")])

        def apply(ctx: StepContext):
            before = {name: (ctx.case.data or {}).get(name) for name in facts}
            ctx.flow.correct_data(facts)
            return {"before": before, "after": facts, "reason": reason.strip()}

        return run_step(self.engine, case_id, actor, "case_corrected", apply, statuses=("running", "suspended"))

    def get(self, case_id: str) -> Case:
        with self.engine.db.lookup_session() as session:
            return find_case(session, case_id)

    def describe(self, case_id: str) -> dict:
        """The case as JSON: {id, receipt_no, process, version, status, data, tasks:[...]}."""
        with self.engine.db.session() as session:
            case = find_case(session, case_id)
            tasks = session.scalars(
                select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "open")
                .order_by(HumanTask.created_at)
            ).all()  # fmt: skip
            return self.case_json(case, tasks, session)

    def describe_for(self, who, case_ref: str) -> dict:
        """The case as `describe` gives it, when `who` may see it (the policy's `see_case`); NotFound otherwise,
        so a case out of their reach does not exist for them."""
        with self.engine.db.session() as session:
            case = find_case(session, case_ref)
            tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)
                                    .order_by(HumanTask.created_at)).all()  # fmt: skip
            if not policy.decide(policy.subject(self.engine, who), "see_case", policy.case_target(case, tasks)):
                raise NotFound(f"case {case_ref} does not exist")
            return self.case_json(case, tasks, session)

    def may_see(self, who, case_ref: str) -> bool:
        """Whether `who` may see the case (False for an unknown one too)."""
        try:
            self.describe_for(who, case_ref)
        except NotFound:
            return False
        return True

    def case_json(self, case: Case, open_tasks, session=None) -> dict:
        """The JSON of a case and its open task rows (as `describe` gives it, from rows the caller has)."""
        return case_json(case, open_tasks, self._version_names(case.process_version_id, session))

    def _version_names(self, version_id: int, session=None) -> tuple[str, int]:
        """(process key, version number) of a process version; versions never change, so they are kept."""
        names = self._versions.get(version_id)
        if names is None:
            query = select(ProcessVersion.key, ProcessVersion.version).where(ProcessVersion.id == version_id)
            if session is not None:
                row = session.execute(query).one()
            else:
                with self.engine.db.session() as own:
                    row = own.execute(query).one()
            names = self._versions[version_id] = (row.key, row.version)
        return names
