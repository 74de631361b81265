"""What this machine (or Ray cluster) can give a training job, and waiting for it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from shipyard.errors import InvalidArgument
from shipyard.training.models import Resources


@lru_cache(maxsize=1)
def local_gpus() -> int:
    """GPUs visible here: ``CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi -L``."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if shutil.which("nvidia-smi") is None:
        return 0
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def holds(asked: Resources) -> Resources:
    """What a job asking for ``asked`` holds against a quota: its request times its
    Ray Train workers."""
    n = asked.workers or 1
    return Resources.model_construct(cpus=asked.cpus * n, gpus=asked.gpus * n, workers=None)


def held_by(args: dict[str, Any]) -> Resources:
    """What a running job of pool ``training`` holds, from its args: a training job what
    its request ``holds``, a search worker one CPU."""
    request = args.get("request")
    if not isinstance(request, dict):
        return Resources()  # a search worker: one process, one CPU
    return holds(Resources.model_validate(request.get("resources") or {}))


def local_capacity() -> Resources:
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        memory = None
    return Resources(cpus=float(os.cpu_count() or 1), memory_mb=memory, gpus=local_gpus())


def check_fits(wanted: Resources, capacity: Resources, where: str = "this machine") -> None:
    """Refuse a request no worker here can ever meet (it would wait forever).

    Raises:
        InvalidArgument: GPUs asked where none exist, or more CPUs/memory than there are.
    """
    if wanted.gpus and not capacity.gpus:
        raise InvalidArgument(
            f"the job asks for {wanted.gpus} GPU(s) but {where} has no GPU: "
            "run it on a cluster with GPUs (backend 'ray' with ray_address) or ask for gpus=0",
            gpus=wanted.gpus,
        )
    if wanted.gpus > capacity.gpus:
        raise InvalidArgument(
            f"the job asks for {wanted.gpus} GPUs; {where} has {capacity.gpus}", gpus=wanted.gpus
        )
    if wanted.cpus > capacity.cpus:
        raise InvalidArgument(
            f"the job asks for {wanted.cpus:g} CPUs; {where} has {capacity.cpus:g}",
            cpus=wanted.cpus,
        )
    if wanted.memory_mb and capacity.memory_mb and wanted.memory_mb > capacity.memory_mb:
        raise InvalidArgument(
            f"the job asks for {wanted.memory_mb} MiB; {where} has {capacity.memory_mb} MiB",
            memory_mb=wanted.memory_mb,
        )


class Cap(NamedTuple):
    """A quota the job counts against (``None``: that resource is not capped) and what
    the older running jobs under the same quota hold (``held``)."""

    name: str
    cpus: float | None
    gpus: float | None
    held: Callable[[], list[Resources]]

    def room_for(self, wanted: Resources) -> bool:
        held = self.held()
        if not held:  # alone under the cap: it fits (it was checked at submission)
            return True
        cpus = sum(r.cpus for r in held) + wanted.cpus
        gpus = sum(r.gpus for r in held) + wanted.gpus
        return (self.cpus is None or cpus <= self.cpus) and (self.gpus is None or gpus <= self.gpus)


def wait_for(
    wanted: Resources,
    capacity: Resources,
    ahead: Callable[[], list[Resources]],
    *,
    timeout: float | None,
    poll: float = 0.2,
    caps: Sequence[Cap] = (),
    counted: Resources | None = None,
) -> float:
    """Block until ``wanted`` fits beside what the jobs started before this one hold
    (``ahead``) and what it counts against its quotas (``counted``, default ``wanted``)
    fits under each of them (``caps``) beside the older jobs under it; returns the seconds waited. A job waits only for older
    jobs, so two jobs never wait for each other.

    Raises:
        TimeoutError: still no room after ``timeout`` seconds.
    """
    start = time.monotonic()
    while True:
        held = ahead()
        cpus = sum(r.cpus for r in held) + wanted.cpus
        gpus = sum(r.gpus for r in held) + wanted.gpus
        mem = sum(r.memory_mb or 0 for r in held) + (wanted.memory_mb or 0)
        fits = cpus <= capacity.cpus and gpus <= capacity.gpus
        if capacity.memory_mb:
            fits = fits and mem <= capacity.memory_mb
        blocked = [c.name for c in caps if not c.room_for(counted or wanted)]
        if (fits or not held) and not blocked:
            return time.monotonic() - start
        if timeout is not None and time.monotonic() - start > timeout:
            why = f" under the {', '.join(blocked)} quota" if blocked else ""
            raise TimeoutError(f"no room for {wanted}{why} after {timeout:g} s")
        time.sleep(poll)
