"""Topic triggers and their filters (``where``): which records of a topic start a run.

```python
@shipyard.pipeline(on_topics=[
    "orders",                                                  # any record
    {"topic": "shipyard.ml.model.version_created", "where": {"name": "churn"}},
    {"topic": "shipyard.ml.table.committed",
     "where": {"table": "gold.customer_daily", "operation": ["refresh", "write"]}},
])
```

A filter is deliberately small: equality on top-level fields of the record, all of
them (AND); a list means "any of". A value is a string, a number, a boolean or null
(null also matches a field the record does not have). Nothing else: no operators, no
nested paths, so a filter reads the same to everyone and costs one dict lookup per field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from shipyard.errors import InvalidArgument

#: Records a scheduler pass reads per filtered trigger at most; a longer backlog is read
#: over the next passes (the cursor moves past what was read), so a pass never stalls.
MAX_SCAN = 10_000
#: Records per read while scanning (the scan stops at the first match).
SCAN_PAGE = 1_000
#: Fields of one filter, and values of one "any of" list, at most.
MAX_FIELDS = 20
MAX_VALUES = 100
_SCALARS = (str, int, float, bool, type(None))

Where = dict[str, Any]


class TopicTrigger(BaseModel):
    """``topic``, and optionally ``where`` (a filter on the record's fields).

    Given as a plain string it is a trigger without a filter, and it is stored (and
    shown in a plan's diff) as that string, as before filters existed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str
    where: Where | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        return {"topic": data} if isinstance(data, str) else data

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.topic if self.where is None else handler(self)


def check_where(where: Any) -> None:
    """Refuse a filter that is not ``{field: scalar or [scalars]}`` (one line, no place:
    the caller adds the pipeline and the trigger).

    Raises:
        InvalidArgument: an empty filter, a non-scalar value, an empty or too long list.
    """
    if not isinstance(where, Mapping):
        raise InvalidArgument("where must be a mapping of field to value")
    if not where:
        raise InvalidArgument("where is empty (leave it out to start a run on any record)")
    if len(where) > MAX_FIELDS:
        raise InvalidArgument(f"where has {len(where)} fields; at most {MAX_FIELDS}")
    for field, value in where.items():
        if not isinstance(field, str) or not field:
            raise InvalidArgument(f"where: field {field!r} is not a name")
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not 1 <= len(value) <= MAX_VALUES:
            raise InvalidArgument(
                f"where.{field}: a list of 1 to {MAX_VALUES} values (any of them matches)"
            )
        for v in values:
            if not isinstance(v, _SCALARS):
                raise InvalidArgument(
                    f"where.{field}: {v!r} is not a string, number, boolean or null "
                    "(equality only; a list means any of)"
                )


def check_fields(trigger: TopicTrigger) -> None:
    """A filter on a lifecycle topic (``shipyard.<team>.<event>``) names only fields its
    records have (``events.lifecycle.event_fields``); other topics have no schema.

    Raises:
        InvalidArgument: an unknown field, with the event's fields.
    """
    from shipyard.events.lifecycle import event_fields, event_of

    fields = event_fields(trigger.topic)
    if trigger.where is None or fields is None:
        return
    unknown = sorted(set(trigger.where) - set(fields))
    if unknown:
        raise InvalidArgument(
            f"where: unknown field '{unknown[0]}' of {event_of(trigger.topic)} events "
            f"(fields: {', '.join(fields)})"
        )


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``; ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and a == b


def matches(where: Where, record: Mapping[str, Any]) -> bool:
    """Every field of ``where`` equals the record's (a list: one of its values does)."""
    for field, wanted in where.items():
        have = record.get(field)
        options = wanted if isinstance(wanted, list) else [wanted]
        if not any(_same(have, w) for w in options):
            return False
    return True


def by_topic(triggers: Iterable[TopicTrigger]) -> dict[str, list[Where] | None]:
    """The filters of each topic (None: a plain trigger, any record). Triggers on one
    topic share its cursor, so their filters are ORed: one run when any matches."""
    out: dict[str, list[Where] | None] = {}
    for t in triggers:
        if t.where is None or (t.topic in out and out[t.topic] is None):
            out[t.topic] = None
        else:
            out.setdefault(t.topic, [])
            found = out[t.topic]
            assert found is not None
            found.append(t.where)
    return out


__all__ = [
    "MAX_SCAN",
    "SCAN_PAGE",
    "TopicTrigger",
    "by_topic",
    "check_fields",
    "check_where",
    "matches",
]
