"""The subprocess executor's child: read the job from stdin, run it, write the result."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from shipyard.config import JobSettings
from shipyard.errors import PermissionDenied
from shipyard.pipelines.executors import apply_limits, outside_worker, retryable
from shipyard.pipelines.functions import call, resolve
from shipyard.pipelines.run_lineage import StepAccess


def main() -> int:
    payload = json.loads(sys.stdin.read())
    out = Path(payload["result"])
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    apply_limits(payload.get("memory_mb"), payload.get("cpu_seconds"))
    try:
        fn = resolve(payload["target"], JobSettings.model_validate(payload["settings"]))
    except (PermissionDenied, LookupError) as exc:
        out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}", "retry": False}))
        return 1
    with outside_worker(payload.get("job")) as access:
        try:
            result = call(fn, payload["args"], payload.get("kind", "function"))
            out.write_text(json.dumps(_with(access, {"result": result}), default=str))
            return 0
        except BaseException as exc:
            traceback.print_exc()
            error = {"error": f"{type(exc).__name__}: {exc}", "retry": retryable(exc)}
            out.write_text(json.dumps(_with(access, error)))
            return 1
        finally:
            sys.stdout.flush()


def _with(access: StepAccess, data: dict[str, Any]) -> dict[str, Any]:
    """What the function's platform calls touched, failed or not: the worker records it
    as the run's lineage (as for an in-process step)."""
    return {**data, "access": access.to_json()} if access else data


if __name__ == "__main__":
    sys.exit(main())
