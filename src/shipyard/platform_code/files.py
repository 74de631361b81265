"""Read the project's files into one desired state, each resource with its file and line.

``platform.yaml`` (and ``platform/*.yaml``) declares teams, principals' roles, quotas,
lake table definitions, deployments with their traffic, and monitors. Feature
definitions and pipelines stay in their Python files (``features.py``, ``features/``,
``pipelines.py``, ``pipelines/``), read by their own loaders. The result is JSON, so
it crosses HTTP: the server never imports a user's file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml

from shipyard.errors import InvalidArgument
from shipyard.platform_code.models import YAML_KINDS, Desired, Resource


def default_paths(project_dir: Path) -> list[Path]:
    """``platform.yaml``, ``platform/*.yaml`` and the feature and pipeline files."""
    from shipyard.features.loader import default_paths as feature_paths
    from shipyard.pipelines.loader import default_paths as pipeline_paths

    out = [p for p in (project_dir / "platform.yaml", project_dir / "platform.yml") if p.is_file()]
    folder = project_dir / "platform"
    if folder.is_dir():
        out += sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    return out + feature_paths(project_dir) + pipeline_paths(project_dir)


def load(paths: list[Path]) -> Desired:
    """The desired state declared by ``paths`` (YAML files and Python definition files).

    Raises:
        InvalidArgument: a file that does not parse, an unknown resource kind, a
            resource without a name; the message starts with ``file:line``.
    """
    desired = Desired()
    for path in paths:
        if path.suffix in (".yaml", ".yml"):
            desired.resources += _load_yaml(path)
        elif path.suffix == ".py":
            desired.resources += _load_python(path)
        else:
            raise InvalidArgument(f"{path}: not a platform file (.yaml, .yml or .py)")
    return desired


# -- YAML ------------------------------------------------------------------------------------


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _load_yaml(path: Path) -> list[Resource]:
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or exc
        raise InvalidArgument(f"{path}:{line}: not valid YAML: {problem}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise InvalidArgument(f"{path}:{root.start_mark.line + 1}: expected kinds as keys")
    out: list[Resource] = []
    for key, value in root.value:
        kind, line = str(key.value), key.start_mark.line + 1
        if kind not in YAML_KINDS:
            known = ", ".join(YAML_KINDS)
            raise InvalidArgument(f"{path}:{line}: unknown resource kind '{kind}' (known: {known})")
        if not isinstance(value, yaml.SequenceNode):
            raise InvalidArgument(f"{path}:{line}: '{kind}' must be a list")
        for item in value.value:
            out.append(_resource(path, YAML_KINDS[kind], item))
    return out


def _resource(path: Path, kind: str, node: yaml.Node) -> Resource:
    source = f"{path}:{node.start_mark.line + 1}"
    data = _plain(node)
    if kind == "team" and isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict):
        raise InvalidArgument(f"{source}: a {kind} must be a mapping")
    if kind == "quota":
        data.setdefault("name", "{}/{}/{}".format(*(data.get(k) for k in QUOTA_KEY)))
    if kind == "monitor" and "name" not in data and "deployment" in data:
        data["name"] = "monitor_" + re.sub(r"[^a-z0-9_]", "_", str(data["deployment"]).lower())
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{source}: a {kind} needs a name")
    return Resource(kind=kind, name=name, spec=data, source=source)


QUOTA_KEY = ("scope", "subject", "resource")


# -- Python definition files -----------------------------------------------------------------


def _lines(path: Path) -> dict[str, int]:
    """The line of each module-level ``x = Thing(name="n", ...)`` (or ``Thing("n")``), by name.

    Read from the source, not from the imported objects, which do not know their line.
    """
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError:
        return {}
    out: dict[str, int] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.decorator_list:  # @shipyard.pipeline
            deco = stmt.decorator_list[0]
            named = [k.value for k in getattr(deco, "keywords", []) if k.arg == "name"]
            name = named[0].value if named and isinstance(named[0], ast.Constant) else stmt.name
            out.setdefault(str(name), deco.lineno)
            continue
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
        if not isinstance(value, ast.Call):
            continue
        args = [k.value for k in value.keywords if k.arg == "name"] + value.args[:1]
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.setdefault(arg.value, stmt.lineno)
                break
    return out


def _load_python(path: Path) -> list[Resource]:
    from shipyard.features.loader import load_file as load_features
    from shipyard.features.wire import definition_to_wire
    from shipyard.pipelines.loader import load_file as load_pipelines

    lines = _lines(path)
    out: list[Resource] = []
    for obj in load_features(path):
        source = f"{path}:{lines.get(obj.name, 1)}"
        out.append(
            Resource(
                kind="feature",
                name=f"{obj.kind}:{obj.name}",
                spec=definition_to_wire(obj),
                source=source,
            )
        )
    for p in load_pipelines(path):
        spec = p.spec.model_dump(mode="json")
        source = f"{path}:{lines.get(p.name, 1)}"
        out.append(Resource(kind="pipeline", name=p.name, spec=spec, source=source))
    return out
