"""Routes made from a capability's operation table (ADR 0015).

``mount(router, "catalog", CatalogAPI, OPS)`` adds one route per table entry:
the path, query parameters and JSON body come from the ``Op`` and the Protocol
method's signature (so the route takes exactly what the client sends, with the
same defaults); the handler calls ``platform.<capability>.<method>`` as the
caller and returns its result. The body is a pydantic model made from the body
arguments that refuses unknown fields, like every hand-written ``Body``. Routes
that carry files, Arrow or streams stay hand-written (``Op(served=False)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Annotated, Any, get_args, get_origin

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import create_model
from pydantic_core import to_jsonable_python

from shipyard._internal.ops import Op, protocol_methods, without_job
from shipyard.api.accepted import ACCEPTED, Wait, accepted
from shipyard.api.deps import Caller
from shipyard.api.params import Body, PageSize

#: Wire types for arguments by name, unless the ``Op`` says otherwise.
BY_NAME: Mapping[str, Any] = {"limit": PageSize | None}


def mount(router: APIRouter, capability: str, protocol: type, ops: Mapping[str, Op]) -> None:
    """Add a route to ``router`` for every served entry of ``ops``, in table order."""
    methods = protocol_methods(protocol)
    for name, op in ops.items():
        if op.served:
            _add(router, capability, name, methods[name], op)


def _hint(fn: Callable[..., Any], name: str) -> Any:
    value = fn.__annotations__[name]
    return eval(value, fn.__globals__) if isinstance(value, str) else value


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


class _Route:
    """One table entry's route: its parameters, body model and handler."""

    def __init__(self, capability: str, name: str, fn: Callable[..., Any], op: Op) -> None:
        self.capability, self.name, self.fn, self.op = capability, name, fn, op
        # ``submit=True`` of a long operation is the route without ``?wait=true``
        skip = {"self", "submit"} if op.job is not None else {"self"}
        self.args = [p for p in inspect.signature(fn).parameters.values() if p.name not in skip]
        self.returns = without_job(_hint(fn, "return"))
        self.path = [p for p in self.args if p.name in op.path_args]
        self.query = [p for p in self.args if op.in_query(p.name)]
        self.body = [p for p in self.args if p not in self.path and p not in self.query]
        self.on_wire = {p.name: op.wire.get(p.name, p.name) for p in self.args}
        self.from_wire = {v: k for k, v in self.on_wire.items()}

    def wire_type(self, p: inspect.Parameter) -> Any:
        if p.name in self.op.types:
            return self.op.types[p.name]
        return BY_NAME.get(p.name) or _hint(self.fn, p.name)

    def wire_default(self, p: inspect.Parameter) -> Any:
        if p.name in self.op.omit_default:  # not sent: the service's own default
            return None
        return p.default if p.default is p.empty else self.op.encode_arg(p.name, p.default)

    def parameters(self) -> list[inspect.Parameter]:
        params = [_param("platform", Caller)]
        params += [_param(p.name, self.wire_type(p)) for p in self.path]
        for p in self.query:
            annotation = self.wire_type(p)
            if any(get_origin(a) is list for a in (annotation, *get_args(annotation))):
                annotation = Annotated[annotation, Query()]
            params.append(_param(self.on_wire[p.name], annotation, self.wire_default(p)))
        if self.body:
            fields: dict[str, Any] = {}
            for p in self.body:
                default = self.wire_default(p)
                required = default is inspect.Parameter.empty
                fields[self.on_wire[p.name]] = (self.wire_type(p), ... if required else default)
            title = "".join(part.title() for part in (self.capability, *self.name.split("_")))
            model: Any = create_model(title, __base__=Body, **fields)
            if self.op.optional_body:
                params.append(_param("body", model | None, None))
            else:
                params.append(_param("body", model))
        if self.op.job is not None:
            params.append(_param("wait", Wait, False))
        return params

    def __call__(self, platform: Any, **given: Any) -> Any:
        op, body, wait = self.op, given.pop("body", None), given.pop("wait", True)
        kwargs = {self.from_wire[k]: v for k, v in given.items()}
        if body is not None:  # else an optional body was not sent: the service's defaults
            for p in self.body:
                key = self.on_wire[p.name]
                if p.name not in op.omit_default or key in body.model_fields_set:
                    kwargs[p.name] = getattr(body, key)
        kwargs = {k: op.parse[k](v) if k in op.parse else v for k, v in kwargs.items()}
        if op.job is not None and not wait:  # queued as the caller, who is checked first
            args = to_jsonable_python(kwargs)
            params = {op.job_args.get(k, k): v for k, v in args.items() if v is not None}
            return accepted(platform.jobs.submit_action(op.job, params))
        result = getattr(getattr(platform, self.capability), self.name)(**kwargs)
        if self.returns is bytes:
            return Response(result, media_type="application/octet-stream")
        if op.reply is not None:
            result = op.reply(result)
        return {op.unwrap: result} if op.unwrap else result


def _add(router: APIRouter, capability: str, name: str, fn: Callable[..., Any], op: Op) -> None:
    route = _Route(capability, name, fn, op)

    def handler(platform: Any, **given: Any) -> Any:
        return route(platform, **given)

    handler.__signature__ = inspect.Signature(route.parameters())  # type: ignore[attr-defined]
    handler.__name__, handler.__doc__ = name, fn.__doc__
    returns = route.returns
    # Only when needed: FastAPI's default class writes pydantic models itself (NaN as null).
    options: dict[str, Any] = {"response_class": Response} if returns is bytes else {}
    router.add_api_route(
        op.path.removeprefix(router.prefix),
        handler,
        methods=[op.verb],
        status_code=op.status or (204 if returns is None else 200),
        response_model=None if returns in (None, bytes) or op.unwrap or op.reply else returns,
        name=name,
        responses=ACCEPTED if op.job else None,
        **options,
    )
