"""Pipelines as code: a DAG of steps, declared with ``@shipyard.pipeline``.

```python
import shipyard
from myproject.train import train          # a @shipyard.step function of jobs.modules

@shipyard.pipeline(schedule="0 3 * * *", timezone="Europe/Paris", owner="ml")
def churn(p):
    silver = p.action("lake.refresh", table="silver.orders")
    gold = p.action("lake.refresh", table="gold.customer_stats", after=[silver])
    p.call(train, after=[gold], epochs=3)
```

The decorated function runs once, when the definitions file is loaded, and only
records steps; nothing runs until the pipeline is applied and a run is started. The
same definition travels as a JSON spec (``Pipeline.to_spec``) over HTTP.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shipyard.errors import InvalidArgument
from shipyard.pipelines.functions import job
from shipyard.pipelines.models import Executor
from shipyard.pipelines.triggers import TopicTrigger, check_where

KIND = "pipeline"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_STEP = re.compile(r"^[A-Za-z][\w\-]{0,99}$")


class Catchup(StrEnum):
    """What a scheduler that was down (or paused) does about the ticks it missed."""

    SKIP = "skip"  # none: wait for the next tick
    RUN_ONCE = "run-once"  # one run, for the latest missed tick
    ALL = "all"  # one run per missed tick (at most MAX_CATCHUP)


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str
    timezone: str = "UTC"
    catchup: Catchup = Catchup.RUN_ONCE


class Triggers(BaseModel):
    """Start a run when one of these lake tables commits, or a topic gets records (that
    match the trigger's ``where``, if it has one: ``shipyard.pipelines.triggers``)."""

    model_config = ConfigDict(extra="forbid")

    tables: list[str] = Field(default_factory=list)
    topics: list[TopicTrigger] = Field(default_factory=list)


class StepSpec(BaseModel):
    """One step: a platform ``action`` with ``args``, or an allowed ``function``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    action: str | None = None
    function: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    executor: Executor = Executor.INPROCESS
    pool: str = "default"
    timeout: float | None = Field(default=None, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=100)
    retry_delay: float = Field(default=1.0, ge=0, le=3600)
    memory_mb: int | None = Field(default=None, ge=16)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _STEP.match(value):
            raise ValueError(f"step name {value!r}: a letter, then letters, digits, '_' or '-'")
        return value


class PipelineSpec(BaseModel):
    """The stored, JSON form of a pipeline definition."""

    model_config = ConfigDict(extra="forbid")

    name: str
    owner: str | None = None
    description: str = ""
    steps: list[StepSpec]
    schedule: Schedule | None = None
    #: "daily": every run is for one day (``partition`` "YYYY-MM-DD"), backfills by range.
    partitioned: str | None = None
    triggers: Triggers = Field(default_factory=Triggers)
    tags: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"pipeline name {value!r}: lowercase letters, digits and '_'")
        return value

    @field_validator("partitioned")
    @classmethod
    def _partitioned(cls, value: str | None) -> str | None:
        if value not in (None, "daily"):
            raise ValueError(f"partitioned={value!r}: only 'daily' is supported")
        return value

    def step(self, name: str) -> StepSpec:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def order(self) -> list[str]:
        """Step names, upstream before downstream (checked by ``check_shape``)."""
        return list(graphlib.TopologicalSorter(self.graph()).static_order())

    def graph(self) -> dict[str, set[str]]:
        return {s.name: set(s.after) for s in self.steps}

    def downstream(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {s.name: [] for s in self.steps}
        for s in self.steps:
            for up in s.after:
                out.setdefault(up, []).append(s.name)
        return out


def parse_spec(data: Any) -> PipelineSpec:
    """A spec from JSON; a malformed one is refused with one line naming the place."""
    if isinstance(data, PipelineSpec):
        return data
    if isinstance(data, Pipeline):
        return data.spec
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = data.get("name") if isinstance(data, dict) else None
        loc = list(err["loc"])
        trigger = _trigger_at(data, loc)
        if trigger is not None:  # name the trigger, like the plan's other trigger errors
            where = ".".join(str(p) for p in loc[3:]) or "trigger"
            raise InvalidArgument(
                f"pipeline '{name or '?'!s}', trigger {trigger}: {where}: {err['msg']}"
            ) from None
        where = ".".join(str(p) for p in loc) or "spec"
        raise InvalidArgument(f"pipeline {name or '?'!s}: {where}: {err['msg']}") from None


def _trigger_at(data: Any, loc: list[Any]) -> str | None:
    """The topic of the trigger an error is about (``triggers.topics.<i>...``), if any."""
    if loc[:2] != ["triggers", "topics"] or len(loc) < 3 or not isinstance(loc[2], int):
        return None
    try:
        raw = data["triggers"]["topics"][loc[2]]
    except (KeyError, IndexError, TypeError):
        return None
    topic = raw.get("topic") if isinstance(raw, dict) else raw
    return str(topic) if isinstance(topic, str) else f"#{loc[2] + 1}"


def check_shape(spec: PipelineSpec) -> None:
    """Steps unique, ``after`` names known, no cycle, one of action/function each."""
    where = f"pipeline '{spec.name}'"
    if not spec.steps:
        raise InvalidArgument(f"{where} has no steps", pipeline=spec.name)
    names = [s.name for s in spec.steps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidArgument(f"{where}: step '{dup[0]}' is declared twice", pipeline=spec.name)
    for s in spec.steps:
        if (s.action is None) == (s.function is None):
            raise InvalidArgument(
                f"{where}, step '{s.name}': give exactly one of action= or function=",
                pipeline=spec.name,
                step=s.name,
            )
        for up in s.after:
            if up not in names:
                raise InvalidArgument(
                    f"{where}, step '{s.name}': runs after unknown step '{up}'",
                    pipeline=spec.name,
                    step=s.name,
                )
    try:
        spec.order()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(reversed(exc.args[1]))
        raise InvalidArgument(f"{where}: steps form a cycle: {cycle}", pipeline=spec.name) from None
    for t in spec.triggers.topics:
        if t.where is not None:
            try:
                check_where(t.where)
            except InvalidArgument as exc:
                raise InvalidArgument(
                    f"{where}, trigger {t.topic}: {exc.message}", pipeline=spec.name
                ) from None


class StepRef(str):
    """What ``p.action``/``p.call`` answer: the step's name, to pass to ``after=``."""


class PipelineBuilder:
    """Handed to the ``@pipeline`` function: it records steps, nothing runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[StepSpec] = []

    def action(
        self,
        action: str,
        *,
        name: str | None = None,
        after: Sequence[str] = (),
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        **args: Any,
    ) -> StepRef:
        """A platform action (``lake.refresh``, ``features.materialize``, ... see
        ``shipyard.pipelines.actions.ACTIONS``); ``options`` are step options
        (executor, pool, timeout, max_attempts, retry_delay, memory_mb).

        ``params``: the action's arguments given as a dict, for those whose names the
        builder takes itself (``registry.promote``'s ``name`` is the model's, not the
        step's): ``p.action("registry.promote", name="promote", params={"name":
        "churn", "alias": "champion"})``.
        """
        args = {**(params or {}), **args}
        main = next((str(v) for v in args.values() if isinstance(v, str)), "")
        default = re.sub(r"\W+", "_", f"{action.rsplit('.', 1)[-1]}_{main}").strip("_")
        return self._add(name or default, {"action": action}, after, args, options)

    def call(
        self,
        fn: Callable[..., Any] | str,
        *,
        name: str | None = None,
        after: Sequence[str] = (),
        options: dict[str, Any] | None = None,
        **args: Any,
    ) -> StepRef:
        """Any allowed Python function (``@shipyard.step`` in a module of ``jobs.modules``,
        or listed in ``jobs.functions``), called with ``args`` and, when it has
        upstream steps, ``inputs={step: result}``; partitioned runs add ``partition``."""
        if isinstance(fn, str):
            target, default = fn, fn.rsplit(":", 1)[-1]
        else:
            target, default = f"{fn.__module__}:{fn.__qualname__}", fn.__name__
        return self._add(name or default, {"function": target}, after, args, options)

    def _add(
        self,
        name: str,
        what: dict[str, str],
        after: Sequence[str],
        args: dict[str, Any],
        options: dict[str, Any] | None,
    ) -> StepRef:
        try:
            step = StepSpec.model_validate(
                {**(options or {}), "name": name, "after": [str(a) for a in after], "args": args}
                | what
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            raise InvalidArgument(
                f"pipeline '{self.name}', step '{name}': {err['msg']}", pipeline=self.name
            ) from None
        self.steps.append(step)
        return StepRef(name)


class Pipeline:
    """A pipeline definition (what ``@shipyard.pipeline`` answers); ``kind`` 'pipeline'."""

    kind = KIND

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def to_spec(self) -> dict[str, Any]:
        return self.spec.model_dump(mode="json")

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, steps={[s.name for s in self.spec.steps]})"


def pipeline(
    fn: Callable[[PipelineBuilder], Any] | None = None,
    *,
    name: str | None = None,
    schedule: str | None = None,
    timezone: str = "UTC",
    catchup: str = "run-once",
    partitioned: str | None = None,
    on_tables: Iterable[str] = (),
    on_topics: Iterable[str | dict[str, Any]] = (),
    owner: str | None = None,
    description: str | None = None,
    tags: Iterable[str] = (),
) -> Any:
    """Declare a pipeline: the function receives a ``PipelineBuilder`` and adds steps.

    Args:
        schedule: a 5-field cron expression, evaluated in ``timezone``.
        catchup: ``skip``, ``run-once`` or ``all`` (ticks missed while down or paused).
        partitioned: ``"daily"`` for runs per day (``shipyard pipelines backfill``).
        on_tables: lake tables whose commits start a run.
        on_topics: event-bus topics whose new records start a run: a name, or
            ``{"topic": name, "where": {field: value or [values]}}`` to start one only
            when a new record matches (``shipyard.pipelines.triggers``).
    """

    def wrap(f: Callable[[PipelineBuilder], Any]) -> Pipeline:
        builder = PipelineBuilder(name or f.__name__)
        f(builder)
        data = {
            "name": builder.name,
            "owner": owner,
            "description": description if description is not None else (f.__doc__ or "").strip(),
            "steps": [s.model_dump() for s in builder.steps],
            "schedule": (
                {"cron": schedule, "timezone": timezone, "catchup": catchup} if schedule else None
            ),
            "partitioned": partitioned,
            "triggers": {"tables": list(on_tables), "topics": list(on_topics)},
            "tags": list(tags),
        }
        return Pipeline(parse_spec(data))

    return wrap(fn) if fn is not None else wrap


def step(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function as a pipeline step (runnable by jobs when its module is in
    ``jobs.modules``). It gets its ``args``, plus ``inputs`` (upstream results by step
    name) when it has upstream steps and ``partition`` in partitioned runs."""
    return job(fn)


__all__ = [
    "KIND",
    "Catchup",
    "Pipeline",
    "PipelineBuilder",
    "PipelineSpec",
    "Schedule",
    "StepRef",
    "StepSpec",
    "TopicTrigger",
    "Triggers",
    "check_shape",
    "parse_spec",
    "pipeline",
    "step",
]
