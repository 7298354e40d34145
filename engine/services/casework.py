"""The case step's names as the services knew them: the pipeline lives in engine/step.py, below the services (areas
such as the scheduler and the time limits run their steps there too). Kept importable from here for callers not
yet moved to engine/step.py."""

from engine.step import (  # noqa: F401
    NothingDue,
    StepContext,
    StepFailed,
    current_step,
    json_plain,
    locked_case,
    mark_error,
    record_failure,
    run_step,
    step_on,
)
