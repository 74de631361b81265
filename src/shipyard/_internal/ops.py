"""One operation table per capability: the wire both skins are made from (ADR 0008, 0015).

A capability's table (``shipyard.<capability>.ops.OPS``) maps each Protocol
method carried by a plain HTTP call to an ``Op``: verb, path and how each
argument travels. The remote client generates its methods from it
(``shipyard.client.ops``) and the API its routes (``shipyard.api.generated``), so
the two cannot drift. This module imports neither httpx nor FastAPI.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import Interval

#: Rows per page of a ``list_`` call (``limit``): the service lowers it to
#: ``paging.max_limit``; this bound only keeps it a 32-bit integer.
PageSize = Annotated[int, Interval(ge=1, le=2**31 - 1)]
#: A "how many" bound (history entries, refreshes, records).
Limit = Annotated[int, Interval(ge=1, le=100_000)]
#: A table, model or training-set version (Delta and registry versions start at 0 or 1).
Version = Annotated[int, Interval(ge=0, le=2**53)]
#: An offset into a log or a result.
Offset = Annotated[int, Interval(ge=0, le=2**62)]
#: Milliseconds since the epoch.
Millis = Annotated[int, Interval(ge=0, le=2**53)]

API = "/api/v1"
BODYLESS = frozenset({"GET", "DELETE"})
_PATH_ARG = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True)
class Op:
    """One service method on the wire.

    ``path`` is under ``/api/v1`` with ``{arg}`` for the arguments in the path
    (``{arg:path}`` when the value may hold ``/``). The other arguments go to the
    query string (``GET``/``DELETE``, or those named in ``query``) or to the JSON
    body, under their own name unless ``wire`` renames them.

    Client side: ``encode`` turns an argument into its wire value; arguments in
    ``omit_default`` are left out while they hold their default (the route then
    tells "not given" from ``None``); ``unwrap`` names the response field that
    holds the return value (``{"written": 3}``); ``decode`` rewrites the response.

    Server side: ``types`` gives an argument's wire type where its annotation is
    not one (``str | AssetRef``) or needs bounds; ``parse`` turns a wire value back
    into the argument (``encode``'s inverse) and ``reply`` the result into its wire
    value (``decode``'s inverse); ``status`` is the success code (201
    for ``POST`` creations; a method returning ``None`` answers 204);
    ``optional_body`` lets a ``POST`` whose fields all have defaults come without a
    body. ``served=False`` leaves the route hand-written (files, Arrow, streams).

    ``job`` names the platform action of a long operation (ADR 0016): the route queues
    it as a job and answers ``202`` with it, unless ``?wait=true`` (which the client
    sends) runs it in the request; ``job_args`` renames arguments for the action.
    """

    verb: str
    path: str
    query: tuple[str, ...] = ()
    wire: Mapping[str, str] = field(default_factory=dict)
    encode: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    omit_default: tuple[str, ...] = ()
    unwrap: str | None = None
    decode: Callable[[Any], Any] | None = None
    types: Mapping[str, Any] = field(default_factory=dict)
    reply: Callable[[Any], Any] | None = None
    parse: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    status: int | None = None
    optional_body: bool = False
    served: bool = True
    job: str | None = None
    job_args: Mapping[str, str] = field(default_factory=dict)

    @property
    def path_args(self) -> list[str]:
        return _PATH_ARG.findall(self.path)

    def fill(self, values: Mapping[str, str]) -> str:
        """The path with each ``{arg}`` replaced by ``values[arg]``."""
        return _PATH_ARG.sub(lambda m: values[m.group(1)], self.path)

    def encode_arg(self, arg: str, value: Any) -> Any:
        return self.encode[arg](value) if arg in self.encode else value

    def in_query(self, arg: str) -> bool:
        return arg not in self.path_args and (self.verb in BODYLESS or arg in self.query)


def protocol_methods(protocol: type) -> dict[str, Callable[..., Any]]:
    """The public methods a Protocol declares, by name."""
    return {
        name: fn
        for name, fn in vars(protocol).items()
        if not name.startswith("_") and inspect.isfunction(fn)
    }


def without_job(returns: Any) -> Any:
    """A long operation's result type: its return annotation without the ``| Job`` that
    ``submit=True`` returns (ADR 0016)."""
    from shipyard._internal.job import Job

    kept = [a for a in get_args(returns) if a is not Job]
    if get_origin(returns) in (Union, UnionType) and len(kept) == 1:
        return kept[0]
    return returns
