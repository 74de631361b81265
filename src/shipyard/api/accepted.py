"""Long operations answer ``202 Accepted`` with the job that runs them.

``POST /features/materialize``, ``/lake/tables/{name}/refresh``, ``/lake/refresh``,
``/deployments/-/score-table`` and ``/deployments/-/export`` queue the operation (``JobService.submit_action``) and
answer the job, with ``Location: /api/v1/jobs/{id}`` to poll for its state, attempts
and result. ``?wait=true`` runs it inside the request and answers its result, as
before (the remote client's synchronous calls send it; its ``submit=True`` does not).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python

from shipyard.pipelines.models import Job

#: ``?wait=true``: run the operation in the request and answer its result.
Wait = Annotated[bool, Query(description="run it in the request and answer its result (no job)")]

#: OpenAPI of the 202 answer, for the routes' ``responses=``.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "queued: the job; poll its Location", "model": Job}
}


def accepted(job: Job) -> JSONResponse:
    """``202`` with the job and where to poll it."""
    return JSONResponse(
        to_jsonable_python(job),
        status_code=202,
        headers={"Location": f"/api/v1/jobs/{job.id}"},
    )
