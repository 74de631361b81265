"""Check an OpenLineage event (JSON) against the spec as openlineage-python encodes it.

openlineage-python 1.54 does not ship the spec's JSON Schema files; its
``openlineage.client.generated`` classes are generated from them (one attrs class
per ``$defs`` entry, with the spec's required fields, types, enums and format
validators: ISO 8601 times, UUID run ids, URI producers). This rebuilds every
object of an event through those classes: an unknown key, a missing required
field, a wrong type, an enum value outside the spec or a facet whose
``_schemaURL`` names no facet of the spec's version fails.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import types
import typing
from typing import Any

import attrs
import openlineage.client.generated as generated
from openlineage.client.generated import base


def _facet_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for obj in vars(module).values():
            if attrs.has(obj) and "_get_schema" in vars(obj):
                found[obj._get_schema()] = obj
    return found


FACETS = _facet_classes()


class SpecError(AssertionError):
    pass


def check_event(event: dict[str, Any]) -> None:
    """Raise ``SpecError`` naming the first place ``event`` leaves the spec."""
    _build(base.RunEvent, event, "event")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected an object for {cls.__name__}")
    attrs.resolve_types(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    if unknown := set(data) - set(fields):
        raise SpecError(f"{where}: {cls.__name__} has no field(s) {sorted(unknown)}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is attrs.NOTHING:
                raise SpecError(f"{where}: {cls.__name__} needs '{name}'")
            continue
        value = _value(f.type, data[name], f"{where}.{name}", name)
        if f.init:  # a field the class fixes itself (its own schemaURL) is type-checked only
            kwargs[f.alias or name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: {exc}") from None


def _value(tp: Any, value: Any, where: str, name: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _value(options[0], value, where, name)
    if origin is list:
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list")
        (item,) = typing.get_args(tp)
        return [_value(item, v, f"{where}[{i}]", name) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(f"{where}: expected an object")
        _, item = typing.get_args(tp)
        return {k: _value(item, v, f"{where}.{k}", k) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise SpecError(f"{where}: '{value}' is not one of {[e.value for e in tp]}") from None
    if isinstance(tp, type) and attrs.has(tp):
        if issubclass(
            tp,
            (
                base.RunFacet,
                base.JobFacet,
                base.DatasetFacet,
                base.InputDatasetFacet,
                base.OutputDatasetFacet,
            ),
        ):
            url = value.get("_schemaURL") if isinstance(value, dict) else None
            if url not in FACETS:
                raise SpecError(f"{where}: no facet of this spec has _schemaURL {url!r}")
            if not issubclass(FACETS[url], tp):
                raise SpecError(f"{where}: a {FACETS[url].__name__} is not a {tp.__name__}")
            body = {k: v for k, v in value.items() if k != "_schemaURL"}
            return _build(FACETS[url], body, where)
        return _build(tp, value, where)
    if tp is str and not isinstance(value, str):
        raise SpecError(f"{where}: expected a string")
    if tp is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise SpecError(f"{where}: expected an integer")
    if tp is bool and not isinstance(value, bool):
        raise SpecError(f"{where}: expected a boolean")
    return value
