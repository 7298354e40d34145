"""Lint time against the number of sequence flows: a generated diagram of N flows through lint and deploy's parse.

    python bench/lint_scaling.py [--flows 5000 20000 50000] [--profile]

Lint parses the diagram (lxml), runs govflow's own checks and then the engine's parser on it (what deploy
runs too). Lint time should grow linearly with the flows: the time per 1,000 flows about the same at every
size.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.lint import lint_source  # noqa: E402

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bench">
  <bpmn:process id="many_flows" isExecutable="true">
    <bpmn:startEvent id="start"/>
"""
TAIL = """    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def diagram(flows: int) -> bytes:
    """About `flows` sequence flows: an exclusive gateway with a conditional flow to each of flows / 2 user tasks,
    each flowing on to one joining gateway (the engine's parser follows a long chain of elements recursively, so
    the branches are side by side, not one after another)."""
    branches = max(1, (flows - 2) // 2)
    parts = [
        HEAD,
        '    <bpmn:sequenceFlow id="in" sourceRef="start" targetRef="split"/>\n',
        '    <bpmn:exclusiveGateway id="split" default="c0"/>\n',
        '    <bpmn:exclusiveGateway id="join"/>\n',
    ]
    for i in range(branches):
        parts.append(
            f'    <bpmn:sequenceFlow id="c{i}" sourceRef="split" targetRef="t{i}">'
            f"<bpmn:conditionExpression>amount == {i}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
            f'    <bpmn:userTask id="t{i}" name="审核{i}" camunda:candidateGroups="clerk"/>\n'
            f'    <bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="join"/>\n'
        )
    parts.append('    <bpmn:sequenceFlow id="out" sourceRef="join" targetRef="end"/>\n')
    parts.append(TAIL)
    return "".join(parts).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[5000, 20000, 50000])
    parser.add_argument("--profile", action="store_true", help="print the 15 costliest functions of each run")
    args = parser.parse_args()
    print(f"{'flows':>8} {'lint s':>8} {'s per 1k flows':>15} findings")
    for flows in args.flows:
        source = diagram(flows)
        actual = source.count(b"<bpmn:sequenceFlow")
        profile = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        findings = lint_source(source, "many_flows.bpmn")
        if profile:
            profile.disable()
        took = time.perf_counter() - started
        print(f"{actual:>8} {took:>8.2f} {took / actual * 1000:>15.3f} {len(findings)}")
        for finding in findings[:3]:
            print("   ", finding.format())
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
