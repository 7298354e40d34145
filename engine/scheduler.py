"""The timer scheduler: APScheduler is the clock, the `cases.next_timer_at` column is the list of timers.

After every step a case records when its next timer is due. The scheduler arms one APScheduler date job for the
earliest due time (no polling delay), moves it earlier when a step in this process (or, on PostgreSQL, in any
process, through LISTEN/NOTIFY) sets an earlier timer, and keeps a slow safety sweep. A due case is claimed and
fired in one transaction — `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never fire the same timer
twice. On SQLite one worker is the rule: a second is refused (a lock file beside the database). Timers that fell
due while no worker ran are found by the first drain at start. A timer that cannot fire marks its case `error`
with the element and the message; it never stays silently due.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm.exc import StaleDataError

from engine import notify, workflow, workflow_clock
from engine.errors import CaseScriptError, Conflict, GovflowError
from engine.stage_clocks import EFFECTS_KEY, StepClocks
from engine.step import NothingDue, StepContext, StepFailed, mark_error, record_failure, run_step, step_on
from engine.store import Case, ClockStop, HumanTask, StageClock
from engine.store.supervision import SupervisedCase

log = logging.getLogger("govflow.scheduler")
CHANNEL = "govflow_timers"
SLACK = timedelta(milliseconds=5)  # a timer fires when now is strictly past its time
MIN_REARM = timedelta(milliseconds=50)  # after a drain: due cases left are being fired by another worker


class WorkerRefused(GovflowError):
    """A second timer worker on an embedded (SQLite) database."""

    http_status = 409


# --- firing -------------------------------------------------------------------------------------------------------
BATCH = 32  # due cases claimed and fired per transaction


def _fire(ctx: StepContext) -> dict:
    """The step of a due case: fire its due timers and run on to the next waits."""
    due = ctx.case.next_timer_at
    clocks = StepClocks.of(ctx)
    if clocks.open_stops():
        # While a clock stands still its due dates move day by day: judge the timers on today's dates.
        ctx.flow.rearm_timers()
    ctx.flow.fire_due_timers(ctx.record)
    after = ctx.flow.next_timer_due()
    if not ctx.trail and after is not None and after < ctx.now and not clocks.open_stops():
        raise workflow.ScriptFailure(None, f"the timer due at {after.isoformat()} did not fire")
    return {"due": due.isoformat() if due else None}


def fire_next(engine, *, actor: str = "scheduler") -> str | None:
    """Claim the earliest due case no other worker holds and fire its due timers; its id, or None when none is due.

    A case whose timer cannot fire is marked `error` (with the element and the message) rather than left due."""
    seen: list[str] = []

    def apply(ctx: StepContext):
        seen.append(ctx.case.id)
        return _fire(ctx)

    try:
        run_step(engine, None, actor, "timers_fired", apply, due_by=engine.now())
    except NothingDue:
        return None
    except CaseScriptError:
        pass  # run_step marked the case `error` with the element and the message
    except Conflict:
        pass  # changed under us (SQLite); it is due again and the next drain takes it
    except Exception as exc:  # noqa: BLE001 - a bug must not leave the timer due (a hot loop) nor kill the worker
        if not seen:
            raise
        log.exception("timer of case %s could not fire", seen[0])
        mark_error(engine, seen[0], actor, workflow.ScriptFailure(None, f"timer could not fire: {exc}"))
    return seen[0] if seen else None


def fire_batch(engine, size: int = BATCH, *, actor: str = "scheduler") -> int | None:
    """Claim up to `size` due cases no other worker holds (SKIP LOCKED) and fire them in one transaction.

    Returns how many cases it dealt with; None when none is due. Every case step is still whole: when one fails,
    the transaction rolls back, that case is marked `error` in a transaction of its own (1 is returned: that
    case), and the others stay due for the next batch. A failure the steps did not raise (at commit) falls back
    to one case per transaction, which tells the cases apart."""
    current: list[str | None] = [None]
    claimed = 0
    session = engine.db.write_session()
    try:
        with workflow_clock.clock_context(engine.now), session.begin():
            query = (
                select(Case).where(Case.status == "running", Case.next_timer_at < engine.now())
                .order_by(Case.next_timer_at).limit(size)
            )  # fmt: skip
            if engine.db.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            cases = list(session.scalars(query))
            if not cases:
                return None
            claimed = len(cases)
            prefetched = _prefetch(session, cases)
            for case in cases:
                current[0] = case.id
                step_on(engine, session, case, actor, "timers_fired", _fire, prefetched=prefetched[case.id])
            current[0] = None
            engine.pipeline.finish(session)  # once for the batch: the roll-up takes its rows in one order
        return claimed
    except StepFailed as failed:
        record_failure(engine, actor, failed)
        return 1
    except StaleDataError:
        return 0  # changed under us (SQLite); due again, the next batch takes it
    except Exception as exc:  # noqa: BLE001 - a bug must not leave timers due (a hot loop) nor kill the worker
        if current[0] is not None:
            log.exception("timer of case %s could not fire", current[0])
            mark_error(engine, current[0], actor, workflow.ScriptFailure(None, f"timer could not fire: {exc}"))
            return 1
        if not claimed:
            raise
        log.warning("a batch of %d timers failed at commit; firing them one by one", claimed, exc_info=True)
        return sum(1 for _ in range(claimed) if fire_next(engine, actor=actor) is not None)
    finally:
        session.close()


def _prefetch(session, cases: list[Case]) -> dict[str, dict]:
    """The rows the steps of `cases` read (open tasks, stage clocks, clock stops, supervision rows), in one query
    per table for the batch instead of one per case."""
    ids = [case.id for case in cases]
    tasks, clocks, stops = ({i: [] for i in ids} for _ in range(3))
    for row in session.scalars(select(HumanTask).where(HumanTask.case_id.in_(ids), HumanTask.state == "open")):
        tasks[row.case_id].append(row)
    for row in session.scalars(select(StageClock).where(StageClock.case_id.in_(ids)).order_by(StageClock.id)):
        clocks[row.case_id].append(row)
    for row in session.scalars(select(ClockStop).where(ClockStop.case_id.in_(ids)).order_by(ClockStop.id)):
        stops[row.case_id].append(row)
    # Into the identity map, where the supervision hook finds them (held here: the map itself keeps weak refs).
    query = select(SupervisedCase).where(SupervisedCase.case_id.in_(ids))
    supervised = {row.case_id: row for row in session.scalars(query)}
    return {
        i: {"open_tasks": tasks[i], "supervised": supervised.get(i),
            "effects": {EFFECTS_KEY: partial(StepClocks.prefilled, rows=clocks[i], stops=stops[i])}}
        for i in ids
    }  # fmt: skip


def drain(engine, threads: int = 1, limit: int | None = None) -> int:
    """Fire due cases until none is due (or `limit` are done); `threads` claim side by side. Returns the count."""
    lock = threading.Lock()
    count = [0]

    def loop():
        while True:
            with lock:
                left = None if limit is None else limit - count[0]
            if left is not None and left <= 0:
                return
            fired = fire_batch(engine, BATCH if left is None else min(BATCH, left))
            if fired is None:
                return
            with lock:
                count[0] += fired

    if threads <= 1:
        loop()
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="govflow-fire") as pool:
            for future in [pool.submit(loop) for _ in range(threads)]:
                future.result()
    return count[0]


def next_due(engine) -> datetime | None:
    """The earliest timer of a running case."""
    with engine.db.session() as session:
        return session.scalar(select(func.min(Case.next_timer_at)).where(Case.status == "running"))


def before_save(ctx) -> None:
    """Step phase (before the state): remember the case's next timer before the step saves its new one."""
    ctx.effects["next_timer_before"] = ctx.case.next_timer_at


def after_save(ctx) -> None:
    """Step phase (after the tasks): a case's next timer changed — tell this process's scheduler (after commit)
    and, on PostgreSQL, every listening worker (NOTIFY is delivered at commit)."""
    due = ctx.case.next_timer_at
    if due is None or due == ctx.effects.get("next_timer_before"):
        return
    scheduler = getattr(ctx.engine, "timer_scheduler", None)
    if scheduler is not None:
        event.listen(ctx.session, "after_commit", lambda _session: scheduler.wake(due), once=True)
    if ctx.engine.db.is_postgresql:
        ctx.session.execute(text("SELECT pg_notify(:channel, :due)"), {"channel": CHANNEL, "due": due.isoformat()})


# --- the scheduler ------------------------------------------------------------------------------------------------
class TimerScheduler:
    """Runs the engine's timers in this process (`govflow worker`, or inside `demo`/`serve`)."""

    def __init__(self, engine, *, threads: int | None = None, sweep_seconds: float = 30.0,
                 outbox_seconds: float = 5.0):  # fmt: skip
        self.engine = engine
        self.threads = threads or (4 if engine.db.is_postgresql else 1)
        if not engine.db.is_postgresql:
            self.threads = 1  # SQLite writers queue anyway
        self.sweep_seconds = sweep_seconds
        self.outbox_seconds = outbox_seconds
        self.fired = 0
        self._scheduler: BackgroundScheduler | None = None
        self._lock_file = None
        self._wake_lock = threading.Lock()
        self._next_wake: datetime | None = None  # when the armed "wake" job runs
        self._kicked = threading.Event()  # something may be due: the drain thread goes round
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle
    def start(self) -> TimerScheduler:
        """Start firing: at once for what fell due meanwhile, then at each timer's time."""
        if self.engine.db.dialect == "sqlite":
            self._lock_file = _sqlite_worker_lock(self.engine.db.url)
        self._scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                          "misfire_grace_time": None})  # fmt: skip
        # The jobs only kick the drain thread: a long drain never makes APScheduler skip a wake-up.
        self._scheduler.add_job(self._kicked.set, "interval", seconds=self.sweep_seconds, id="sweep")
        self._scheduler.add_job(self._dispatch, "interval", seconds=self.outbox_seconds, id="outbox")
        self._scheduler.start()
        self.engine.timer_scheduler = self
        self._spawn(self._drain_loop, "govflow-timer-drain")
        if self.engine.db.is_postgresql:
            self._spawn(self._listen, "govflow-timer-listen")
        self._kicked.set()  # timers that fell due while no worker ran
        log.info("timer scheduler started (%s, %d threads)", self.engine.db.dialect, self.threads)
        return self

    def stop(self, wait: bool = True) -> None:
        self._stopping.set()
        if self.engine.timer_scheduler is self:
            self.engine.timer_scheduler = None
        self._kicked.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        for thread in self._threads:
            thread.join(timeout=30 if wait else 0.1)
        self._threads = []
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self) -> bool:
        return self._scheduler is not None and not self._stopping.is_set()

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- arming
    def wake(self, due: datetime | None) -> None:
        """Make sure the scheduler runs at `due` (engine time) at the latest."""
        if due is None or not self.running:
            return
        delay = max(timedelta(0), due - self.engine.now())
        when = datetime.now(UTC) + delay + SLACK
        with self._wake_lock:
            if self._next_wake is not None and self._next_wake <= when:
                return
            self._next_wake = when
            try:
                self._scheduler.add_job(self._woken, "date", run_date=when, id="wake", replace_existing=True)
            except Exception:  # noqa: BLE001 - shutting down
                self._next_wake = None

    def _woken(self) -> None:
        with self._wake_lock:
            self._next_wake = None  # the armed job has run: any later time may be armed now
        self._kicked.set()

    def _drain_loop(self) -> None:
        while not self._stopping.is_set():
            self._kicked.wait()
            self._kicked.clear()
            if self._stopping.is_set():
                return
            try:
                fired = drain(self.engine, self.threads)
                self.fired += fired
                if fired:
                    self._dispatch()
                self._deliver_messages()
                due = next_due(self.engine)
            except Exception:  # noqa: BLE001 - the database may be away for a moment; the sweep retries
                log.exception("timer drain failed")
                continue
            if due is not None:
                self.wake(max(due, self.engine.now() + MIN_REARM))

    def _deliver_messages(self) -> None:
        """Messages and signals still pending (a process stopped between a step's commit and their delivery):
        delivered on every round, the safety sweep's included."""
        try:
            self.engine.messaging.deliver_pending()
        except Exception:  # noqa: BLE001 - retried on the next round
            log.exception("message delivery failed")

    def _dispatch(self) -> None:
        try:
            notify.dispatch(self.engine)
        except Exception:  # noqa: BLE001 - retried on the next round
            log.exception("notification dispatch failed")

    def _listen(self) -> None:
        """PostgreSQL: wake when any process sets an earlier timer (NOTIFY from the save hook)."""
        while not self._stopping.is_set():
            try:
                dialect = self.engine.db.engine.dialect
                args, kwargs = dialect.create_connect_args(make_url(self.engine.db.url))
                with psycopg.connect(*args, **kwargs, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.wake(datetime.fromisoformat(note.payload))
            except Exception:  # noqa: BLE001 - reconnect; the sweep covers the gap
                log.warning("timer listener lost its connection; reconnecting", exc_info=True)
                self._stopping.wait(5)


def _sqlite_worker_lock(url: str):
    """Hold an exclusive lock on `<database>.worker.lock`; refuse when another worker holds it."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database).with_name(Path(database).name + ".worker.lock")
    handle = open(path, "a+")  # noqa: SIM115 - held open for the worker's lifetime
    try:
        try:
            import fcntl  # POSIX only: imported where it is used, with the Windows fallback below

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows
            import msvcrt  # Windows only

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        handle.close()
        raise WorkerRefused(
            f"another govflow worker is already running on the SQLite database {database}; on SQLite only one "
            "worker may fire timers (use PostgreSQL to run several)"
        ) from None
    return handle
