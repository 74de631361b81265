"""Project templates: ``shipyard init --template churn|recommender|blank DIR``.

A template is a folder of files in this package (package data). Its first line
of ``README.md`` after the title is its one-line description. Laying one out
copies its files into the project folder (never over an existing file) and
writes ``shipyard.yaml``; the project then runs end to end with ``python run.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from shipyard.errors import AlreadyExists, InvalidArgument

#: Files a template folder holds that are not copied into projects.
_SKIP = {"__init__.py", "__pycache__"}


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    files: tuple[str, ...]


def _root() -> Traversable:
    return resources.files(__package__ or "shipyard.templates")


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name in _SKIP or item.name.endswith(".pyc"):
            continue
        if item.is_dir():
            out += _walk(item, f"{prefix}{item.name}/")
        else:
            out.append((prefix + item.name, item))
    return out


def _description(folder: Traversable) -> str:
    readme = folder / "README.md"
    lines = [line.strip() for line in readme.read_text().splitlines()] if readme.is_file() else []
    return next((line for line in lines[1:] if line), "")


def list_templates() -> list[Template]:
    """Every template shipped with Shipyard, by name."""
    return [
        Template(
            name=folder.name,
            description=_description(folder),
            files=tuple(path for path, _ in _walk(folder)),
        )
        for folder in sorted(_root().iterdir(), key=lambda t: t.name)
        if folder.is_dir() and folder.name not in _SKIP
    ]


def get_template(name: str) -> Template:
    """Raises InvalidArgument naming the templates there are."""
    found = {t.name: t for t in list_templates()}
    if name not in found:
        raise InvalidArgument(
            f"no template '{name}' (one of {', '.join(sorted(found))})", template=name
        )
    return found[name]


def settings_file(project: str) -> str:
    return (
        "# Shipyard project settings; SHIPYARD_* environment variables override them.\n"
        f"project: {project}\n"
        "# catalog:\n#   url: postgresql://user@host:5432/db\n"
        "# online:\n#   backend: redis\n#   url: redis://127.0.0.1:6379/0\n"
    )


def lay_out(name: str, directory: Path) -> list[Path]:
    """Copy template ``name`` into ``directory`` (created if needed) and return the files written.

    Raises:
        InvalidArgument: no such template.
        AlreadyExists: a file of the template is already in the folder (nothing is written).
    """
    template = get_template(name)
    folder = _root() / template.name
    directory.mkdir(parents=True, exist_ok=True)
    clashes = [p for p in template.files if (directory / p).exists()]
    if clashes:
        raise AlreadyExists(
            f"{directory} already has {', '.join(clashes[:3])}"
            f"{' ...' if len(clashes) > 3 else ''}; choose an empty folder",
            files=clashes,
        )
    written = []
    for rel, source in _walk(folder):
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        written.append(target)
    return written
