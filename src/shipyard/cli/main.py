"""The `shipyard` command: one group per capability, thin over the services."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import typer

from shipyard.cli import _common
from shipyard.cli._common import console, err_console, first_line
from shipyard.errors import ShipyardError


def _no_type_for_flags() -> None:
    """Typer's rich help prints a value type (``<bool>``) even for flags, which take none.

    Its ``TyperOption.display_type_rich`` does not look at ``is_flag`` (typer 0.29); a flag's
    type column stays empty here, as click's plain help does.
    """
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_shipyard", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    display_type_rich._shipyard = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_type_for_flags()

app = typer.Typer(
    name="shipyard",
    help="Shipyard: lakehouse, feature store, tracking, registry and serving in one platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        import shipyard

        typer.echo(f"shipyard {shipyard.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    project: Path = typer.Option(
        Path("."),
        "--project",
        "-C",
        envvar="SHIPYARD_PROJECT_DIR",
        help="Project folder, or any folder inside one (found upwards, like git).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    env: str = typer.Option(
        None,
        "--env",
        "-E",
        help="Act in this environment (dev, staging, prod...; sets SHIPYARD_ENVIRONMENT).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    _common.state.reset(project, debug, env)


@app.command("init")
def init(
    directory: Path = typer.Argument(Path("."), help="Folder to initialise."),
    template: str = typer.Option(
        None, "--template", "-t", help="Lay out a working project: churn, recommender or blank."
    ),
    list_templates: bool = typer.Option(
        False, "--list-templates", help="List the templates and exit."
    ),
) -> None:
    """Create a project: shipyard.yaml and the .shipyard/ home (and a template's files)."""
    from shipyard import templates
    from shipyard.platform import Platform

    if list_templates:
        for t in templates.list_templates():
            typer.echo(f"{t.name:<12} {t.description}")
        return
    written = templates.lay_out(template, directory) if template else []
    cfg = directory / "shipyard.yaml"
    if not cfg.exists():
        directory.mkdir(parents=True, exist_ok=True)
        cfg.write_text(templates.settings_file(directory.resolve().name))
    p = Platform.open(directory)
    console.print(f"initialised project [bold]{p.settings.project}[/bold] in {directory.resolve()}")
    console.print(f"platform home: {p.settings.home_dir}")
    if written:
        console.print(f"template {template}: {len(written)} files; see README.md")
        console.print(f"next: cd {directory} && python run.py", markup=False)
    else:
        console.print("next: shipyard tokens create, then shipyard serve (see docs/quickstart.md)")


@app.command("serve")
def serve(
    host: str = typer.Option(None, help="Interface to bind (default from settings: 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default from settings: 8765)."),
    workers: int = typer.Option(None, help="Worker processes."),
) -> None:
    """Run the HTTP API (and web UI) with uvicorn."""
    from shipyard.api.server import run_server

    run_server(_common.project_dir(), host=host, port=port, workers=workers)


@app.command("demo")
def demo(
    directory: Path = typer.Option(
        None, "--dir", help="Project folder for the demo (default: a new one)."
    ),
    customers: int = typer.Option(2000, help="Synthetic customers."),
    days: int = typer.Option(90, help="Days of orders."),
    requests: int = typer.Option(200, help="Prediction requests to send over HTTP."),
) -> None:
    """Walk the golden path: raw data to a served prediction, on embedded defaults."""
    from shipyard.demo.golden_path import run_demo

    run_demo(directory, customers=customers, days=days, requests=requests, console=console)


#: Capability modules: each exposes ``register(app)`` or a ``app`` sub-command group.
GROUPS = {
    "catalog": "shipyard.cli.catalog:app",
    "tokens": "shipyard.cli.security:tokens",
    "principals": "shipyard.cli.security:principals",
    "audit": "shipyard.cli.audit:app",
    "monitor": "shipyard.cli.monitoring:monitor",
    "quotas": "shipyard.cli.operations:quotas",
    "usage": "shipyard.cli.operations:usage",
    "backup": "shipyard.cli.backup:app",
    "env": "shipyard.cli.environments:app",
    "platform": "shipyard.cli.platform_code:app",
}
#: Modules whose ``register(app)`` adds commands or groups of their own.
REGISTRARS = (
    "shipyard.cli.lake",
    "shipyard.cli.features",
    "shipyard.cli.tracking",
    "shipyard.cli.registry",
    "shipyard.cli.serving",
    "shipyard.cli.events",
    "shipyard.cli.jobs",
    "shipyard.cli.pipelines",
    "shipyard.cli.vectors",
    "shipyard.cli.monitoring",  # `shipyard scorecard` (the `monitor` group is in GROUPS)
    "shipyard.cli.training",
    "shipyard.cli.platform_code",  # `shipyard plan|apply` (the `platform` group is in GROUPS)
)

for _name, _target in GROUPS.items():
    _module, _attr = _target.split(":")
    app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)
for _module in REGISTRARS:
    importlib.import_module(_module).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run one command; a mistake prints one line and exits non-zero."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code (1 for a Shipyard error, 2 for usage)."""
    try:
        # Standalone mode: the framework prints usage errors and help itself.
        app(args=argv, prog_name="shipyard", standalone_mode=True)
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except ShipyardError as exc:
        if _common.state.debug:
            raise
        err_console.print(exc.headline, markup=False, highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("aborted")
        return 130
    except Exception as exc:  # the unexpected: one line unless --debug
        if _common.state.debug:
            raise
        err_console.print(
            f"error: unexpected {type(exc).__name__}: {first_line(exc)} (rerun with --debug)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 2
    finally:
        _common.state.close()


if __name__ == "__main__":
    main()
