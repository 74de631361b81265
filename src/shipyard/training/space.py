"""Search spaces, declared in code (a dict) or YAML, checked before any trial starts.

learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
max_depth: {type: int, low: 2, high: 8}
booster: {type: categorical, choices: [gbtree, dart]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from shipyard.errors import InvalidArgument

MAX_PARAMS = 64


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid")

    log: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> _Range:
        low, high = getattr(self, "low"), getattr(self, "high")  # noqa: B009
        if not low < high:
            raise ValueError(f"low ({low}) must be below high ({high})")
        if self.log and low <= 0:
            raise ValueError("a log scale needs low > 0")
        step = getattr(self, "step", None)
        if step is not None and self.log:
            raise ValueError("step and log cannot be combined")
        return self


class FloatParam(_Range):
    type: Literal["float"]
    low: float
    high: float
    step: float | None = Field(default=None, gt=0)


class IntParam(_Range):
    type: Literal["int"]
    low: int
    high: int
    step: int | None = Field(default=None, gt=0)


class CategoricalParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["categorical"]
    choices: list[str | int | float | bool | None] = Field(min_length=1, max_length=1000)


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]
_SPACE = TypeAdapter(dict[str, Param])


def read_space(path: str | Path) -> str:
    """The YAML text of a space file (read by the caller's skin, never by the server)."""
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise InvalidArgument(f"cannot read the search space: {exc}") from None


def parse_space(space: dict[str, Any] | str) -> dict[str, Param]:
    """The checked search space from a dict or a YAML text.

    Raises:
        InvalidArgument: an empty or malformed space (names the parameter).
    """
    if isinstance(space, str):
        import yaml

        try:
            space = yaml.safe_load(space)
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"the search space is not YAML: {exc}") from None
    if not isinstance(space, dict) or not space:
        raise InvalidArgument("the search space must map parameter names to their ranges")
    if len(space) > MAX_PARAMS:
        raise InvalidArgument(f"{len(space)} parameters in the search space; at most {MAX_PARAMS}")
    try:
        return _SPACE.validate_python(space)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidArgument(f"bad search space at {where}: {err['msg']}") from None


def space_to_json(space: dict[str, Param]) -> dict[str, Any]:
    return {k: v.model_dump(exclude_none=True) for k, v in space.items()}


def suggest(trial: Any, space: dict[str, Param]) -> dict[str, Any]:
    """The trial's params (Optuna's ``suggest_*`` for each entry)."""
    out: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, CategoricalParam):
            out[name] = trial.suggest_categorical(name, p.choices)
        elif isinstance(p, IntParam):
            out[name] = trial.suggest_int(name, p.low, p.high, step=p.step or 1, log=p.log)
        else:
            out[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.log)
    return out
