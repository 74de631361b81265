"""One small adapter per resource kind, each over the capability's own service.

An adapter reads the current state (``current``: name -> canonical JSON), checks a
declared resource's references (``check``), and carries out changes (``put``,
``delete``). The diff is generic; the feature and pipeline planners are reused
whole (``FeatureKind``, ``PipelineKind``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shipyard._internal.paging import Page
from shipyard.errors import InvalidArgument
from shipyard.platform_code.models import Change, Resource


def every(call: Callable[..., Page[Any]], **kw: Any) -> Iterator[Any]:
    """Every item of a paged list call."""
    token: str | None = None
    while True:
        page = call(**kw, page_token=token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return


@dataclass
class Refs:
    """What a declared resource may refer to: what exists now or is declared beside it."""

    teams: set[str] = field(default_factory=set)
    principals: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    deployments: set[str] = field(default_factory=set)
    feature_services: set[str] = field(default_factory=set)
    #: What each deployment logs per row (its request fields, entity keys and the
    #: features of its feature service): what a monitor may name.
    deployment_inputs: dict[str, set[str]] = field(default_factory=dict)

    def need(self, what: str, name: Any, known: set[str]) -> None:
        if name not in known:
            raise InvalidArgument(f"refers to {what} '{name}', which does not exist")


class Kind:
    """The generic diff: a declared spec against the stored one, by name."""

    kind = ""
    #: ``--prune`` may delete what the files no longer declare.
    prunable = True
    #: ``apply`` gets every change at once, deletions included (the kind orders them).
    grouped = False
    #: Its state counts in the plan's fingerprint (not for what derives from others).
    fingerprinted = True

    #: What declared resources may refer to (set by the service before ``check``/``diff``).
    refs: Refs

    @property
    def owners(self) -> dict[str, str]:
        """The stored owner team of each current resource (filled by ``current``)."""
        return self.__dict__.setdefault("_owners", {})

    def current(self) -> dict[str, Any]:
        raise NotImplementedError

    def canonical(self, spec: dict[str, Any]) -> Any:
        """The declared spec in the form ``current`` stores (defaults filled in)."""
        return spec

    def declared(self, name: str, stored: Any) -> dict[str, Any] | None:
        """The inverse of ``canonical``: a stored resource as a file would declare it.

        ``None`` when it cannot be declared (a table defined by a Python function).
        Environment promotion reads the source's state this way (ADR 0028).
        """
        owner = self.owners.get(name)
        return {**stored, "owner": owner} if owner and isinstance(stored, dict) else stored

    def check(self, r: Resource, refs: Refs) -> None:
        """Raise ``InvalidArgument`` (without the place) if ``r`` is malformed or dangles."""

    def diff(self, declared: list[Resource], current: dict[str, Any], prune: bool) -> list[Change]:
        out = []
        for r in declared:
            want, have = self.canonical(r.spec), current.get(r.name)
            if have is None:
                out.append(Change(kind=self.kind, name=r.name, action="create", source=r.source))
            elif want != have:
                out.append(
                    Change(
                        kind=self.kind,
                        name=r.name,
                        action="update",
                        diff=_diff(have, want),
                        source=r.source,
                    )
                )
            else:
                out.append(Change(kind=self.kind, name=r.name, action="unchanged", source=r.source))
        if prune and self.prunable:
            names = {r.name for r in declared}
            out += [
                Change(kind=self.kind, name=n, action="delete")
                for n in sorted(current)
                if n not in names
            ]
        return out

    def apply(self, changes: list[Change], declared: list[Resource]) -> None:
        by_name = {r.name: r for r in declared}
        for c in changes:
            if c.action in ("create", "update"):
                self.put(by_name[c.name], c)
            elif c.action == "delete":
                self.delete(c.name)

    def put(self, r: Resource, change: Change) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError


def _diff(old: Any, new: Any) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    return [f"{old!r} -> {new!r}"]


def spec_of(r: Resource, model: Any, *, drop: tuple[str, ...] = ()) -> Any:
    """``r.spec`` validated by ``model`` (one line naming the field when it does not fit)."""
    from pydantic import ValidationError

    body = {k: v for k, v in r.spec.items() if k not in drop}
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or r.kind
        raise InvalidArgument(f"{r.kind} '{r.name}': {where}: {err['msg']}") from None
