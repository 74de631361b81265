"""`shipyard deploy` and `shipyard deployments ...` as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.contract.serving.suite import build_served_model


def _cli(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["-C", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_deploy_predict_roll_back_report_from_the_cli(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Platform.open(project_dir) as p:
        build_served_model(p, n=120)

    def ok(*args: str) -> str:
        code, out, err = _cli(project_dir, capsys, *args)
        assert code == 0, (args, err)
        return out

    assert "deployment:churn@1" in ok(
        "deploy", "churn", "-m", "churn@live", "-f", "churn", "-k", "customer_id"
    )
    assert "deployment:churn@2" in ok(
        "deploy",
        "churn",
        "--variant",
        "a=churn/1:70",
        "--variant",
        "b=churn/2:30",
        "--shadow",
        "s=churn/2",
    )
    listed = json.loads(ok("deployments", "list", "--json"))
    assert [d["name"] for d in listed] == ["churn"] and listed[0]["version"] == 2
    resp = json.loads(ok("deployments", "predict", "churn", '{"customer_id": 7}'))
    assert resp["variant"] in ("a", "b") and len(resp["predictions"]) == 1
    ok(
        "deployments",
        "ground-truth",
        "churn",
        json.dumps([{"request_id": resp["request_id"], "outcome": 1}]),
    )
    report = json.loads(ok("deployments", "report", "churn", "--json"))
    assert report["control"] == "a"
    live = [v for v in report["variants"] if not v["shadow"]]
    assert sum(v["requests"] for v in live) == 1 and sum(v["labeled"] for v in live) == 1
    assert "control: a" in ok("deployments", "report", "churn")
    assert "churn/2" in ok("deployments", "show", "churn")
    assert "rolled back: now deployment:churn@3" in ok("deployments", "rollback", "churn")
    assert "c 5%" in ok("deployments", "canary", "start", "churn", "c=churn/2")
    assert "c 25%" in ok("deployments", "canary", "advance", "churn")
    assert "main 100%" in ok("deployments", "canary", "rollback", "churn")
    versions = json.loads(ok("deployments", "versions", "churn", "--json"))
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5, 6]
    out = ok(
        "deployments",
        "score-table",
        "churn/1",
        "gold.customer_features",
        "datasets.scores",
        "--chunk-rows",
        "50",
    )
    assert "scored 120 rows" in out and "3 chunks written" in out
    code, _, err = _cli(project_dir, capsys, "deployments", "predict", "churn", '{"x": 1}')
    assert code == 1 and "missing entity key 'customer_id'" in err
    code, _, err = _cli(project_dir, capsys, "deploy", "bad", "--variant", "a=churn/1:60")
    assert code == 1 and "sum to 100" in err
    ok("deployments", "delete", "churn", "--yes")
    assert json.loads(ok("deployments", "list", "--json")) == []


def test_inference_server_process_serves_preloaded_deployments(project_dir: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from shipyard.serving import Variant

    with Platform.open(project_dir) as p:
        build_served_model(p, n=50)
        p.serving.create_deployment(
            "churn",
            variants=[Variant(name="a", model="churn@live")],
            feature_service="churn",
            entity_keys=["customer_id"],
        )
        p.security.create_principal("pat", role="predictor")
        token = p.security.create_token(principal="pat").token
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard",
            "-C",
            str(project_dir),
            "deployments",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        r = httpx.post(
            f"{url}/api/v1/deployments/churn/predict",
            json={"inputs": [{"customer_id": 3}]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200 and r.json()["model_version"] == "churn/1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
