"""Services decide, stores hold SQL: no statement runs in these service modules.

``list_*`` methods are exempt while their paging moves into SQL (issue #11).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "shipyard"
SERVICES = ["security/service.py", "registry/service.py", "registry/promotion.py"]


def _executes_outside_lists(path: Path) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST, func: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            func = node.name
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "execute"
            and not func.startswith("list_")
        ):
            found.append(f"{path.name}:{node.lineno} in {func}")
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(ast.parse(path.read_text()), "<module>")
    return found


@pytest.mark.parametrize("module", SERVICES)
def test_service_runs_no_sql_of_its_own(module: str) -> None:
    assert _executes_outside_lists(SRC / module) == []


def test_the_check_sees_a_statement(tmp_path: Path) -> None:
    f = tmp_path / "svc.py"
    f.write_text("def get_x(conn):\n    return conn.execute('select 1')\n")
    assert _executes_outside_lists(f) == ["svc.py:2 in get_x"]
