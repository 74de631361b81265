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

from shipyard._internal.ops import Op, protocol_methods
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


def _model_name(capability: str, method: str) -> str:
    return capability.title() + "".join(part.title() for part in method.split("_"))


def _add(router: APIRouter, capability: str, name: str, fn: Callable[..., Any], op: Op) -> None:
    sig = inspect.signature(fn)
    args = [p for p in sig.parameters.values() if p.name != "self"]
    returns = _hint(fn, "return")

    def wire_type(p: inspect.Parameter) -> Any:
        if p.name in op.types:
            return op.types[p.name]
        return BY_NAME.get(p.name) or _hint(fn, p.name)

    def wire_default(p: inspect.Parameter) -> Any:
        if p.default is p.empty or p.name in op.omit_default:  # omitted: the service's own
            return None if p.name in op.omit_default else p.empty
        return op.encode_arg(p.name, p.default)

    path = [p for p in args if p.name in op.path_args]
    query = [p for p in args if op.in_query(p.name)]
    body_args = [p for p in args if p not in path and p not in query]
    params = [
        inspect.Parameter("platform", inspect.Parameter.KEYWORD_ONLY, annotation=Caller),
        *(inspect.Parameter(p.name, p.KEYWORD_ONLY, annotation=wire_type(p)) for p in path),
        *(_query_param(op, p, wire_type(p), wire_default(p)) for p in query),
    ]
    model = None
    if body_args:
        fields: dict[str, Any] = {}
        for p in body_args:
            default = wire_default(p)
            fields[op.wire.get(p.name, p.name)] = (
                wire_type(p),
                ... if default is p.empty else default,
            )
        model = create_model(_model_name(capability, name), __base__=Body, **fields)
        annotation: Any = model | None if op.optional_body else model
        params.append(
            inspect.Parameter(
                "body",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=None if op.optional_body else inspect.Parameter.empty,
            )
        )

    def handler(platform: Any, **given: Any) -> Any:
        body = given.pop("body", None)
        values = {op.wire.get(p.name, p.name): p.name for p in args}
        kwargs = {values[k]: v for k, v in given.items()}
        if body is not None:
            sent = body.model_fields_set
            for p in body_args:
                key = op.wire.get(p.name, p.name)
                if p.name not in op.omit_default or key in sent:
                    kwargs[p.name] = getattr(body, key)
        elif model is not None:  # an optional body not sent: the service's defaults
            kwargs.update({p.name: wire_default(p) for p in body_args})
        kwargs = {k: op.parse[k](v) if k in op.parse else v for k, v in kwargs.items()}
        result = getattr(getattr(platform, capability), name)(**kwargs)
        if returns is bytes:
            return Response(result, media_type="application/octet-stream")
        return {op.unwrap: result} if op.unwrap else result

    handler.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    handler.__name__ = name
    handler.__doc__ = fn.__doc__
    router.add_api_route(
        op.path.removeprefix(router.prefix),
        handler,
        methods=[op.verb],
        status_code=op.status or (204 if returns is None else 200),
        response_model=None if returns in (None, bytes) or op.unwrap else returns,
        name=name,
        **({"response_class": Response} if returns is bytes else {}),
    )


def _query_param(op: Op, p: inspect.Parameter, annotation: Any, default: Any) -> inspect.Parameter:
    wire = op.wire.get(p.name, p.name)
    if get_origin(annotation) is list or any(get_origin(a) is list for a in get_args(annotation)):
        annotation = Annotated[annotation, Query()]
    return inspect.Parameter(
        wire, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )
