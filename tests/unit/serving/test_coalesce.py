"""Concurrent requests from an event loop share worker calls (``serving/coalesce.py``).

The servers score on their event loop with ``apredict``: requests that arrive while
a model's worker is busy are stacked into one call and split back. These tests use a
real registered scikit-learn model in a real worker process.
"""

from __future__ import annotations

import asyncio
import math
import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import BackendUnavailable, ShipyardError
from shipyard.platform import Platform
from shipyard.serving.coalesce import split_reply
from shipyard.serving.context import workers_for
from shipyard.serving.models import PredictResponse
from shipyard.serving.worker import encode_array, encode_reply, error_reply

from .test_worker import COLS, CRASH, Hostile, _deploy, _fit


def _good(p: Platform) -> Any:
    """Deployment ``evil`` (the name ``_deploy`` uses) of a plain fitted model; the model."""
    model = _fit()
    with p.tracking.start_run(experiment="e") as run:
        run.log_model(model, "model", input_example=pd.DataFrame([[0.1, 0.2]], columns=COLS))
    mv = p.registry.register_model("good", source=f"runs:/{run.id}/model")
    _deploy(p, f"good/{mv.version}")
    return model


def _crashing(p: Platform, tmp_path: Path) -> None:
    """Deployment ``evil`` of a model that dies on 666 and hangs on 777 (its first row);
    logged with an input example, so it takes the scikit-learn fast path (the stacked one)."""
    with p.tracking.start_run(experiment="e") as run:
        run.log_model(_fit(), "model", input_example=pd.DataFrame([[0.1, 0.2]], columns=COLS))
    p.tracking.put_artifact(
        run.id, "model/model.pkl", pickle.dumps(Hostile(tmp_path / "m.json", _fit(), CRASH))
    )
    mv = p.registry.register_model("crashy", source=f"runs:/{run.id}/model")
    _deploy(p, f"crashy/{mv.version}")
    assert p.serving.runtime.get("evil").live[0].fast is not None


def _coalescer(p: Platform) -> Any:
    worker = p.serving.runtime.get("evil").live[0].model.worker
    return worker.coalescer


async def _gather(p: Platform, requests: list[list[dict[str, float]]]) -> list[Any]:
    calls = [p.serving.apredict("evil", rows) for rows in requests]
    return await asyncio.gather(*calls, return_exceptions=True)


def test_concurrent_requests_share_calls_and_each_gets_its_own_rows(platform: Platform) -> None:
    model = _good(platform)
    rng = np.random.default_rng(3)
    # requests of 1 to 4 rows, so a wrong split would shift rows between requests
    requests = [
        [{"a": float(x), "b": float(y)} for x, y in rng.normal(size=(1 + i % 4, 2))]
        for i in range(40)
    ]
    answers = asyncio.run(_gather(platform, requests))
    for rows, got in zip(requests, answers, strict=True):
        assert isinstance(got, PredictResponse), got
        want = model.predict(pd.DataFrame(rows, columns=COLS))
        assert got.predictions == want.tolist()
    co = _coalescer(platform)
    assert co.requests == 40
    assert co.calls <= 3  # the first alone, then the 39 that queued behind it in one call
    # and the blocking path answers the same
    assert platform.serving.predict("evil", requests[5]).predictions == answers[5].predictions


def test_a_bad_row_fails_its_own_request_only(platform: Platform) -> None:
    model = _good(platform)
    ok = [[{"a": float(i), "b": -float(i)}] for i in range(6)]
    bad = [{"a": math.nan, "b": 0.0}]  # scikit-learn refuses NaN for the whole matrix
    answers = asyncio.run(_gather(platform, [*ok[:3], bad, *ok[3:]]))
    assert isinstance(answers[3], ShipyardError)
    assert "ValueError" in answers[3].message and "request id" in answers[3].message
    assert not isinstance(answers[3], BackendUnavailable)  # a model error (500), not a 503
    for rows, got in zip([*ok[:3], *ok[3:]], [*answers[:3], *answers[4:]], strict=True):
        assert isinstance(got, PredictResponse), got
        assert got.predictions == model.predict(pd.DataFrame(rows, columns=COLS)).tolist()
    assert _coalescer(platform).calls < 7  # the bad row was in a shared call


def test_a_worker_death_mid_batch_fails_that_batch_and_the_next_call_restarts(
    platform: Platform, tmp_path: Path
) -> None:
    _crashing(platform, tmp_path)
    before = workers_for(platform.serving).pids()
    first = [{"a": 1.0, "b": 0.0}]
    fatal = [{"a": 666.0, "b": 0.0}]  # kills the worker when it is a call's first row
    later = [[{"a": float(i), "b": 1.0}] for i in range(3)]
    answers = asyncio.run(_gather(platform, [first, fatal, *later]))
    assert isinstance(answers[0], PredictResponse)  # its call had returned before
    for got in answers[1:]:  # the requests that shared the dead worker's call
        assert isinstance(got, BackendUnavailable) and "died" in got.message, got
    again = asyncio.run(_gather(platform, later))
    assert all(isinstance(a, PredictResponse) for a in again), again
    assert workers_for(platform.serving).pids() != before


def test_a_hung_batch_answers_503_after_the_call_timeout(project_dir: Path, tmp_path: Path) -> None:
    (project_dir / "shipyard.yaml").write_text("serving:\n  worker_call_timeout: 1\n")
    with Platform.open(project_dir) as p:
        _crashing(p, tmp_path)
        hang = [{"a": 777.0, "b": 0.0}]  # sleeps 60 s when it is a call's first row
        answers = asyncio.run(_gather(p, [[{"a": 1.0, "b": 0.0}], hang, [{"a": 2.0, "b": 0.0}]]))
        assert isinstance(answers[0], PredictResponse)
        for got in answers[1:]:
            assert isinstance(got, BackendUnavailable), got
            assert "did not answer within 1 s" in got.message
        assert asyncio.run(_gather(p, [[{"a": 1.0, "b": 0.0}]]))[0].predictions


def test_a_blocking_call_on_the_loop_takes_over_the_answer_in_flight(
    platform: Platform,
) -> None:
    """A thread (here the loop's own) that needs the worker while an event-loop call
    waits for its answer reads that answer itself and hands it over (no deadlock)."""
    model = _good(platform)
    rows = [{"a": 0.5, "b": -0.5}]
    other = [{"a": -2.0, "b": 1.0}]

    async def main() -> tuple[Any, Any]:
        task = asyncio.ensure_future(platform.serving.apredict("evil", rows))
        await asyncio.sleep(0)  # the task sends its call and waits
        assert _coalescer(platform).inflight is not None
        blocking = platform.serving.predict("evil", other)  # on the loop's thread
        return await task, blocking

    got, blocking = asyncio.run(main())
    assert got.predictions == model.predict(pd.DataFrame(rows, columns=COLS)).tolist()
    assert blocking.predictions == model.predict(pd.DataFrame(other, columns=COLS)).tolist()


def test_threads_and_an_event_loop_share_a_worker(platform: Platform) -> None:
    """Shadow scoring and batch jobs call the worker from threads while the loop serves."""
    model = _good(platform)
    rng = np.random.default_rng(5)
    requests = [[{"a": float(x), "b": float(y)}] for x, y in rng.normal(size=(60, 2))]
    want = [model.predict(pd.DataFrame(r, columns=COLS)).tolist() for r in requests]
    errors: list[BaseException] = []

    def blocking_calls() -> None:
        try:
            for r, w in zip(requests, want, strict=True):
                assert platform.serving.predict("evil", r).predictions == w
        except BaseException as exc:
            errors.append(exc)

    async def rounds() -> None:
        for _ in range(10):
            answers = await _gather(platform, requests[:12])
            assert [a.predictions for a in answers] == want[:12]

    threads = [threading.Thread(target=blocking_calls) for _ in range(2)]
    for t in threads:
        t.start()
    asyncio.run(rounds())
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def test_split_reply_gives_each_request_its_rows_or_its_error() -> None:
    arr = np.arange(10.0).reshape(5, 2)
    first, second = split_reply(encode_array(arr), [2, 3])
    assert first.tolist() == arr[:2].tolist() and second.tolist() == arr[2:].tolist()
    parts = [encode_array(np.array([1.0])), error_reply(ValueError("Input X contains NaN"))]
    body = encode_reply({"ok": True, "parts": [len(b) for b in parts]}, b"".join(parts))
    good, bad = split_reply(body, [1, 1])
    assert good.tolist() == [1.0]
    assert isinstance(bad, Exception) and "contains NaN" in str(bad)
    with pytest.raises(ValueError, match="rows"):  # a worker answering too few rows is broken
        split_reply(encode_array(arr), [2, 4])
    with pytest.raises(ValueError, match="parts"):
        split_reply(body, [1, 1, 1])


def test_matrix_calls_travel_as_raw_bytes_and_keep_their_values() -> None:
    from shipyard.serving.worker import decode_call, encode_call

    matrix = np.asfortranarray(np.random.default_rng(0).normal(size=(5, 3)))  # as _matrix builds
    blob = encode_call("fast", matrix)
    assert blob[:1] == b"M" and b"numpy" not in blob  # no pickle of the array
    op, got = decode_call(blob)
    assert op == "fast" and got.tolist() == matrix.tolist()
    op, got, counts = decode_call(encode_call("fast_batch", matrix, [2, 3]))
    assert op == "fast_batch" and counts == [2, 3] and got.tolist() == matrix.tolist()
    frame = pd.DataFrame({"a": ["x"], "b": [1]})  # anything else is pickled (parent -> worker)
    op, got = decode_call(encode_call("predict", frame))
    assert op == "predict" and got.equals(frame)
