"""docs/configuration.md lists every setting and its environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from shipyard.config import Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _keys(annotation, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def test_every_setting_is_documented_with_its_variable() -> None:
    text = DOC.read_text()
    keys = _keys(Settings)
    assert "catalog.url" in keys and "server.workers" in keys
    missing = [k for k in keys if f"| `{k}` |" not in text]
    assert not missing, f"document these settings in {DOC.name}: {missing}"
    for key in keys:
        env = "SHIPYARD_" + key.replace(".", "_").upper()
        assert f"`{env}" in text, f"{DOC.name} should name {env}"
