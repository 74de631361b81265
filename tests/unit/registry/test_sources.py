"""Registration sources: only what the caller may read, never a server folder (issue #10, 1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.registry.tables import model_versions
from tests.conftest import shared_project
from tests.unit.registry.conftest import Teams, build_teams


def _no_version(p: Platform, name: str) -> None:
    with p.context.db.connect() as conn:
        rows = conn.execute(sa.select(model_versions).where(model_versions.c.name == name)).all()
    assert rows == []


# -- the attacks of finding 1 -------------------------------------------------------------------


def test_an_editor_cannot_register_the_project_home(
    platform: Platform, project_dir: Path, teams: Teams
) -> None:
    home = str(project_dir / ".shipyard")
    assert (project_dir / ".shipyard" / "catalog.db").is_file()
    for source in (home, f"file://{home}", "/etc", "file:///etc", "."):
        with pytest.raises(PermissionDenied) as err:
            teams.eve.registry.register_model("mine", source)
        assert str(project_dir) not in err.value.message or source.endswith(home)
    _no_version(platform, "mine")


def test_an_editor_cannot_register_another_teams_artifacts(teams: Teams) -> None:
    fin = f"{teams.fin_exp}/{teams.fin_run}/artifacts/model"
    for source in (
        f"mlflow-artifacts:/{fin}",
        f"mlflow-artifacts://localhost:5000/{fin}",
        f"models:/{teams.fin_model}",
        "models:/finmodel/1",
        "models:/finmodel@latest",
        f"runs:/{teams.fin_run}/model",
    ):
        with pytest.raises(PermissionDenied) as err:
            teams.eve.registry.register_model("mine", source)
        assert err.value.message == f"eve may not read the model source '{source}'"
        assert "fin" not in str(err.value.details).replace(source, "")


def test_refused_sources_are_audited_with_the_owning_team(platform: Platform, teams: Teams) -> None:
    with pytest.raises(PermissionDenied):
        teams.eve.registry.register_model("mine", f"models:/{teams.fin_model}")
    with pytest.raises(PermissionDenied):
        teams.eve.registry.register_model("mine", "/etc")
    denied = platform.audit.list_records(outcome="denied").items
    assert {(r.principal, r.action, r.team) for r in denied} >= {
        ("eve", "registry.register_model", "fin"),
        ("eve", "registry.import_local", "*"),
    }


def test_a_lineage_run_id_must_be_readable_too(teams: Teams) -> None:
    with pytest.raises(PermissionDenied):
        teams.eve.registry.register_model(
            "mine", f"runs:/{teams.ml_run}/model", run_id=teams.fin_run
        )


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Teams]:
    """One two-team world for the refused sources (14 cases): a refusal registers nothing."""
    with shared_project(tmp_path_factory, "sources") as p:
        yield build_teams(p)


@pytest.mark.parametrize(
    "source",
    [
        "",
        "mlflow-artifacts:/",
        "mlflow-artifacts:",
        "mlflow-artifacts:/{ml_exp}",
        "mlflow-artifacts:/{ml_exp}/..",
        "mlflow-artifacts:/{ml_exp}/{ml_run}/artifacts/../../{fin_exp}",
        "mlflow-artifacts:/{ml_exp}/{fin_run}/artifacts/model",
        "mlflow-artifacts:/{ml_exp}/models/{fin_model}/artifacts",
        "runs:/{ml_run}/../../{fin_exp}/{fin_run}/artifacts/model",
        "runs:/{ml_run}//etc",
        "models:/",
        "models:/../{fin_model}",
        "s3://bucket/model",
        "http://example.com/model",
    ],
)
def test_sources_that_escape_or_mean_nothing_are_refused(refusing: Teams, source: str) -> None:
    teams = refusing
    uri = source.format(**vars(teams))
    with pytest.raises((InvalidArgument, NotFound, PermissionDenied)) as err:
        teams.eve.registry.register_model("mine", uri)
    if "fin" not in source:
        assert not isinstance(err.value, PermissionDenied)


def test_the_readable_sources_still_register(teams: Teams) -> None:
    reg = teams.eve.registry
    base = f"{teams.ml_exp}/{teams.ml_run}/artifacts/model"
    sources = [
        f"runs:/{teams.ml_run}/model",
        f"mlflow-artifacts:/{base}",
        f"mlflow-artifacts://tracking.example:5000/{base}",
        f"models:/{teams.ml_model}",
        "models:/mine/1",
        "models:/mine@latest",
    ]
    for i, source in enumerate(sources, start=1):
        mv = reg.register_model("mine", source)
        assert mv.version == i and mv.run_id == teams.ml_run, source
        assert mv.storage_location == base, source
        assert "MLmodel" in reg.list_model_files("mine", i).items
        assert mv.flavor == "sklearn"
    assert reg.load_model("models:/mine/3").predict is not None


# -- local folders: admins only, under import roots -----------------------------------------------


def _saved_model(teams: Teams, folder: Path) -> Path:
    data = teams.eve.tracking.download_artifacts(teams.ml_run, "model", folder)
    return Path(data)


def test_local_imports_are_off_by_default_even_for_admins(
    platform: Platform, teams: Teams, tmp_path: Path
) -> None:
    folder = _saved_model(teams, tmp_path / "imports")
    with pytest.raises(PermissionDenied, match="import root"):
        platform.registry.register_model("imported", str(folder))
    _no_version(platform, "imported")


def test_admins_import_local_folders_under_an_import_root_only(
    project_dir: Path, teams: Teams, tmp_path: Path
) -> None:
    root = tmp_path / "imports"
    folder = _saved_model(teams, root)
    secret = tmp_path / "secret.txt"
    secret.write_text("token hashes")
    os.symlink(secret, folder / "leak.txt")
    os.symlink(tmp_path, folder / "up")
    with Platform.open(project_dir, registry={"import_roots": [str(root)]}) as admin:
        mv = admin.registry.register_model("imported", str(folder))
        files = admin.registry.list_model_files("imported", mv.version).items
        assert "MLmodel" in files and not any("leak" in f or "up/" in f for f in files)
        assert mv.storage_location == f"registry/imported/{mv.version}"
        assert admin.registry.load_model("models:/imported/1").flavor == "sklearn"
        outside = (project_dir / ".shipyard", root / ".." / "imports" / ".." / "secret.txt")
        for source in (*(str(p) for p in outside), f"file://{project_dir}"):
            with pytest.raises(PermissionDenied) as err:
                admin.registry.register_model("imported", source)
            assert str(tmp_path) not in err.value.message.replace(source, "")
        with pytest.raises(PermissionDenied):
            teams.eve.registry.register_model("imported", str(folder))


# -- finding 7: storage locations are never empty, listings never loop ----------------------------


@pytest.mark.timeout(5)
def test_registering_the_artifact_root_is_refused_and_cannot_loop(teams: Teams) -> None:
    for source in ("mlflow-artifacts:/", "mlflow-artifacts:/.", "mlflow-artifacts:/./"):
        with pytest.raises(InvalidArgument):
            teams.eve.registry.register_model("mine", source)
    # a whole run is a legal source; its listing finishes
    mv = teams.eve.registry.register_model("mine", f"runs:/{teams.ml_run}/")
    assert mv.storage_location == f"{teams.ml_exp}/{teams.ml_run}/artifacts"
    assert "model/MLmodel" in teams.eve.registry.list_model_files("mine", mv.version).items


@pytest.mark.timeout(5)
def test_a_version_with_an_empty_location_lists_nothing_and_returns(
    platform: Platform, teams: Teams
) -> None:
    mv = teams.eve.registry.register_model("mine", f"runs:/{teams.ml_run}/model")
    with platform.context.db.begin() as conn:
        conn.execute(
            model_versions.update()
            .where(model_versions.c.name == "mine")
            .values(storage_location="")
        )
    for call in (
        lambda: teams.eve.registry.list_model_files("mine", mv.version).items,
        lambda: teams.eve.registry.read_model_file("mine", mv.version, "catalog.db"),
        lambda: teams.eve.registry.download_model("models:/mine/1"),
    ):
        with pytest.raises((NotFound, InvalidArgument)):
            call()


@pytest.mark.timeout(5)
def test_a_symlink_loop_in_a_version_folder_is_not_followed(
    platform: Platform, teams: Teams
) -> None:
    mv = teams.eve.registry.register_model("mine", f"runs:/{teams.ml_run}/model")
    folder = Path(platform.settings.artifact_root) / mv.storage_location
    os.symlink(folder, folder / "loop")
    os.symlink(Path(platform.settings.home_dir) / "catalog.db", folder / "db")
    files = teams.eve.registry.list_model_files("mine", mv.version).items
    assert "MLmodel" in files and not any(f.startswith(("loop", "db")) for f in files)
    for path in ("db", "loop/MLmodel"):
        with pytest.raises((InvalidArgument, NotFound)):
            teams.eve.registry.read_model_file("mine", mv.version, path)


def test_file_paths_cannot_leave_the_version_folder(teams: Teams) -> None:
    mv = teams.eve.registry.register_model("mine", f"runs:/{teams.ml_run}/model")
    assert teams.eve.registry.read_model_file("mine", mv.version, "MLmodel")
    for path in ("../../catalog.db", "/etc/passwd", "../model/MLmodel", "a/../../x", "\x00"):
        with pytest.raises(InvalidArgument):
            teams.eve.registry.read_model_file("mine", mv.version, path)
    with pytest.raises(NotFound):
        teams.eve.registry.read_model_file("mine", mv.version, "%2e%2e/%2e%2e/catalog.db")
