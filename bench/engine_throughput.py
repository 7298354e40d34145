"""Engine throughput: cases (start + 5 user tasks on an approval-shaped diagram) through the services,
against bare in-memory SpiffWorkflow on the same diagram in the same run.

    python bench/engine_throughput.py [--cases 300] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints starts/s, completions/s, the ratio to the bare engine and the stored state bytes per completed case.
Targets (issue "Engine core"): >= 400 completions/s on SQLite, >= 0.4x the bare engine, <= 8 KB per case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg_schema import scratch_schema  # noqa: E402
from engine.process_engine import ProcessEngine  # noqa: E402
from engine.store import Case, Database, upgrade  # noqa: E402

DIAGRAM = ROOT / "tests" / "fixtures" / "approval_shape.bpmn"
FORMS = ROOT / "tests" / "fixtures" / "forms"
STEPS = [
    ("accept", {"outcome": "accept", "opinion": "材料齐全，予以受理"}),
    ("review", {"opinion": "经审查符合法定条件", "reviewed_by": ["李伟", "赵丽"]}),
    ("decide", {"decision": "approve", "decision_opinion": "准予许可"}),
    ("certificate", {"certificate_no": "JY13301020000001"}),
    ("deliver", {"delivery": "window", "delivered_to": "张三"}),
]
INITIAL = {"department": "market", "applicant": {"name": "张三", "id_type": "身份证"}, "item": "食品经营许可"}


def bare_engine(n: int) -> tuple[float, float]:
    """Starts/s and completions/s of SpiffWorkflow alone, in memory, no persistence."""
    from SpiffWorkflow import TaskState
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser

    parser = CamundaParser()
    parser.add_bpmn_file(str(DIAGRAM))
    spec = parser.get_spec("approval_shape")
    start_time = done_time = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        wf = BpmnWorkflow(spec)
        wf.task_tree.data.update(INITIAL)
        wf.do_engine_steps()
        t1 = time.perf_counter()
        for _bpmn_id, data in STEPS:
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
        t2 = time.perf_counter()
        assert wf.is_completed()
        start_time += t1 - t0
        done_time += t2 - t1
    return n / start_time, n * len(STEPS) / done_time


def through_services(url: str, n: int) -> dict:
    db = Database(url)
    upgrade(db)
    engine = ProcessEngine(db, forms_dir=FORMS)
    engine.repository.deploy_file(DIAGRAM, "bench")
    start_time = done_time = 0.0
    latencies = []
    case_ids = []
    for _ in range(n):
        t0 = time.perf_counter()
        case = engine.runtime.start("approval_shape", INITIAL, started_by="bench")
        t1 = time.perf_counter()
        for bpmn_id, data in STEPS:
            [task] = engine.tasks.query(case_id=case.id)
            assert task.bpmn_id == bpmn_id
            s = time.perf_counter()
            engine.tasks.complete(task.id, "bench.user", data)
            latencies.append(time.perf_counter() - s)
        t2 = time.perf_counter()
        start_time += t1 - t0
        done_time += t2 - t1
        case_ids.append(case.id)
    with db.session() as s:
        completed = s.scalar(select(func.count()).select_from(Case).where(Case.status == "completed"))
        state_bytes = s.scalar(select(func.avg(func.length(Case.state))).where(Case.id.in_(case_ids)))
    engine.close()
    assert completed == n, f"{completed} of {n} cases completed"
    latencies.sort()
    return {
        "starts_per_s": n / start_time,
        # every completion in the loop includes the inbox query that finds the task, as a client would
        "completions_per_s": n * len(STEPS) / done_time,
        "complete_p50_ms": statistics.median(latencies) * 1000,
        "complete_p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "state_bytes": float(state_bytes),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--pg", help="PostgreSQL URL to measure too")
    args = ap.parse_args()

    bare_starts, bare_completions = bare_engine(args.cases)
    print(f"bare SpiffWorkflow (memory): {bare_starts:8.0f} starts/s {bare_completions:8.0f} completions/s")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(("SQLite (WAL, synchronous=FULL)", through_services(f"sqlite:///{tmp}/bench.db", args.cases)))
    if args.pg:
        url, drop = scratch_schema(args.pg)
        try:
            runs.append(("PostgreSQL", through_services(url, args.cases)))
        finally:
            drop()
    for name, r in runs:
        print(
            f"{name:<31}: {r['starts_per_s']:8.0f} starts/s {r['completions_per_s']:8.0f} completions/s "
            f"(x{r['completions_per_s'] / bare_completions:.2f} of bare) "
            f"complete p50 {r['complete_p50_ms']:.2f} ms p95 {r['complete_p95_ms']:.2f} ms "
            f"state {r['state_bytes'] / 1024:.1f} KB/case"
        )


if __name__ == "__main__":
    main()
