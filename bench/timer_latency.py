"""Timer latency on PostgreSQL: how late timers fire through the real scheduler, with 1 and 2 worker processes.

    python bench/timer_latency.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--spread 1000]
                                  [--burst 10000] [--threads 4]

Two runs per worker count, each in a fresh schema:
* spread: `--spread` timers due over one minute, set while the workers run (they learn of them by NOTIFY);
  lateness = when the timer's case step started minus the timer's due time. Target p99 < 1 s.
* burst: `--burst` timers due at the same instant (half an hour ago), set while no worker ran; then the workers
  start. Lateness counts from the workers' start.
  Drain time = from worker start until the last timer fired. Target: 10,000 drained within 30 s by 2 workers.
Each worker is a separate process running `TimerScheduler` (as `govflow worker` does).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.clock import ManualClock  # noqa: E402
from engine.process_engine import ProcessEngine  # noqa: E402
from engine.store import AuditEvent, Database, upgrade  # noqa: E402

DIAGRAM = ROOT / "tests" / "fixtures" / "tl_fire_at.bpmn"


def _worker(url: str, threads: int, ready, stop) -> None:
    from engine.scheduler import TimerScheduler

    engine = ProcessEngine(Database(url), forms_dir=None)
    scheduler = TimerScheduler(engine, threads=threads, sweep_seconds=60).start()
    ready.set()
    stop.wait()
    scheduler.stop()
    engine.close()


def _start_cases(engine: ProcessEngine, due: list[datetime], creators: int = 4) -> None:
    def start(at: datetime):
        engine.runtime.start("tl_fire_at", {"fire_at": at.isoformat()})

    with ThreadPoolExecutor(creators) as pool:
        list(pool.map(start, due))


def _fired(engine: ProcessEngine) -> list[AuditEvent]:
    with engine.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "timers_fired")))


def _wait_fired(engine: ProcessEngine, n: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with engine.db.session() as s:
            done = s.scalar(select(func.count()).where(AuditEvent.action == "timers_fired"))
        if done >= n:
            return
        time.sleep(0.2)
    raise SystemExit(f"only {done} of {n} timers fired within {timeout:.0f} s")


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Schema:
    """A fresh PostgreSQL schema for one run."""

    def __init__(self, pg: str):
        self.admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = (
            make_url(pg)
            .update_query_dict({"options": f"-csearch_path={self.name}"})
            .render_as_string(hide_password=False)
        )

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def _workers(url: str, count: int, threads: int):
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs = []
    for _ in range(count):
        ready = ctx.Event()
        p = ctx.Process(target=_worker, args=(url, threads, ready, stop))
        p.start()
        ready.wait(60)
        procs.append(p)
    return stop, procs


def _join(stop, procs) -> None:
    stop.set()
    for p in procs:
        p.join(30)


def run_spread(pg: str, n: int, workers: int, threads: int) -> dict:
    schema = Schema(pg)
    try:
        engine = ProcessEngine(Database(schema.url), forms_dir=None)
        upgrade(engine.db)
        engine.repository.deploy_file(DIAGRAM, "bench")
        stop, procs = _workers(schema.url, workers, threads)
        try:
            late = _spread_lateness(engine, n)
        finally:
            _join(stop, procs)
        engine.close()
        return {"p50": _quantile(late, 50), "p99": _quantile(late, 99), "max": max(late), "n": len(late)}
    finally:
        schema.drop()


def _spread_lateness(engine: ProcessEngine, n: int) -> list[float]:
    """Set `n` timers due over one minute from a little after they are all set up; their lateness."""
    t0 = time.perf_counter()  # every timer must still lie ahead when its case is set up: time a few starts
    _start_cases(engine, [datetime(2100, 1, 1, tzinfo=UTC)] * 40)
    per_case = (time.perf_counter() - t0) / 40
    first = datetime.now(UTC) + timedelta(seconds=5 + 1.5 * n * per_case)
    _start_cases(engine, [first + timedelta(seconds=60 * i / n) for i in range(n)])
    _wait_fired(engine, n, (first - datetime.now(UTC)).total_seconds() + 90)
    return [(e.at - datetime.fromisoformat(e.payload["due"])).total_seconds() for e in _fired(engine)]


def run_burst(pg: str, n: int, workers: int, threads: int) -> dict:
    schema = Schema(pg)
    try:
        # The cases are set up on a clock an hour behind, so their common due time is past for the workers.
        behind = ManualClock(datetime.now(UTC) - timedelta(hours=1))
        engine = ProcessEngine(Database(schema.url), clock=behind, forms_dir=None)
        upgrade(engine.db)
        engine.repository.deploy_file(DIAGRAM, "bench")
        due = datetime.now(UTC) - timedelta(minutes=30)
        t0 = time.perf_counter()
        _start_cases(engine, [due] * n)
        created = time.perf_counter() - t0
        started = datetime.now(UTC)
        stop, procs = _workers(schema.url, workers, threads)
        try:
            _wait_fired(engine, n, 600)
        finally:
            _join(stop, procs)
        events = _fired(engine)
        last = max(e.at for e in events)
        late = [(e.at - max(started, datetime.fromisoformat(e.payload["due"]))).total_seconds() for e in events]
        engine.close()
        return {"drain": (last - started).total_seconds(), "p50": _quantile(late, 50), "p99": _quantile(late, 99),
                "rate": n / max((last - started).total_seconds(), 1e-9), "created_per_s": n / created}  # fmt: skip
    finally:
        schema.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--spread", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=4, help="claiming threads per worker process")
    args = parser.parse_args()
    print(f"PostgreSQL, {args.threads} threads per worker; lateness in seconds")
    for workers in (1, 2):
        s = run_spread(args.pg, args.spread, workers, args.threads)
        print(f"spread {args.spread} over 60 s, {workers} worker(s): p50 {s['p50']:.3f}  p99 {s['p99']:.3f}  "
              f"max {s['max']:.3f}")  # fmt: skip
    for workers in (1, 2):
        b = run_burst(args.pg, args.burst, workers, args.threads)
        print(f"burst {args.burst} at one instant, {workers} worker(s): drained in {b['drain']:.1f} s "
              f"({b['rate']:.0f}/s); lateness p50 {b['p50']:.2f}  p99 {b['p99']:.2f}  "
              f"(cases set up at {b['created_per_s']:.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
