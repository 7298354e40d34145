"""Two people completing the same task at once: one wins, the other gets a clear 'already completed'."""

from __future__ import annotations

import threading

from engine.errors import Conflict


def test_two_threads_complete_same_task_one_wins(engine, deploy):
    deploy("approval_shape.bpmn")
    for _ in range(3):  # a few rounds, so the race really happens both ways
        case = engine.runtime.start("approval_shape", {"department": "market"})
        task = engine.tasks.query(case_id=case.id)[0]
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def work(user: str, task_id=task.id, barrier=barrier, results=results):
            barrier.wait()
            try:
                engine.tasks.complete(task_id, user, {"outcome": "accept", "opinion": user})
                results[user] = "ok"
            except Conflict as exc:
                results[user] = exc

        threads = [threading.Thread(target=work, args=(u,)) for u in ("li.wei", "zhao.li")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [u for u, r in results.items() if r == "ok"]
        losers = [r for r in results.values() if r != "ok"]
        assert len(winners) == 1 and len(losers) == 1, results
        assert f"is already completed by {winners[0]} at " in str(losers[0])
        open_tasks = engine.tasks.query(case_id=case.id)
        assert [t.bpmn_id for t in open_tasks] == ["review"]
        completions = [e for e in engine.history.trail(case.id) if e.action == "task_completed"]
        assert len(completions) == 1 and completions[0].actor == winners[0]
        assert engine.runtime.describe(case.id)["data"]["opinion"] == winners[0]
