"""HTTP inbox: task completions through the JSON API under gunicorn on PostgreSQL, and the inbox query with
100,000 open tasks.

    python bench/http_inbox.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test] [--completions 2000]
                               [--clients 8] [--workers 4] [--open-tasks 100000] [--queries 300]

1. Fills a fresh PostgreSQL schema with `--open-tasks` open tasks spread over 50 departments (one tenth in the
   first) by bulk insert of the case and task rows the inbox reads (starting 100,000 cases one by one would take
   minutes and measures nothing the inbox does).
2. Starts real cases (one review task each) for `--clients` reviewers, serves `webui.create_app()` with gunicorn,
   and lets each client POST /api/v1/tasks/{id}/complete for its own tasks: completions/s and latency p50/p95
   (`--completions 0` skips this part).
3. GET /api/v1/tasks as a reviewer of the big department (10,000 visible tasks) and of a typical one, plain,
   with a text search and with a colour filter: latency p50/p95.
Targets (issue #5): >= 300 completions/s, completion p95 < 30 ms, inbox p95 < 20 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg_schema import scratch_schema  # noqa: E402
from engine import inbox_projection  # noqa: E402
from engine.process_engine import ProcessEngine  # noqa: E402
from engine.store import Case, Database, HumanTask, TaskCandidate, upgrade  # noqa: E402

PASSWORD = "bench-password"
DEPARTMENTS = 50
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://govflow.bench">
  <bpmn:process id="bench_review" name="审查（基准）" isExecutable="true">
    <bpmn:startEvent id="received"/>
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="review"/>
    <bpmn:userTask id="review" name="审查" camunda:candidateGroups="reviewer@${department}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="done"/>
    <bpmn:endEvent id="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def dept(i: int) -> str:
    return f"bench-{i:02d}"


def populate(engine: ProcessEngine, n: int, version_id: int) -> None:
    """n open review tasks over the departments (10 % in bench-00), due dates from 10 days ago to 30 ahead; the
    cases' data as the catalog writes it, the tasks' inbox projection as the engine writes it."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    batch = 5000
    for start in range(0, n, batch):
        cases, tasks, candidates = [], [], []
        for k in range(start, min(n, start + batch)):
            d = dept(0) if k % 10 == 0 else dept(1 + k % (DEPARTMENTS - 1))
            case_id, task_id = uuid.uuid4().hex, str(uuid.uuid4())
            created = now - timedelta(minutes=k % 5000)
            receipt_no = f"BENCH-{k:07d}"
            data = {"department": d, "item_code": f"ITEM-{k % 40:03d}", "item_name": f"事项{k % 40}",
                    "applicant": {"name": f"申请人{k}"}}  # fmt: skip
            cases.append({
                "id": case_id, "receipt_no": receipt_no, "process_version_id": version_id, "status": "running",
                "state": "{}", "serializer_version": "bench", "lock_version": 1, "started_by": "bench", "data": data,
                "trail_seq": 0, "trail_hash": "0" * 64, "created_at": created, "updated_at": created,
            })  # fmt: skip
            group = f"{'reviewer' if k % 3 else 'approver'}@{d}"
            tasks.append({
                "id": task_id, "case_id": case_id, "bpmn_id": "review" if k % 3 else "decide",
                "name": "审查" if k % 3 else "决定", "lane": None, "candidate_groups": [group],
                "candidate_users": [], "assignee": None, "state": "open", "form_key": None,
                "created_at": created, "due_at": now + timedelta(hours=rng.randint(-240, 720)),
                # the inbox projection, as the task projection writes it when the task opens
                **inbox_projection.task_columns(receipt_no, data, [group], []),
            })  # fmt: skip
            candidates.append({"task_id": task_id, "kind": "group", "name": group})
        with engine.db.session() as session, session.begin():
            session.execute(insert(Case), cases)
            session.execute(insert(HumanTask), tasks)
            session.execute(insert(TaskCandidate), candidates)
    settle(engine, ("cases", "human_tasks", "task_candidates"))


def settle(engine, tables: tuple[str, ...], tries: int = 20) -> None:
    """What autovacuum does to a table after a bulk load: statistics and the visibility map. A transaction open
    elsewhere on the server (other work on the machine) keeps VACUUM from marking the new rows all-visible, so
    repeat until it has (index-only scans depend on it), as autovacuum would."""
    with engine.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(tries):
            for table in tables:
                conn.execute(text(f"VACUUM ANALYZE {table}"))
            shares = conn.execute(text(
                "SELECT min(relallvisible::float / greatest(relpages, 1)) FROM pg_class "
                "WHERE oid = ANY(CAST(:names AS regclass[]))"), {"names": list(tables)}).scalar()  # fmt: skip
            if shares >= 0.99:
                return
            time.sleep(1)
        print(f"warning: after {tries} VACUUMs only {shares:.0%} of the pages are all-visible (busy server)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, token: str | None = None, body: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    t0 = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    return response.status, payload, elapsed


def serve(url: str, workers: int, port: int, tmp: str) -> subprocess.Popen:
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_SECRET_KEY": "bench", "GOVFLOW_FILES_DIR": tmp}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
         "--log-level", "warning", "webui:create_app()"],
        env=env,
    )  # fmt: skip
    for _ in range(300):
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not come up")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def completions(engine, port: int, clients: int, per_client: int) -> dict:
    tokens, work = [], []
    for c in range(clients):
        user = f"reviewer.c{c}"
        status, payload, _ = request(port, "POST", "/api/v1/token", body={"username": user, "password": PASSWORD})
        assert status == 200, payload
        tokens.append(json.loads(payload)["token"])
        ids = []
        for _ in range(per_client):
            case = engine.runtime.start("bench_review", {"department": f"bench-c{c}"}, started_by="bench")
            ids.append(engine.tasks.query(case_id=case.id)[0].id)
        work.append(ids)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def run(c: int):
        mine = []
        barrier.wait()
        for task_id in work[c]:
            data = {"data": {"opinion": "经审查符合法定条件", "conclusion": "pass"}}
            status, payload, elapsed = request(port, "POST", f"/api/v1/tasks/{task_id}/complete", tokens[c], data)
            if status != 200:
                failures.append(f"{status} {payload[:200]!r}")
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    assert not failures, failures[:3]
    return {"per_s": len(latencies) / wall, "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95),
            "n": len(latencies)}  # fmt: skip


def inbox(port: int, token: str, queries: int, args: str) -> dict:
    latencies, total = [], None
    for page in range(queries):
        status, payload, elapsed = request(port, "GET", f"/api/v1/tasks?per_page=20&page={1 + page % 5}{args}", token)
        assert status == 200, payload
        total = json.loads(payload)["total"]
        latencies.append(elapsed)
    return {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "total": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default=os.environ.get("GOVFLOW_BENCH_DATABASE_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
    ap.add_argument("--completions", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--open-tasks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()

    url, drop = scratch_schema(args.pg)
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = ProcessEngine(Database(url), forms_dir=None)
            upgrade(engine.db)
            diagram = Path(tmp) / "bench_review.bpmn"
            diagram.write_text(DIAGRAM, encoding="utf-8")
            [deployed] = engine.repository.deploy_file(diagram, "bench")
            identity = engine.identity
            identity.add_department("bench", "基准县", "county")
            for i in range(DEPARTMENTS):
                identity.add_department(dept(i), f"基准部门{i}", "county", "bench")
            for c in range(args.clients):
                identity.add_department(f"bench-c{c}", f"完成测试部门{c}", "county", "bench")
                identity.add_user(f"reviewer.c{c}", PASSWORD, f"bench-c{c}", ["reviewer"])
            identity.add_user("reviewer.big", PASSWORD, dept(0), ["reviewer", "approver"])
            identity.add_user("reviewer.typical", PASSWORD, dept(7), ["reviewer"])
            t0 = time.perf_counter()
            populate(engine, args.open_tasks, engine.repository.get(deployed.key).id)
            print(f"populated {args.open_tasks} open tasks in {time.perf_counter() - t0:.1f} s")

            port = free_port()
            server = serve(url, args.workers, port, tmp)
            if args.completions > 0:  # 0: the inbox queries only
                done = completions(engine, port, args.clients, args.completions // args.clients)
                print(f"completions via POST /api/v1/tasks/{{id}}/complete ({args.clients} clients, gunicorn "
                      f"{args.workers} workers, PostgreSQL): {done['per_s']:.0f}/s, p50 {done['p50']:.1f} ms, "
                      f"p95 {done['p95']:.1f} ms ({done['n']} completions)")  # fmt: skip
            for user in ("reviewer.big", "reviewer.typical"):
                status, payload, _ = request(port, "POST", "/api/v1/token",
                                             body={"username": user, "password": PASSWORD})  # fmt: skip
                token = json.loads(payload)["token"]
                for label, extra in (("all", ""), ("text", "&text=%E7%94%B3%E8%AF%B7%E4%BA%BA12"),
                                     ("colour", "&colour=red,red_plus"), ("item", "&item=ITEM-007")):  # fmt: skip
                    r = inbox(port, token, args.queries, extra)
                    print(f"inbox GET /api/v1/tasks {user:<16} {label:<6}: {r['total']:>6} matching, "
                          f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms")  # fmt: skip
            engine.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        drop()


if __name__ == "__main__":
    main()
