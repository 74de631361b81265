"""Model code runs in inference worker processes, never in the serving process (issue #10, 4).

The model files are an editor's upload: loading them unpickles arbitrary code. These
tests register a hostile ``model.pkl`` and check where its code ran and what it saw.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import BackendUnavailable, ShipyardError
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.context import workers_for

COLS = ["a", "b"]

#: Runs on unpickling: records the process it runs in and what that process can see.
SPY = """
import json, os
fds = []
for fd in os.listdir('/proc/self/fd'):
    try:
        fds.append(os.readlink('/proc/self/fd/' + fd))
    except OSError:
        pass
json.dump({
    'pid': os.getpid(),
    'cwd': os.getcwd(),
    'shipyard_env': sorted(k for k in os.environ if k.startswith('SHIPYARD')),
    'fds': fds,
}, open(MARKER, 'w'))
"""

#: Makes the model kill its own process when a row's first value is 666.
CRASH = """
import numpy as np
from sklearn.linear_model import LogisticRegression as L
def _patch(orig):
    def method(self, X, *a, **k):
        import os, numpy as np
        if float(np.asarray(X)[0, 0]) == 666:
            os.kill(os.getpid(), 9)
        if float(np.asarray(X)[0, 0]) == 777:
            import time
            time.sleep(60)
        if float(np.asarray(X)[0, 0]) == 888:
            return bytearray(1 << 30)
        return orig(self, X, *a, **k)
    return method
L.predict = _patch(L.predict)
L.predict_proba = _patch(L.predict_proba)
"""


class Hostile:
    """Unpickles to a working model after running ``SPY`` (as an attacker's file would)."""

    def __init__(self, marker: Path, model: Any, extra: str = "") -> None:
        self.code = f"MARKER = {str(marker)!r}\n{SPY}\n{extra}"
        self.model = pickle.dumps(model)

    def __reduce__(self) -> tuple[Any, ...]:
        expr = f"(exec({self.code!r}), __import__('pickle').loads({self.model!r}))[1]"
        return (eval, (expr,))


def _fit() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=COLS)
    return LogisticRegression().fit(X, (X.a > X.b).astype(int))


def _hostile_version(p: Platform, marker: Path, crash: bool = False) -> str:
    """Log a real model, then overwrite its pickle as the editor uploads it."""
    with p.tracking.start_run(experiment="attack") as run:
        run.log_model(_fit(), "model")
    payload = Hostile(marker, _fit(), CRASH if crash else "")
    p.tracking.put_artifact(run.id, "model/model.pkl", pickle.dumps(payload))
    mv = p.registry.register_model("evil", source=f"runs:/{run.id}/model")
    return f"evil/{mv.version}"


@pytest.fixture
def editor(platform: Platform) -> Platform:
    return platform.as_principal(platform.security.create_principal("eve", role="editor"))


def _deploy(p: Platform, model: str) -> None:
    p.serving.create_deployment(
        "evil",
        variants=[Variant(name="a", model=model)],
        request_fields={c: "float64" for c in COLS},
        log_predictions=False,
    )


def test_hostile_pickle_runs_only_in_a_scrubbed_worker(
    platform: Platform, editor: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker.json"
    model = _hostile_version(editor, marker)
    # what the server process holds: the catalog URL in its environment, an open catalog
    monkeypatch.setenv("SHIPYARD_CATALOG_URL", platform.settings.catalog_url)
    _deploy(editor, model)
    out = editor.serving.predict("evil", [{"a": 1.0, "b": 0.0}, {"a": -1.0, "b": 0.5}])
    assert len(out.predictions) == 2
    seen = json.loads(marker.read_text())
    assert seen["pid"] != os.getpid()  # never unpickled in the serving process
    assert seen["pid"] in workers_for(platform.serving).pids()
    assert seen["shipyard_env"] == []
    assert not any("catalog" in fd for fd in seen["fds"]), seen["fds"]
    assert Path(seen["cwd"]) != Path.cwd()


def test_fast_path_and_frame_path_match_in_process_scores(platform: Platform) -> None:
    model = _fit()
    with platform.tracking.start_run(experiment="e") as run:
        run.log_model(model, "model", input_example=pd.DataFrame([[0.1, 0.2]], columns=COLS))
    platform.registry.register_model("good", source=f"runs:/{run.id}/model")
    platform.serving.create_deployment(
        "good",
        variants=[Variant(name="a", model="good/1")],
        request_fields={c: "float64" for c in COLS},
    )
    rows = [{"a": 0.3, "b": -0.2}, {"a": -1.0, "b": 2.0}]
    got = platform.serving.predict("good", rows).predictions
    want = model.predict(pd.DataFrame(rows, columns=COLS))
    assert np.allclose(got, want)
    assert platform.serving.runtime.get("good").live[0].fast is not None  # built in the worker
    frame = pd.DataFrame(rows, columns=COLS)
    assert np.allclose(platform.serving.runtime.get("good").live[0].model.predict(frame), want)


def test_a_crashing_model_answers_503_and_its_worker_restarts(
    platform: Platform, tmp_path: Path
) -> None:
    model = _hostile_version(platform, tmp_path / "m.json", crash=True)
    _deploy(platform, model)
    first = workers_for(platform.serving).pids()
    assert platform.serving.predict("evil", [{"a": 1.0, "b": 0.0}]).predictions
    with pytest.raises(BackendUnavailable, match="died"):
        platform.serving.predict("evil", [{"a": 666.0, "b": 0.0}])
    # the server is fine; the next call starts a new worker
    assert platform.serving.predict("evil", [{"a": 1.0, "b": 0.0}]).predictions
    assert workers_for(platform.serving).pids() != first
    assert platform.serving.get_deployment("evil").name == "evil"


def test_a_hung_model_times_out_and_a_greedy_one_hits_its_memory_cap(
    project_dir: Path, tmp_path: Path
) -> None:
    (project_dir / "shipyard.yaml").write_text(
        "serving:\n  worker_call_timeout: 1\n  worker_memory_mb: 900\n"
    )
    with Platform.open(project_dir) as p:
        _deploy(p, _hostile_version(p, tmp_path / "m.json", crash=True))
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="did not answer within 1 s"):
            p.serving.predict("evil", [{"a": 777.0, "b": 0.0}])
        assert time.monotonic() - started < 10
        with pytest.raises(ShipyardError, match="MemoryError"):
            p.serving.predict("evil", [{"a": 888.0, "b": 0.0}])
        assert p.serving.predict("evil", [{"a": 1.0, "b": 0.0}]).predictions


def test_workers_end_with_the_platform(project_dir: Path, tmp_path: Path) -> None:
    p = Platform.open(project_dir)
    _deploy(p, _hostile_version(p, tmp_path / "m.json"))
    pids = workers_for(p.serving).pids()
    assert pids
    p.close()
    for pid in pids:
        _assert_gone(pid)


def test_worker_errors_are_typed_not_unpickled() -> None:
    from shipyard.serving.worker import decode_array, decode_reply, encode_reply

    header, payload = decode_reply(encode_reply({"ok": True, "dtype": "|O8", "shape": [1]}, b"x"))
    with pytest.raises(ValueError, match="dtype"):
        decode_array(header, payload)


def _assert_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # exited, not yet reaped by its parent
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} is still running")


def test_a_worker_that_cannot_start_is_503_not_500(tmp_path: Path) -> None:
    from shipyard.serving.worker import WorkerOptions, WorkerPool

    pool = WorkerPool(WorkerOptions(user="no-such-user-shipyard"))
    with pytest.raises(BackendUnavailable, match="cannot start the worker"):
        pool.model(tmp_path, "models:/m/1")
    assert pool.pids() == []
