from __future__ import annotations

import re

import pytest

from shipyard.errors import InvalidArgument
from shipyard.tracking.search import (
    BoolOp,
    Cmp,
    Not,
    attribute_conditions,
    parse_filter,
    parse_order_by,
)


def test_and_or_parentheses_precedence() -> None:
    ast = parse_filter("metrics.auc > 0.8 and (params.model = 'rf' or tags.t != \"x\")")
    assert isinstance(ast, BoolOp) and ast.op == "and"
    left, right = ast.items
    assert isinstance(left, Cmp) and (left.ident.entity, left.ident.key, left.op, left.value) == (
        "metric",
        "auc",
        ">",
        0.8,
    )
    assert isinstance(right, BoolOp) and right.op == "or"
    # and binds tighter than or
    ast = parse_filter("a = 'x' or b = 'y' and c = 'z'")
    assert isinstance(ast, BoolOp) and ast.op == "or"
    assert isinstance(ast.items[1], BoolOp) and ast.items[1].op == "and"


def test_in_like_null_not_and_quoting() -> None:
    ast = parse_filter(
        "params.model IN ('rf', 'gbm') and tags.`my tag` ILIKE '%x%' "
        "and not metrics.loss IS NULL and params.\"a b\" NOT LIKE 'q%'"
    )
    assert isinstance(ast, BoolOp)
    ops = [n.op if isinstance(n, Cmp) else "not" for n in ast.items]
    assert ops == ["in", "ilike", "not", "notlike"]
    assert isinstance(ast.items[2], Not)
    assert ast.items[1].ident.key == "my tag" and ast.items[3].ident.key == "a b"
    assert ast.items[0].value == ["rf", "gbm"]


def test_dotted_keys_and_attributes() -> None:
    ast = parse_filter("metrics.val.auc >= 1e-3 and status = 'FINISHED' and run_name != 'x'")
    assert isinstance(ast, BoolOp)
    assert ast.items[0].ident.key == "val.auc" and ast.items[0].value == pytest.approx(0.001)
    assert ast.items[1].ident.entity == "attr"


@pytest.mark.parametrize(
    ("text", "pos"),
    [
        ("metrics.auc > and x = 'y'", 14),
        ("metrics.auc > 0.8 and", 21),
        ("(metrics.auc > 0.8", 18),
        ("metrics.auc ! 3", 12),
        ("params.x = 'a' params.y = 'b'", 15),
    ],
)
def test_syntax_errors_point_at_the_position(text: str, pos: int) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_filter(text)
    assert err.value.details["position"] == pos
    assert f"position {pos}" in err.value.message


def test_empty_filter_is_none() -> None:
    assert parse_filter("  ") is None and parse_filter(None) is None


def test_order_by() -> None:
    order = parse_order_by(["metrics.auc DESC", "attributes.start_time", "params.`x y` asc"])
    assert [(i.entity, i.key, d) for i, d in order] == [
        ("metric", "auc", True),
        ("attr", "start_time", False),
        ("param", "x y", False),
    ]
    with pytest.raises(InvalidArgument):
        parse_order_by(["bogus_attribute"])


# -- attribute_conditions: the searches whose service takes plain arguments -------------------

_NAMES = {"name": frozenset({"=", "like", "ilike"}), "run_id": frozenset({"="})}


def test_attribute_conditions_reads_the_forms_mlflow_clients_send() -> None:

    def read(text: str | None) -> list[tuple[str, str, object]]:
        return [(c.ident.key, c.op, c.value) for c in attribute_conditions(text, _NAMES)]

    assert read(None) == read("") == read("  ") == []
    assert read("name='churn'") == [("name", "=", "churn")]
    assert read("attribute.name ILIKE '%Churn%'") == [("name", "ilike", "%Churn%")]
    assert read("Name LIKE 'c%' AND run_id = 'r1'") == [
        ("name", "like", "c%"),
        ("run_id", "=", "r1"),
    ]
    prompt = frozenset({("tag", "mlflow.prompt.is_prompt", "!=", "true")})
    got = attribute_conditions(
        "name = 'a' AND tag.`mlflow.prompt.is_prompt` != 'true'", _NAMES, always_true=prompt
    )
    assert [(c.ident.key, c.value) for c in got] == [("name", "a")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("tags.team = 'x'", "cannot filter on 'tags.team'"),
        ("owner = 'x'", "cannot filter on 'owner'"),
        ("name = 'a' or name = 'b'", "only comparisons joined by AND"),
        ("not name = 'a'", "only comparisons joined by AND"),
        ("run_id LIKE 'r%'", "supports = on 'run_id', not LIKE"),
        ("name = 3", "compared with a quoted string"),
        ("name = 'a' and name = 'b'", "one condition on 'name'"),
        ("name = 'a", "filter syntax error"),
    ],
)
def test_attribute_conditions_refuses_what_the_service_cannot_do(text: str, says: str) -> None:

    with pytest.raises(InvalidArgument, match=re.escape(says)):
        attribute_conditions(text, _NAMES, what="model search")
