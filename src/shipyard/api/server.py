"""Run the API under uvicorn (one or several worker processes)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from shipyard.platform import Platform


def app_from_env() -> FastAPI:
    """Factory used by uvicorn workers: the project comes from the environment."""
    from shipyard._internal.prom import mark_dead_at_exit
    from shipyard._internal.threads import limit_native_threads
    from shipyard.api.app import create_app
    from shipyard.platform import Platform

    limit_native_threads()
    mark_dead_at_exit()
    return create_app(Platform.open(os.environ.get("SHIPYARD_PROJECT_DIR", ".")))


def run_server(
    project: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    log_level: str = "warning",
) -> None:
    from shipyard._internal.net import ensure_port_free
    from shipyard.platform import Platform

    platform = Platform.open(project)
    s = platform.settings.server
    host = host or s.host
    port = port or s.port
    workers = workers or s.workers
    try:
        ensure_port_free(host, port)
    except Exception:
        platform.close()
        raise
    print(
        f"Shipyard API on http://{host}:{port}/api/v1  (docs: /api/v1/docs, web UI: /ui)",
        flush=True,
    )
    print("every route but /api/v1/health needs a token: shipyard tokens create", flush=True)
    try:
        with _embedded_jobs(platform):
            _serve(platform, project, host, port, workers, log_level)
    finally:
        if workers > 1:  # the parent's platform (the embedded worker's); HTTP is in children
            platform.close()


def _embedded_jobs(platform: Platform) -> AbstractContextManager[object]:
    """The embedded worker and scheduler (``jobs.embedded``), in this process only: with
    several HTTP worker processes it runs once, in their parent. Leaving drains it."""
    jobs = platform.settings.jobs
    if not jobs.embedded:
        return nullcontext()
    from shipyard.pipelines.embedded import EmbeddedWorkers

    print(f"jobs: {jobs.embedded_workers} embedded worker(s) and the scheduler", flush=True)
    return EmbeddedWorkers(platform, workers=jobs.embedded_workers)


def _serve(
    platform: Platform, project: Path, host: str, port: int, workers: int, log_level: str
) -> None:
    import uvicorn

    if workers > 1:
        from shipyard._internal.prom import multiprocess_dir

        os.environ["SHIPYARD_PROJECT_DIR"] = str(Path(project).resolve())
        with multiprocess_dir(workers):  # /metrics sums the workers' counters (ADR 0051)
            uvicorn.run(
                "shipyard.api.server:app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=log_level,
                access_log=False,
            )
        return
    from shipyard._internal.threads import limit_native_threads
    from shipyard.api.app import create_app

    limit_native_threads()
    uvicorn.run(create_app(platform), host=host, port=port, log_level=log_level, access_log=False)
