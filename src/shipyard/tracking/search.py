"""The run search grammar: MLflow's filter language plus ``or``, ``not`` and parentheses.

    metrics.auc > 0.8 and params.model = 'rf'
    (tags.team = 'risk' or tags.team = 'growth') and attributes.status != 'FAILED'
    params.model IN ('rf', 'gbm') and metrics.loss IS NOT NULL

A tokenizer and a recursive-descent parser build a small AST; ``to_sql`` turns
it into a SQLAlchemy clause over ``tracking_runs``. Errors show where they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shipyard.errors import InvalidArgument
from shipyard.tracking.tables import latest_metrics, params, runs, tags

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
      | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      | (?P<bq>`[^`]*`)
      | (?P<op>==|!=|<>|>=|<=|=|>|<)
      | (?P<punct>[(),.])
      | (?P<word>[A-Za-z_][A-Za-z0-9_\-/:]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null"}
_ENTITIES = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attr",
    "attributes": "attr",
    "attr": "attr",
    "run": "attr",
}
ATTRIBUTES = {
    "run_id": runs.c.id,
    "id": runs.c.id,
    "run_name": runs.c.name,
    "name": runs.c.name,
    "status": runs.c.status,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "user": runs.c.user_name,
    "user_id": runs.c.user_name,
    "experiment_id": runs.c.experiment_id,
    "artifact_uri": runs.c.artifact_uri,
    "lifecycle_stage": runs.c.lifecycle_stage,
    "parent_run_id": runs.c.parent_run_id,
}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int

    @property
    def lower(self) -> str:
        return self.text.lower()


@dataclass
class Ident:
    entity: str  # metric | param | tag | attr
    key: str


@dataclass
class Cmp:
    ident: Ident
    op: str  # = != > >= < <= like ilike in notin isnull notnull notlike notilike
    value: Any


@dataclass
class BoolOp:
    op: str  # and | or
    items: list[Any]


@dataclass
class Not:
    item: Any


def _error(text: str, pos: int, message: str) -> InvalidArgument:
    caret = " " * pos + "^"
    return InvalidArgument(
        f"filter syntax error at position {pos}: {message}\n  {text}\n  {caret}",
        filter=text,
        position=pos,
    )


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(Tok("end", "", len(text)))
    return out


def _unquote(tok: Tok) -> str:
    body = tok.text[1:-1]
    if tok.text[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.lower in words

    def expect_punct(self, p: str) -> None:
        if self.tok.text != p:
            raise _error(self.text, self.tok.pos, f"expected '{p}'" + self._got())
        self.take()

    def _got(self) -> str:
        return (
            ", got the end of the filter" if self.tok.kind == "end" else f", got '{self.tok.text}'"
        )

    def parse(self) -> Any:
        node = self.or_expr()
        if self.tok.kind != "end":
            raise _error(self.text, self.tok.pos, "expected 'and', 'or' or the end" + self._got())
        return node

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.at_word("or"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", items)

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.at_word("and"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("and", items)

    def not_expr(self) -> Any:
        if self.at_word("not"):
            self.take()
            return Not(self.not_expr())
        if self.tok.text == "(":
            self.take()
            node = self.or_expr()
            self.expect_punct(")")
            return node
        return self.comparison()

    def ident(self) -> Ident:
        tok = self.take()
        if tok.kind in ("bq", "str"):
            return Ident("attr", _unquote(tok) if tok.kind == "str" else tok.text[1:-1])
        if tok.kind != "word" or tok.lower in _KEYWORDS:
            raise _error(
                self.text,
                tok.pos,
                "expected a name such as metrics.auc or params.model"
                + ("" if tok.kind != "end" else ", got the end of the filter"),
            )
        if self.tok.text == "." and tok.lower in _ENTITIES:
            self.take()
            key_tok = self.take()
            if key_tok.kind == "word":
                key = key_tok.text
                while self.tok.text == "." and self.toks[self.i + 1].kind in ("word", "num"):
                    self.take()
                    key += "." + self.take().text
            elif key_tok.kind in ("bq", "str"):
                key = key_tok.text[1:-1] if key_tok.kind == "bq" else _unquote(key_tok)
            else:
                raise _error(self.text, key_tok.pos, f"expected a key after '{tok.text}.'")
            return Ident(_ENTITIES[tok.lower], key)
        return Ident("attr", tok.text)

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "num":
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "str":
            return _unquote(tok)
        if tok.kind == "word" and tok.lower in ("true", "false"):
            return tok.lower
        raise _error(
            self.text,
            tok.pos,
            "expected a number or a quoted string"
            + ("" if tok.kind != "end" else ", got the end of the filter"),
        )

    def comparison(self) -> Cmp:
        start = self.tok.pos
        ident = self.ident()
        if self.at_word("is"):
            self.take()
            negate = self.at_word("not") and bool(self.take())
            if not self.at_word("null"):
                raise _error(self.text, self.tok.pos, "expected NULL after IS" + self._got())
            self.take()
            return Cmp(ident, "notnull" if negate else "isnull", None)
        negate = self.at_word("not") and bool(self.take())
        if self.at_word("in"):
            self.take()
            self.expect_punct("(")
            values = [self.value()]
            while self.tok.text == ",":
                self.take()
                values.append(self.value())
            self.expect_punct(")")
            return Cmp(ident, "notin" if negate else "in", values)
        if self.at_word("like", "ilike"):
            op = self.take().lower
            return Cmp(ident, ("not" + op) if negate else op, self.value())
        if negate:
            raise _error(self.text, self.tok.pos, "expected IN, LIKE or ILIKE after NOT")
        if self.tok.kind != "op":
            raise _error(
                self.text,
                self.tok.pos,
                f"expected a comparison (=, !=, >, >=, <, <=, LIKE, IN) after "
                f"'{self.text[start : self.tok.pos].strip()}'" + self._got(),
            )
        op = {"==": "=", "<>": "!="}.get(self.take().text, self.toks[self.i - 1].text)
        return Cmp(ident, op, self.value())


def parse_filter(text: str | None) -> Any:
    """The AST of ``text`` (``None`` for an empty filter).

    Raises:
        InvalidArgument: a syntax error; the message points at the position.
    """
    if text is not None and not isinstance(text, str):
        raise InvalidArgument("a filter must be a string")
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def attribute_conditions(
    text: str | None,
    allowed: dict[str, frozenset[str]],
    *,
    what: str = "this search",
    always_true: frozenset[tuple[str, str, str, Any]] = frozenset(),
) -> list[Cmp]:
    """The comparisons of a filter that only ANDs attribute comparisons.

    For searches whose service takes plain arguments (experiments, registered
    models, model versions): ``name = 'x' and run_id = 'y'``. ``allowed`` maps an
    attribute (``name``, ``run_id``; ``attribute.name`` is the same) to the
    operators it supports (``=``, ``!=``, ``like``, ``ilike``, ``in``...); keys of
    the result's idents are lower-case. ``[]`` for an empty filter.
    ``always_true`` lists comparisons ``(entity, key, op, value)`` that hold for
    every row of this search; they are dropped.

    Raises:
        InvalidArgument: a syntax error, ``or``/``not``, another entity or
            attribute, or an operator that attribute does not support.
    """
    node = parse_filter(text)
    if node is None:
        return []
    items = node.items if isinstance(node, BoolOp) and node.op == "and" else [node]
    out: list[Cmp] = []
    for item in items:
        if not isinstance(item, Cmp):
            raise InvalidArgument(
                f"{what} supports only comparisons joined by AND", filter=text or ""
            )
        if (item.ident.entity, item.ident.key, item.op, item.value) in always_true:
            continue
        key = item.ident.key.lower()
        if item.ident.entity != "attr" or key not in allowed:
            shown = (
                item.ident.key
                if item.ident.entity == "attr"
                else (f"{item.ident.entity}s.{item.ident.key}")
            )
            raise InvalidArgument(
                f"{what} cannot filter on '{shown}' (only: {', '.join(sorted(allowed))})",
                key=item.ident.key,
            )
        if item.op not in allowed[key]:
            ops = ", ".join(sorted(o.upper() for o in allowed[key]))
            raise InvalidArgument(
                f"{what} supports {ops} on '{key}', not {item.op.upper()}", key=key
            )
        values = item.value if isinstance(item.value, list) else [item.value]
        if not all(isinstance(v, str) for v in values):
            raise InvalidArgument(f"'{key}' is compared with a quoted string", key=key)
        if any(c.ident.key == key for c in out):
            raise InvalidArgument(f"{what} takes one condition on '{key}'", key=key)
        out.append(Cmp(Ident("attr", key), item.op, item.value))
    return out


# -- to SQL ------------------------------------------------------------------------

_NUMERIC_ATTRS = {"start_time", "end_time"}


def _compare(col: Any, op: str, value: Any) -> Any:
    if op in ("in", "notin"):
        clause = col.in_(list(value))
        return sa.not_(clause) if op == "notin" else clause
    if op in ("like", "notlike"):
        clause = col.like(value)
        return sa.not_(clause) if op == "notlike" else clause
    if op in ("ilike", "notilike"):
        clause = sa.func.lower(col).like(str(value).lower())
        return sa.not_(clause) if op == "notilike" else clause
    return {
        "=": col == value,
        "!=": col != value,
        ">": col > value,
        ">=": col >= value,
        "<": col < value,
        "<=": col <= value,
    }[op]


def _check_value(node: Cmp, entity: str) -> None:
    numeric = entity == "metric" or (entity == "attr" and node.ident.key in _NUMERIC_ATTRS)
    values = node.value if isinstance(node.value, list) else [node.value]
    for v in values:
        if v is None:
            continue
        if numeric and not isinstance(v, int | float):
            raise InvalidArgument(
                f"{entity}s.{node.ident.key} is compared with a number, got '{v}'",
                key=node.ident.key,
            )
        if not numeric and not isinstance(v, str):
            raise InvalidArgument(
                f"{node.ident.entity}.{node.ident.key} is compared with a quoted string, got {v}",
                key=node.ident.key,
            )
    if not numeric and node.op in (">", ">=", "<", "<="):
        raise InvalidArgument(
            f"'{node.op}' compares numbers; {node.ident.entity} '{node.ident.key}' is a string "
            "(use =, !=, LIKE, ILIKE or IN)",
            key=node.ident.key,
        )


def _cmp_sql(node: Cmp) -> Any:
    ident = node.ident
    if ident.entity == "attr":
        col = ATTRIBUTES.get(ident.key.lower())
        if col is None:
            raise InvalidArgument(
                f"unknown run attribute '{ident.key}' (one of: {', '.join(sorted(ATTRIBUTES))})",
                key=ident.key,
            )
        _check_value(Cmp(Ident("attr", ident.key.lower()), node.op, node.value), "attr")
        if node.op == "isnull":
            return col.is_(None)
        if node.op == "notnull":
            return col.is_not(None)
        return _compare(col, node.op, node.value)
    table = {"metric": latest_metrics, "param": params, "tag": tags}[ident.entity]
    exists = sa.select(table.c.run_id).where(table.c.run_id == runs.c.id, table.c.key == ident.key)
    if node.op == "isnull":
        return ~sa.exists(exists)
    if node.op == "notnull":
        return sa.exists(exists)
    _check_value(node, ident.entity)
    cond = _compare(table.c.value, node.op, node.value)
    if ident.entity == "metric":
        cond = sa.and_(cond, table.c.is_nan.is_(False))
    return sa.exists(exists.where(cond))


def to_sql(node: Any) -> Any:
    """A SQLAlchemy clause over ``tracking_runs`` for the AST ``node``."""
    if isinstance(node, BoolOp):
        parts = [to_sql(n) for n in node.items]
        return sa.and_(*parts) if node.op == "and" else sa.or_(*parts)
    if isinstance(node, Not):
        return sa.not_(to_sql(node.item))
    return _cmp_sql(node)


# -- ordering -------------------------------------------------------------------------

_ORDER = re.compile(r"^\s*(?P<ident>.+?)\s*(?:\s(?P<dir>asc|desc))?\s*$", re.IGNORECASE)


def parse_order_by(items: list[str] | None) -> list[tuple[Ident, bool]]:
    """``["metrics.auc DESC", "start_time"]`` -> ``[(Ident, descending), ...]``."""
    out: list[tuple[Ident, bool]] = []
    for item in items or []:
        m = _ORDER.match(item)
        if m is None or not m.group("ident"):
            raise InvalidArgument(f"invalid order_by clause '{item}'", order_by=item)
        parser = _Parser(m.group("ident"))
        ident = parser.ident()
        if parser.tok.kind != "end":
            raise _error(item, parser.tok.pos, "expected ASC or DESC after the name")
        if ident.entity == "attr" and ident.key.lower() not in ATTRIBUTES:
            raise InvalidArgument(f"cannot order by unknown attribute '{ident.key}'", key=ident.key)
        out.append((ident, (m.group("dir") or "asc").lower() == "desc"))
    return out


def apply_order(
    query: Any, order: list[tuple[Ident, bool]], *, lead: tuple[Any, bool] | None = None
) -> Any:
    """Add joins and ORDER BY for ``order``; runs without the key sort last.

    ``lead`` is an already joined (column, descending) to sort by first.
    """
    clauses = []
    col: Any
    if lead is not None:
        clauses.append(lead[0].desc() if lead[1] else lead[0].asc())
    for n, (ident, desc) in enumerate(order):
        if ident.entity == "attr":
            col = ATTRIBUTES[ident.key.lower()]
        else:
            table = {"metric": latest_metrics, "param": params, "tag": tags}[ident.entity]
            alias = table.alias(f"ord{n}")
            query = query.outerjoin(
                alias, sa.and_(alias.c.run_id == runs.c.id, alias.c.key == ident.key)
            )
            col = alias.c.value
        clauses.append((col.desc() if desc else col.asc()).nulls_last())
    keys = [i for i, _ in order]
    if not any(i.entity == "attr" and i.key.lower() == "start_time" for i in keys):
        clauses.append(runs.c.start_time.desc())
    clauses.append(runs.c.id.asc())
    return query.order_by(*clauses)


def fetch_page(
    conn: Any, base: Any, order: list[tuple[Ident, bool]], offset: int, limit: int
) -> list[Any]:
    """Rows ``offset..offset+limit`` of ``base`` in ``order``.

    Ordering by a metric, param or tag first runs as two queries: the runs that
    have the key, joined (so the ``(key, value)`` index drives the sort and a
    page needs only as many rows as it shows), then the runs without it.
    """
    if not order or order[0][0].entity == "attr":
        return list(conn.execute(apply_order(base, order).offset(offset).limit(limit)).all())
    ident, desc = order[0]
    table = {"metric": latest_metrics, "param": params, "tag": tags}[ident.entity]
    lead = table.alias("lead")
    on = sa.and_(lead.c.run_id == runs.c.id, lead.c.key == ident.key)
    if ident.entity == "metric":
        on = sa.and_(on, lead.c.is_nan.is_(False))
    head = base.join(lead, on)
    rows = list(
        conn.execute(
            apply_order(head, order[1:], lead=(lead.c.value, desc)).offset(offset).limit(limit)
        ).all()
    )
    if len(rows) >= limit:
        return rows
    n_head = conn.execute(sa.select(sa.func.count()).select_from(head.subquery())).scalar() or 0
    missing = sa.select(table.c.run_id).where(table.c.run_id == runs.c.id, table.c.key == ident.key)
    if ident.entity == "metric":
        missing = missing.where(table.c.is_nan.is_(False))
    tail = apply_order(base.where(~sa.exists(missing)), order[1:])
    more = conn.execute(tail.offset(max(0, offset - n_head)).limit(limit - len(rows))).all()
    return rows + list(more)
