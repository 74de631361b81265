"""Checks on names and values a user logs (MLflow's limits, typed errors)."""

from __future__ import annotations

import math
import numbers
import re
import time
from typing import Any

from shipyard.errors import InvalidArgument

_KEY = re.compile(r"^[/\w.\- :]+$")
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000


def now_ms() -> int:
    return int(time.time() * 1000)


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"{what} name must be a non-empty string", key=str(key))
    if len(key) > MAX_KEY:
        raise InvalidArgument(f"{what} name '{key[:40]}...' is longer than {MAX_KEY}", key=key)
    if not _KEY.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise InvalidArgument(
            f"invalid {what} name '{key}': use letters, digits, _ - . space : and /", key=key
        )
    return key


def check_param(key: Any, value: Any) -> tuple[str, str]:
    check_key(key, "param")
    text = str(value)
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidArgument(
            f"value of param '{key}' is longer than {MAX_PARAM_VALUE} characters", key=key
        )
    return key, text


def check_tag(key: Any, value: Any) -> tuple[str, str]:
    check_key(key, "tag")
    text = str(value)
    if len(text) > MAX_TAG_VALUE:
        raise InvalidArgument(f"value of tag '{key}' is longer than {MAX_TAG_VALUE}", key=key)
    return key, text


def check_metric_value(key: str, value: Any) -> float:
    """A real number; NaN and infinities are accepted (stored as MLflow stores them)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            if isinstance(value, str | bytes | bool):
                raise TypeError
            value = float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"metric '{key}' must be a number, got {type(value).__name__} {value!r}", key=key
            ) from None
    return float(value)


def check_step(step: Any) -> int:
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidArgument(f"metric step must be an integer, got {step!r}", step=str(step))
    return int(step)


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
