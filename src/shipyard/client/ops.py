"""Remote services made from one operation table per capability (ADR 0008).

A capability's client is its Protocol (``shipyard.<capability>.protocol``) plus a
table that says, per method, which HTTP verb and path carry it and how its
arguments travel::

    class RemoteCatalogService(RemoteService, CatalogAPI, ops=OPS): ...

Every Protocol method is either generated from its table entry or written out
with ``@local`` (when it needs more than one request, a file, Arrow, a header or
a local object). Either way the method has the Protocol's signature, so no
client re-types one and defaults cannot drift (ADR 0031). The generated method
sends every argument (path, query or JSON body; none is dropped) and parses the
response into the Protocol's return type. A ``@local`` body gets the arguments
by name, defaults applied::

    @local(LakeAPI.read)
    def read(self, a: Args) -> pa.Table: ...

A Protocol method with neither fails at import, so a new service method cannot
be forgotten. The tables live beside each Protocol (``shipyard.<capability>.ops``);
the API generates its routes from the same ones (ADR 0015).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, ClassVar, ParamSpec, Protocol, TypeVar, cast
from urllib.parse import quote

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from shipyard._internal.ops import API, BODYLESS, Op, protocol_methods, without_job
from shipyard.client.http import HttpTransport
from shipyard.errors import InvalidArgument
from shipyard.pipelines.models import Job

__all__ = [
    "API",
    "Args",
    "Op",
    "RemoteService",
    "build",
    "jsonable",
    "local",
    "protocol_methods",
    "segment",
]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

#: A ``@local`` body's arguments: every Protocol parameter by name, defaults applied.
Args = dict[str, Any]


def jsonable(value: Any) -> Any:
    """A JSON value for an argument (models, datetimes, enums, mappings, paths)."""

    def fallback(v: Any) -> Any:
        if isinstance(v, Mapping):
            return dict(v)
        if isinstance(v, PurePath):
            return str(v)
        raise InvalidArgument(f"a {type(v).__name__} is not JSON, so it cannot be sent over HTTP")

    return to_jsonable_python(value, fallback=fallback)


def segment(value: Any) -> str:
    """A path segment: keeps ``kind:name@version`` punctuation, escapes ``/`` and the rest."""
    return quote(str(value), safe=":@")


class RemoteService:
    """Base of every remote service: the HTTP transport and the generated methods."""

    protocol: ClassVar[type]
    ops: ClassVar[Mapping[str, Op]]

    _senders: ClassVar[dict[str, Callable[[RemoteService, Args], Any]]] = {}

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def _send(self, name: str, a: Args) -> Any:
        """The table's HTTP call for method ``name``, for a ``@local`` body around it."""
        return self._senders[name](self, a)

    def __init_subclass__(cls, *, ops: Mapping[str, Op] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if ops is None:
            return
        protocols = [
            b for b in cls.__mro__[1:] if getattr(b, "_is_protocol", False) and b is not Protocol
        ]
        if len(protocols) != 1:
            raise TypeError(f"{cls.__name__} must implement exactly one capability Protocol")
        cls.protocol, cls.ops = protocols[0], ops
        declared = protocol_methods(cls.protocol)
        if unknown := set(ops) - set(declared):
            raise TypeError(f"{cls.__name__}: operations for unknown methods {sorted(unknown)}")
        cls._senders = {}
        for name, fn in declared.items():
            # A method written out on the class wins; its table entry (if any) still
            # makes the server's route, which a ``@local`` method may ``_send`` to.
            if name in ops:
                cls._senders[name] = _sender(fn, ops[name])
            if not _written_out(cls, name):
                if name not in ops:
                    raise TypeError(f"{cls.__name__}.{name}: no operation and no method")
                setattr(cls, name, _generate(fn, cls._senders[name]))


def build(service: Callable[[HttpTransport], T], http: HttpTransport) -> T:
    """An instance of a remote service class.

    mypy sees the Protocol methods the table generates as abstract, so a class is
    made through this (typed as a callable, not a class) rather than called directly.
    """
    return service(http)


def local(declared: Callable[P, R]) -> Callable[[Callable[[Any, Args], R]], Callable[P, R]]:
    """A client method that does local work, with ``declared``'s signature (ADR 0031).

    ``declared`` is the Protocol's method (``LakeAPI.write``). The body is written
    as ``def write(self, a: Args) -> TableInfo`` and gets every argument by name,
    defaults applied, so the signature and its defaults are typed once, on the
    Protocol. The result has the Protocol's ``__signature__`` (the signature test
    reads it) and type (mypy checks the class against the Protocol).
    """
    sig = inspect.signature(declared)

    def bind(body: Callable[[Any, Args], R]) -> Callable[P, R]:
        @functools.wraps(declared, updated=())  # not the Protocol's ``__dict__``
        def method(self: Any, /, *args: Any, **kwargs: Any) -> R:
            return body(self, _arguments(sig, self, args, kwargs))

        method.__signature__ = sig  # type: ignore[attr-defined]
        method.__module__, method.__qualname__ = body.__module__, body.__qualname__
        method.local = body  # type: ignore[attr-defined]  # tests tell it from a hand copy
        return cast(Callable[P, R], method)

    return bind


def _arguments(
    sig: inspect.Signature, self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Args:
    bound = sig.bind(self, *args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    del values[next(iter(sig.parameters))]  # self
    return values


def _written_out(cls: type, name: str) -> bool:
    """Defined on the class or a base, other than the Protocol or a mixin's abstract stub."""
    return any(
        name in vars(klass) and not getattr(vars(klass)[name], "__isabstractmethod__", False)
        for klass in cls.__mro__
        if klass is not object and not getattr(klass, "_is_protocol", False)
    )


def _generate(
    fn: Callable[..., Any], send: Callable[[RemoteService, Args], Any]
) -> Callable[..., Any]:
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def method(self: RemoteService, /, *args: Any, **kwargs: Any) -> Any:
        return send(self, _arguments(sig, self, args, kwargs))

    method.__signature__ = sig  # type: ignore[attr-defined]
    return method


def _sender(fn: Callable[..., Any], op: Op) -> Callable[[RemoteService, Args], Any]:
    """The table's HTTP call for ``fn``: arguments by name in, the parsed result out."""
    sig = inspect.signature(fn)
    unknown = {*op.query, *op.wire, *op.encode, *op.omit_default, *op.path_args, *op.types}
    unknown |= set(op.job_args)
    unknown -= set(sig.parameters)
    if unknown:
        raise TypeError(f"{fn.__qualname__}: the operation names unknown arguments {unknown}")
    returns = fn.__annotations__["return"]
    if isinstance(returns, str):  # evaluated among the Protocol module's own names
        returns = eval(returns, fn.__globals__)
    adapter = None if returns is None else TypeAdapter(without_job(returns))
    queued = TypeAdapter(Job)

    def send(self: RemoteService, values: Args) -> Any:
        values = dict(values)
        submit = bool(values.pop("submit", False)) and op.job is not None
        path = op.fill({a: segment(op.encode_arg(a, values.pop(a))) for a in op.path_args})
        params: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for arg, value in values.items():
            if arg in op.omit_default and value is sig.parameters[arg].default:
                continue
            wired = jsonable(op.encode_arg(arg, value))
            target = params if op.in_query(arg) else body
            target[op.wire.get(arg, arg)] = wired
        params = {k: v for k, v in params.items() if v is not None}
        if op.job is not None and not submit:  # the result, not the 202 job (ADR 0016)
            params["wait"] = "true"
        json = None if op.verb in BODYLESS else body
        data = self._http.request(op.verb, API + path, params=params, json=json)
        if submit:  # the 202 job
            return queued.validate_python(data)
        if op.unwrap is not None:
            data = data[op.unwrap]
        if op.decode is not None:
            data = op.decode(data)
        return None if adapter is None else adapter.validate_python(data)

    return send
