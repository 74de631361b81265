"""Studies live in the catalog's own SQLite file, beside its tables (ADR 0045)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna

from shipyard.platform import Platform
from shipyard.training import storage as study_storage

F = "tests.unit.training.funcs"
X = {"x": {"type": "float", "low": -4, "high": 4}}

SECOND_PROCESS = """
import json, sys
from shipyard.platform import Platform
with Platform.open(sys.argv[1]) as p:
    s = p.training.get_study(sys.argv[2])
    print(json.dumps({"trials": s.trials, "complete": s.complete, "best": s.best.value}))
"""


def _tables(path: Path) -> dict[str, list[str]]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        stamps = {
            t: [r[0] for r in con.execute(f"SELECT version_num FROM {t}")]
            for t in ("alembic_version", "shipyard_alembic_version")
            if t in names
        }
    finally:
        con.close()
    return {"tables": names, **stamps}


def test_a_study_is_in_the_catalog_file_and_another_process_reads_it(platform: Platform) -> None:
    p = platform
    study = p.training.tune(
        f"{F}:quadratic", X, n_trials=3, metric="loss", direction="minimize", pruner="none",
        study_name="shared-file",
    )  # fmt: skip
    assert study.complete == 3
    home = p.settings.home_dir
    assert not (home / "optuna.db").exists()
    found = _tables(home / "catalog.db")
    assert {"studies", "trials", "registry_models"} <= set(found["tables"])
    # each Alembic stamp in its own table: Optuna's revision, the catalog's heads
    (optuna_rev,) = found["alembic_version"]
    assert optuna_rev.startswith("v3.")
    ours = found["shipyard_alembic_version"]
    assert ours and all(re.fullmatch(r"[a-z]+_\d{4}", rev) for rev in ours), ours
    out = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, str(p.settings.project_dir), "shared-file"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"trials": 3, "complete": 3, "best": study.best.value}  # type: ignore[union-attr]


def test_studies_in_an_old_optuna_db_move_into_the_catalog(platform: Platform) -> None:
    """A project from before ADR 0045 kept its studies in ``optuna.db``: the first
    process that opens the storage copies them into the catalog and renames the file."""
    p = platform
    parent = p.tracking.create_run("training", run_name="old-search")
    home = p.settings.home_dir
    old = optuna.create_study(
        study_name="old-search", storage=f"sqlite:///{home / 'optuna.db'}", direction="minimize"
    )
    attrs = {"parent_run_id": parent.id, "metric": "loss", "pruner": "none"}
    for k, v in attrs.items():
        old.set_user_attr(k, v)
    for x in (0.5, 1.5, 3.0):
        old.add_trial(
            optuna.trial.create_trial(
                params={"x": x},
                distributions={"x": optuna.distributions.FloatDistribution(-4, 4)},
                value=(x - 2) ** 2,
            )
        )
    old_ids = [t._trial_id for t in old.get_trials()]
    study_storage.dispose_all()  # a process started after the upgrade
    summary = p.training.get_study("old-search")
    assert (summary.trials, summary.complete) == (3, 3)
    assert summary.best is not None and summary.best.params == {"x": 1.5}
    assert not (home / "optuna.db").exists()
    assert (home / f"optuna.db{study_storage.ADOPTED_SUFFIX}").exists()
    moved = optuna.load_study(study_name="old-search", storage=study_storage.storage(p.settings))
    assert [t._trial_id for t in moved.get_trials()] == old_ids
    # the adopted study goes on: a new trial gets the next id and number
    p.training.tune(
        f"{F}:quadratic", X, n_trials=2, metric="loss", direction="minimize", pruner="none",
        study_name="after-move",
    )  # fmt: skip
    assert p.training.get_study("old-search").trials == 3
    study_storage.dispose_all()
    assert (
        study_storage.adopt_legacy(study_storage.storage_url(p.settings), str(home / "optuna.db"))
        is False
    )  # nothing left to adopt: a no-op
