"""Long HTTP operations answer 202 with a job (materialize, refresh, score-table, export), as
the owning team, a viewer, another team's editor, a role-less token, no token and a
client sending junk would drive them; ``?wait=true`` keeps the synchronous answer. The
SDK's and the remote client's ``submit=True`` return the same queued job."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import shipyard
from shipyard.api.app import create_app
from shipyard.cli.main import run
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.lake import TableDefinition
from shipyard.pipelines.models import Job
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.security.store import load_principal
from shipyard.serving.models import Variant
from tests.contract.serving.suite import N, build_served_model
from tests.servers import live_server

V1 = "/api/v1"
REFRESH = f"{V1}/lake/tables/gold.n/refresh"
MATERIALIZE = f"{V1}/features/materialize"
SCORE = f"{V1}/deployments/-/score-table"
EXPORT = f"{V1}/deployments/-/export"
EXPORT_DEP = f"{V1}/deployments/churn_dep/export"
SCORE_BODY = {"model": "churn/1", "source": "gold.customer_features", "output": "datasets.s"}


class World:
    def __init__(self, platform: Platform, client: TestClient, tokens: dict[str, str]) -> None:
        self.p, self.http, self.tokens = platform, client, tokens

    def post(self, who: str | None, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.http.post(path, json=body, headers=headers)

    def get(self, who: str, path: str) -> Any:
        return self.http.get(path, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def work(self) -> None:
        Worker(self.p, poll_interval=0.005).run(idle_exit=0.3)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    project: Path = tmp_path_factory.mktemp("ops")
    (project / "shipyard.yaml").write_text("")
    p = Platform.open(project)
    build_served_model(p)
    p.serving.create_deployment("churn_dep", variants=[Variant(name="a", model="churn/1")])
    p.lake.define(
        TableDefinition(name="gold.n", sql="SELECT count(*) AS n FROM gold.customer_features")
    )
    team = p.settings.security.default_team
    tokens = {}
    for name, on, role in (
        ("editor", team, "editor"),
        ("viewer", team, "viewer"),
        ("risk_editor", "risk", "editor"),
        ("nobody", team, "viewer"),
    ):
        p.security.create_principal(name, team=on, role=role)
        tokens[name] = p.security.create_token(principal=name).token
    p.security.revoke_role("nobody", team=team)
    with TestClient(create_app(p), raise_server_exceptions=False) as client:
        yield World(p, client, tokens)
    p.close()


def _accepted(r: Any) -> dict[str, Any]:
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"{V1}/jobs/{job['id']}"
    assert job["state"] == "queued" and job["kind"] == "operation"
    return job


def test_refresh_is_a_job_that_a_worker_runs_as_the_caller(world: World) -> None:
    job = _accepted(world.post("editor", REFRESH, {"full": True}))
    assert job["args"]["action"] == "lake.refresh" and job["args"]["principal"] == "editor"
    world.work()
    done = world.get("viewer", f"{V1}/jobs/{job['id']}").json()  # the team's reader polls it
    assert done["state"] == "succeeded" and done["attempts"] == 1
    assert done["result"]["table"] == "gold.n" and done["result"]["rows_written"] == 1
    refreshes = world.p.audit.list_records(action="lake.refresh", limit=10).items
    assert refreshes and refreshes[0].principal == "editor"


def test_materialize_and_score_table_are_jobs(world: World) -> None:
    mat = _accepted(world.post("editor", MATERIALIZE, {"views": ["customer_features"]}))
    score = _accepted(world.post("editor", SCORE, SCORE_BODY))
    everything = _accepted(world.post("editor", f"{V1}/lake/refresh", {}))
    world.work()
    got = {j["id"]: world.get("editor", f"{V1}/jobs/{j['id']}").json() for j in (mat, score)}
    assert got[mat["id"]]["result"][0]["view"] == "customer_features"
    assert got[score["id"]]["result"]["rows"] == N
    assert world.get("editor", f"{V1}/jobs/{everything['id']}").json()["state"] == "succeeded"


def test_wait_true_answers_the_result_in_the_request(world: World) -> None:
    r = world.post("editor", f"{REFRESH}?wait=true", {})
    assert r.status_code == 200 and r.json()["table"] == "gold.n"
    r = world.post("editor", f"{MATERIALIZE}?wait=true", {"views": ["customer_features"]})
    assert r.status_code == 200 and r.json()[0]["view"] == "customer_features"
    r = world.post("editor", f"{SCORE}?wait=true", SCORE_BODY)
    assert r.status_code == 200 and r.json()["rows"] == N
    r = world.post("editor", f"{EXPORT}?wait=true", {"model": "churn/1"})
    assert r.status_code == 200 and r.json()["model_version"] == "churn/1", r.text
    r = world.post("editor", f"{EXPORT_DEP}?wait=true")  # no body: the defaults
    assert r.status_code == 200 and r.json()["model_version"] == "churn/1", r.text


def test_export_is_a_job_whose_result_is_the_recorded_export(world: World) -> None:
    job = _accepted(world.post("editor", EXPORT, {"model": "churn/1", "tolerance": 0.01}))
    assert job["args"]["params"] == {"model": "churn/1", "format": "onnx", "tolerance": 0.01}
    world.work()
    done = world.get("viewer", f"{V1}/jobs/{job['id']}").json()
    assert done["state"] == "succeeded", done
    result = done["result"]
    assert result["asset"].startswith("model_export:churn.v1.onnx") and result["tolerance"] == 0.01
    assert result["max_abs_diff"] <= 0.01 and result["size_bytes"] > 0
    assert Path(result["path"]).read_bytes()[:2]  # written where the server keeps exports


def test_a_job_whose_caller_lost_the_role_fails_once_with_the_error(world: World) -> None:
    world.p.security.create_principal("leaver", team="default", role="editor")
    world.tokens["leaver"] = world.p.security.create_token(principal="leaver").token
    job = _accepted(world.post("leaver", REFRESH, {}))
    world.p.security.revoke_role("leaver", team="default")
    world.work()
    done = world.get("editor", f"{V1}/jobs/{job['id']}").json()
    assert done["state"] == "failed" and done["attempts"] == 1  # not retried: it cannot work
    assert "PermissionDenied" in done["error"]


def test_a_queued_operation_can_be_cancelled(world: World) -> None:
    job = _accepted(world.post("editor", REFRESH, {}))
    r = world.post("editor", f"{V1}/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert world.post("risk_editor", f"{V1}/jobs/{job['id']}/cancel").status_code in (403, 404)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (REFRESH, {}),
        (f"{V1}/lake/refresh", {}),
        (MATERIALIZE, {"views": ["customer_features"]}),
        (MATERIALIZE, {}),
        (SCORE, SCORE_BODY),
        (EXPORT, {"model": "churn/1"}),
        (EXPORT_DEP, {}),
    ],
)
@pytest.mark.parametrize("wait", ["", "?wait=true"])
def test_callers_without_write_queue_nothing(
    world: World, path: str, body: dict[str, Any], wait: str
) -> None:
    before = world.p.jobs.list(limit=1000).items
    for who, allowed in (("risk_editor", (403, 404)), ("nobody", (403,)), ("viewer", (403,))):
        r = world.post(who, path + wait, body)
        assert r.status_code in allowed, (who, path, r.status_code, r.text)
    assert world.post(None, path + wait, body).status_code == 401
    assert world.p.jobs.list(limit=1000).items == before


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (REFRESH, {"full": "very"}, 422),
        (REFRESH, {"fulll": True}, 422),
        (f"{REFRESH}?wait=maybe", {}, 422),
        (f"{V1}/lake/tables/gold.nope/refresh", {}, 404),
        (f"{V1}/lake/tables/gold.customer_features/refresh", {}, 404),  # no definition
        (MATERIALIZE, {"views": ["nope"]}, 404),
        (MATERIALIZE, {"views": "customer_features"}, 422),
        (MATERIALIZE, {"views": ["customer_features"], "start": "yesterday"}, 422),
        (SCORE, {**SCORE_BODY, "model": "churn/99"}, 404),
        (SCORE, {**SCORE_BODY, "source": "gold.nope"}, 404),
        (SCORE, {"model": "churn/1"}, 422),
        (SCORE, {**SCORE_BODY, "chunk_rows": "x" * 100_000}, 422),
        (EXPORT, {"model": "churn/99"}, 404),
        (EXPORT, {"model": "nope/1"}, 404),
        (EXPORT, {}, 422),
        (EXPORT, {"model": "churn/1", "tolerance": -1}, 422),
        (EXPORT, {"model": "churn/1", "tolerance": "NaN"}, 422),
        (EXPORT, {"model": "churn/1", "holdout": [[1, 2]]}, 422),  # no DataFrames over HTTP
        (EXPORT, {"model": "churn/1", "output": "/etc/x.onnx"}, 422),  # nor server paths
        (EXPORT, {"model": "churn/1", "format": "pickle"}, 422),
        (f"{V1}/deployments/nope/export", {}, 404),
        (f"{V1}/deployments/%2e%2e/export", {}, 404),
        (f"{V1}/deployments/{'x' * 5000}/export", {}, 404),
        (EXPORT_DEP, {"tolerance": -1}, 422),
        (EXPORT_DEP, {"tolerance": [1]}, 422),
        (EXPORT_DEP, {"model": "churn/2"}, 422),  # the deployment says which model
        (EXPORT_DEP, {"output": "/etc/x.onnx"}, 422),
        (EXPORT_DEP, {"format": "pickle"}, 422),
        (EXPORT_DEP, [1, 2], 422),
    ],
)
def test_junk_is_refused_before_anything_is_queued(
    world: World, path: str, body: Any, status: int
) -> None:
    before = len(world.p.jobs.list(limit=1000).items)
    r = world.post("editor", path, body)
    assert r.status_code == status, r.text
    assert "error_code" in r.json()
    assert len(world.p.jobs.list(limit=1000).items) == before


@pytest.mark.slow
def test_shipyard_serve_runs_the_job_itself(tmp_path: Path) -> None:
    """The one-machine default: `shipyard serve` alone answers 202 and runs the job."""
    import httpx

    from tests.servers import served_project

    (tmp_path / "shipyard.yaml").write_text("")
    with Platform.open(tmp_path) as p:
        p.lake.write("bronze.e", pa.table({"x": [1, 2, 3]}))
        p.lake.define(TableDefinition(name="gold.c", sql="SELECT count(*) AS n FROM bronze.e"))
        token = p.security.create_token(name="admin").token
    with served_project(tmp_path) as url, httpx.Client(base_url=url, timeout=10) as http:
        auth = {"Authorization": f"Bearer {token}"}
        r = http.post(f"{V1}/lake/tables/gold.c/refresh", json={}, headers=auth)
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 20
        while (job := http.get(r.headers["location"], headers=auth).json())["state"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job["state"] == "succeeded" and job["result"]["rows_written"] == 1, job


def _as(world: World, name: str) -> Platform:
    with world.p.context.db.connect() as conn:
        principal = load_principal(conn, name)
    assert principal is not None
    return world.p.as_principal(principal)


def _submit_all(skin: Any, output: str) -> list[Any]:
    """The four long operations with ``submit=True`` (``skin``: a platform or a client)."""
    return [
        skin.lake.refresh("gold.n", submit=True),
        skin.features.materialize(["customer_features"], submit=True),
        skin.serving.score_table("churn/1", "gold.customer_features", output, submit=True),
        skin.serving.export_model("churn/1", submit=True),
        skin.lake.refresh_all(submit=True),
        skin.serving.export_deployment("churn_dep", tolerance=0.01, submit=True),
    ]


def _check_queued(skin: Any, queued: list[Job]) -> None:
    assert all(isinstance(j, Job) and j.state == "queued" for j in queued)
    assert [j.args["action"] for j in queued] == [
        "lake.refresh",
        "features.materialize",
        "serving.score_table",
        "serving.export_model",
        "lake.refresh_all",
        "serving.export_deployment",
    ]
    assert all(j.created_by == "editor" for j in queued)
    assert skin.jobs.wait(queued[0].id, timeout=0).state == "queued"  # not run yet


def test_submit_true_queues_the_call_a_worker_then_completes(world: World) -> None:
    ed = _as(world, "editor")
    queued = _submit_all(ed, "datasets.sub_in")
    _check_queued(ed, queued)
    world.work()
    done = [ed.jobs.wait(j.id, timeout=5) for j in queued]
    assert [j.state for j in done] == ["succeeded"] * 6, [j.error for j in done]
    refresh, mat, score, export, everything, dep_export = (j.result for j in done)
    assert everything == [r.table for r in ed.lake.refresh_all()]
    # the same results as the synchronous calls
    assert refresh["table"] == ed.lake.refresh("gold.n").table
    assert mat[0]["view"] == ed.features.materialize(["customer_features"])[0].view
    assert (
        score["rows"]
        == ed.serving.score_table("churn/1", "gold.customer_features", "datasets.sub_sync").rows
        == N
    )
    sync = ed.serving.export_model("churn/1")
    assert export["model_version"] == sync.model_version and export["size_bytes"] == sync.size_bytes
    assert dep_export["model_version"] == "churn/1" and dep_export["tolerance"] == 0.01
    assert queued[5].args["params"] == {
        "deployment": "churn_dep",
        "format": "onnx",
        "tolerance": 0.01,
    }


def test_submit_true_over_http_returns_the_job(world: World) -> None:
    with live_server(world.p) as url, shipyard.connect(url, world.tokens["editor"]) as remote:
        queued = _submit_all(remote, "datasets.sub_remote")
        _check_queued(remote, queued)
        assert remote.serving.export_model("churn/1").model_version == "churn/1"  # still sync
        world.work()
        done = [remote.jobs.wait(j.id, timeout=5) for j in queued]
        assert [j.state for j in done] == ["succeeded"] * 6, [j.error for j in done]
        assert done[2].result["rows"] == N and done[3].result["model_version"] == "churn/1"
        assert done[5].result["model_version"] == "churn/1"
        with shipyard.connect(url, world.tokens["viewer"]) as viewer:
            before = len(world.p.jobs.list(limit=1000).items)
            for call in _CALLS:
                with pytest.raises(PermissionDenied):
                    call(viewer)
            assert len(world.p.jobs.list(limit=1000).items) == before


_CALLS = [
    lambda s: s.lake.refresh("gold.n", submit=True),
    lambda s: s.features.materialize(["customer_features"], submit=True),
    lambda s: s.serving.score_table("churn/1", "gold.customer_features", "datasets.x", submit=True),
    lambda s: s.serving.export_model("churn/1", submit=True),
    lambda s: s.lake.refresh_all(submit=True),
    lambda s: s.serving.export_deployment("churn_dep", submit=True),
]


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("viewer", PermissionDenied),
        ("risk_editor", (PermissionDenied, NotFound)),
        ("nobody", PermissionDenied),
    ],
)
def test_submit_true_is_refused_at_once_not_in_the_job(world: World, who: str, error: Any) -> None:
    p = _as(world, who)
    before = len(world.p.jobs.list(limit=1000).items)
    for call in _CALLS:
        with pytest.raises(error):
            call(p)
    assert len(world.p.jobs.list(limit=1000).items) == before
    with pytest.raises(InvalidArgument):  # a DataFrame or a path cannot travel to a job
        world.p.serving.export_model("churn/1", submit=True, output="/tmp/x.onnx")
    with pytest.raises(InvalidArgument):
        world.p.serving.export_deployment("churn_dep", submit=True, output="/tmp/x.onnx")
    with pytest.raises(NotFound):  # read before anything is queued
        world.p.serving.export_deployment("nope", submit=True)


# -- the CLI: `--submit` prints the job id, `shipyard jobs wait` says how it ended ---------------


def _cli(world: World, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["-C", str(world.p.settings.project_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _work_one(world: World) -> None:
    world.p.worker(poll_interval=0.005).run(max_jobs=1, idle_exit=0.3)


@pytest.mark.parametrize(
    ("args", "action"),
    [
        (["lake", "refresh", "gold.n", "--full"], "lake.refresh"),
        (["lake", "refresh", "--all"], "lake.refresh_all"),
        (["materialize", "customer_features"], "features.materialize"),
        (["models", "export", "churn@live", "--tolerance", "0.01"], "serving.export_model"),
        (["deployments", "export", "churn_dep"], "serving.export_deployment"),
    ],
)
def test_cli_submit_prints_the_job_id_and_a_worker_runs_it(
    world: World, capsys: pytest.CaptureFixture[str], args: list[str], action: str
) -> None:
    code, out, err = _cli(world, capsys, *args, "--submit")
    assert code == 0, err
    job_id = out.strip()  # the id alone: JOB=$(shipyard ... --submit)
    job = world.p.jobs.get(job_id)
    assert job.state == "queued" and job.args["action"] == action
    assert f"shipyard jobs wait {job_id}" in err  # how to follow it, on stderr
    _work_one(world)
    code, out, err = _cli(world, capsys, "jobs", "wait", job_id, "--timeout", "5")
    assert code == 0, err
    assert out.startswith(f"job {job_id}: succeeded\nresult: ")


def test_cli_submit_json_prints_the_job_and_a_cancelled_one_waits_to_exit_1(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    score = ["deployments", "score-table", "churn/1", "gold.customer_features", "datasets.cli"]
    code, out, err = _cli(world, capsys, *score, "--chunk-rows", "50", "--submit", "--json")
    assert code == 0, err
    job = json.loads(out)  # (a score-table job's run is tested above, through the SDK)
    assert job["state"] == "queued" and job["args"]["action"] == "serving.score_table"
    assert job["args"]["params"] == {
        "model": "churn/1",
        "source": "gold.customer_features",
        "output": "datasets.cli",
        "chunk_rows": 50,
    }
    code, out, err = _cli(world, capsys, "jobs", "wait", job["id"], "--timeout", "0")
    assert code == 124 and err == f"job {job['id']} still queued after 0s\n"
    assert _cli(world, capsys, "jobs", "cancel", job["id"])[0] == 0
    code, out, err = _cli(world, capsys, "jobs", "wait", job["id"], "--json")
    assert code == 1 and json.loads(out)["state"] == "cancelled"
    assert err == f"job {job['id']} cancelled\n"


def test_cli_jobs_wait_exits_1_with_the_reason_of_a_dead_job(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = world.p.jobs.submit(
        "shipyard.pipelines.builtin:sleep", {"seconds": "x"}, max_attempts=1, executor="inprocess"
    )
    _work_one(world)
    code, out, err = _cli(world, capsys, "jobs", "wait", dead.id)
    assert code == 1 and out == f"job {dead.id}: dead\n"
    assert err.startswith(f"job {dead.id} dead: ") and err.count("\n") == 1, err


def test_cli_refused_submit_queues_nothing_and_says_why_in_one_line(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(world.p.jobs.list(limit=1000).items)
    for args in (
        ["deployments", "export", "nope", "--submit"],
        ["models", "export", "churn/1", "--submit", "-o", "/tmp/x.onnx"],
        ["deployments", "score-table", "churn/1", "gold.nope", "datasets.s", "--submit"],
        ["lake", "refresh", "gold.nope", "--submit"],
        ["materialize", "nope", "--submit"],
    ):
        code, out, err = _cli(world, capsys, *args)
        assert code == 1 and out == "" and err.count("\n") == 1, (args, err)
        assert err.startswith("error: ") and "Traceback" not in err
    assert len(world.p.jobs.list(limit=1000).items) == before


@pytest.mark.parametrize("job_id", ["nope", "../../etc/passwd", "x" * 5000, "' OR 1=1 --"])
def test_cli_jobs_wait_on_a_bad_id_is_one_line_not_a_traceback(
    world: World, capsys: pytest.CaptureFixture[str], job_id: str
) -> None:
    code, out, err = _cli(world, capsys, "jobs", "wait", job_id, "--timeout", "1")
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith("error: no job ") and "Traceback" not in err
