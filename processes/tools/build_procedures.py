"""Write processes/<key>.bpmn for the procedures defined in this folder (semantics and diagram interchange).

Usage, from the repository root:  python -m processes.tools.build_procedures [KEY ...]
Then check the result with `govflow --forms forms lint processes/*.bpmn`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from processes.tools import approval, enforcement_case, joint_review, review_appeal

PROCEDURES = {
    "approval": approval.build,
    "enforcement_case": enforcement_case.build,
    "review_appeal": review_appeal.build,
    "joint_review": joint_review.build,
}
OUT = Path(__file__).resolve().parent.parent


def main(keys: list[str]) -> None:
    for key in keys or list(PROCEDURES):
        path = OUT / f"{key}.bpmn"
        path.write_bytes(PROCEDURES[key]().to_xml())
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
