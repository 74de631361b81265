from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument
from shipyard.tracking.search import BoolOp, Cmp, Not, parse_filter, parse_order_by


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
