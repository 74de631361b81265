"""The tracking contract: one suite, run unchanged on every metadata database.

Subclasses provide ``catalog_url``; everything else is shared.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.contract.remote import Skin, Skins


class TrackingContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        yield skin(p)
        p.close()

    def test_experiment_create_get_duplicate(self, plat: Platform) -> None:
        exp = plat.tracking.create_experiment("churn", tags={"team": "risk"})
        assert plat.tracking.get_experiment(exp.id).name == "churn"
        assert plat.tracking.get_experiment_by_name("churn").tags == {"team": "risk"}
        with pytest.raises(AlreadyExists):
            plat.tracking.create_experiment("churn")
        with pytest.raises(NotFound):
            plat.tracking.get_experiment("nope")

    def test_run_lifecycle_params_metrics_tags(self, plat: Platform) -> None:
        with plat.tracking.start_run(experiment="churn", run_name="rf") as run:
            run.log_params({"n_estimators": 200, "max_depth": None})
            run.log_params({"n_estimators": 200})  # same value again is fine
            for step in range(5):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_metrics({"auc": 0.83})
            run.set_tag("team", "risk")
        got = plat.tracking.get_run(run.id)
        assert got.status == "FINISHED" and got.end_time is not None
        assert got.params == {"n_estimators": "200", "max_depth": "None"}
        assert got.metrics["auc"] == pytest.approx(0.83)
        assert got.metrics["loss"] == pytest.approx(0.2)
        assert got.tags["team"] == "risk" and got.tags["mlflow.runName"] == "rf"
        history = plat.tracking.get_metric_history(run.id, "loss")
        assert [m.step for m in history] == [0, 1, 2, 3, 4]
        assert all(m.timestamp > 0 for m in history)

    def test_param_is_write_once(self, plat: Platform) -> None:
        run = plat.tracking.create_run("e")
        plat.tracking.log_param(run.id, "lr", 0.1)
        with pytest.raises(Conflict, match="write-once"):
            plat.tracking.log_param(run.id, "lr", 0.2)
        # nothing half-written: a batch with a conflicting param writes no metric
        with pytest.raises(Conflict):
            plat.tracking.log_batch(
                run.id, metrics=[{"key": "m", "value": 1.0}], params={"lr": "0.3"}
            )
        assert plat.tracking.get_run(run.id).metrics == {}
        # a mix of a param already logged (same value) and new ones is fine
        plat.tracking.log_params(run.id, {"lr": 0.1, "depth": 3, "seed": 7})
        assert plat.tracking.get_run(run.id).params == {"lr": "0.1", "depth": "3", "seed": "7"}
        with pytest.raises(Conflict):  # a new param beside a conflicting one is not kept
            plat.tracking.log_params(run.id, {"width": 8, "depth": 4})
        assert "width" not in plat.tracking.get_run(run.id).params

    def test_latest_value_moves_by_step_then_time_across_batches(self, plat: Platform) -> None:
        run = plat.tracking.create_run("e")
        batch = [
            {"key": "a", "value": 3.0, "step": 3, "timestamp": 10},
            {"key": "a", "value": 1.0, "step": 1, "timestamp": 20},
            {"key": "b", "value": 5.0, "step": 0, "timestamp": 5},
        ]
        assert plat.tracking.log_batch(run.id, metrics=batch) == 3
        # an older step does not move "a" back; a later time at the same step moves "b"
        plat.tracking.log_batch(
            run.id,
            metrics=[
                {"key": "a", "value": 9.0, "step": 2, "timestamp": 99},
                {"key": "b", "value": 6.0, "step": 0, "timestamp": 6},
                {"key": "c", "value": 7, "step": 1.0},  # an int value, a whole float step
            ],
        )
        got = plat.tracking.get_run(run.id)
        assert got.metrics == {"a": 3.0, "b": 6.0, "c": 7.0}
        hist = plat.tracking.get_metric_history(run.id, "a")
        assert [(m.step, m.value) for m in hist] == [(1, 1.0), (2, 9.0), (3, 3.0)]
        for bad in (
            {"key": "x", "value": True},
            {"key": "x", "value": 1.0, "step": "1"},
            {"key": ["x"], "value": 1.0},
            {"key": "x", "value": 1.0, "timestamp": True},
        ):
            with pytest.raises(InvalidArgument):
                plat.tracking.log_batch(run.id, metrics=[{"key": "ok", "value": 1.0}, bad])
        assert "ok" not in plat.tracking.get_run(run.id).metrics

    def test_nan_and_inf_are_stored_like_mlflow(self, plat: Platform) -> None:
        run = plat.tracking.create_run("e")
        plat.tracking.log_batch(
            run.id,
            metrics=[
                {"key": "nan", "value": float("nan")},
                {"key": "inf", "value": float("inf")},
                {"key": "ninf", "value": float("-inf")},
            ],
        )
        got = plat.tracking.get_run(run.id).metrics
        assert math.isnan(got["nan"])
        assert got["inf"] == pytest.approx(1.7976931348623157e308)
        assert got["ninf"] == pytest.approx(-1.7976931348623157e308)

    def test_logging_to_ended_or_unknown_run_is_refused(self, plat: Platform) -> None:
        run = plat.tracking.create_run("e")
        plat.tracking.end_run(run.id)
        with pytest.raises(Conflict, match="has ended"):
            plat.tracking.log_metric(run.id, "x", 1.0)
        with pytest.raises(Conflict):
            plat.tracking.log_param(run.id, "p", 1)
        plat.tracking.set_tag(run.id, "note", "tags annotate ended runs")
        with pytest.raises(NotFound):
            plat.tracking.log_metric("0" * 32, "x", 1.0)

    def test_bad_metric_values(self, plat: Platform) -> None:
        run = plat.tracking.create_run("e")
        with pytest.raises(InvalidArgument):
            plat.tracking.log_metric(run.id, "x", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            plat.tracking.log_metric(run.id, "../x", 1.0)

    def test_search_grammar_and_order(self, plat: Platform) -> None:
        ids = {}
        for name, model, auc in [
            ("a", "rf", 0.9),
            ("b", "rf", 0.7),
            ("c", "gbm", 0.85),
            ("d", "lr", 0.95),
        ]:
            run = plat.tracking.create_run("s", run_name=name)
            plat.tracking.log_batch(
                run.id, metrics=[{"key": "auc", "value": auc}], params={"model": model}
            )
            ids[name] = run.id
        page = plat.tracking.search_runs("s", filter="metrics.auc > 0.8 and params.model = 'rf'")
        assert [r.name for r in page.items] == ["a"]
        page = plat.tracking.search_runs(
            "s",
            filter="(params.model = 'rf' or params.model = 'gbm') and metrics.auc >= 0.85",
            order_by=["metrics.auc DESC"],
        )
        assert [r.name for r in page.items] == ["a", "c"]
        page = plat.tracking.search_runs(
            "s", filter="params.model IN ('lr', 'gbm')", order_by=["metrics.auc ASC"]
        )
        assert [r.name for r in page.items] == ["c", "d"]
        first = plat.tracking.search_runs("s", order_by=["metrics.auc DESC"], limit=3)
        assert [r.name for r in first.items] == ["d", "a", "c"]
        rest = plat.tracking.search_runs(
            "s", order_by=["metrics.auc DESC"], limit=3, page_token=first.next_page_token
        )
        assert [r.name for r in rest.items] == ["b"] and rest.next_page_token is None

    def test_order_by_metric_puts_runs_without_it_last_across_pages(self, plat: Platform) -> None:
        names = []
        for i, auc in enumerate([0.5, None, 0.9, float("nan"), 0.7]):
            run = plat.tracking.create_run("o", run_name=f"r{i}", start_time=1000 + i)
            if auc is not None:
                plat.tracking.log_metric(run.id, "auc", auc)
            names.append(run.name)
        seen, token = [], None
        while True:
            page = plat.tracking.search_runs(
                "o", order_by=["metrics.auc DESC"], limit=2, page_token=token
            )
            seen += [r.name for r in page.items]
            token = page.next_page_token
            if token is None:
                break
        # with the metric, best first; then the rest (no value, NaN) newest first
        assert seen == ["r2", "r4", "r0", "r3", "r1"]
        asc = plat.tracking.search_runs("o", order_by=["metrics.auc ASC"], limit=10)
        assert [r.name for r in asc.items] == ["r0", "r4", "r2", "r3", "r1"]

    def test_search_syntax_error_shows_where(self, plat: Platform) -> None:
        plat.tracking.create_experiment("s")
        with pytest.raises(InvalidArgument, match="position 14") as err:
            plat.tracking.search_runs("s", filter="metrics.auc > and params.x = 'y'")
        assert "^" in err.value.message

    def test_metrics_sent_again_with_a_model_id_do_not_repeat_the_history(
        self, plat: Platform
    ) -> None:
        """MLflow 3's log_model re-sends the run's metrics with a model_id (issue #12 item 1)."""
        with plat.tracking.start_run(experiment="mm") as run:
            points = [
                {"key": "loss", "value": 1 / (s + 1), "step": s, "timestamp": 10 + s}
                for s in range(5)
            ]
            points.append({"key": "odd", "value": math.nan, "step": 0, "timestamp": 1})
            points.append({"key": "big", "value": math.inf, "step": 0, "timestamp": 1})
            plat.tracking.log_batch(run.id, metrics=points)
            model = plat.tracking.create_logged_model(run.experiment_id, source_run_id=run.id)
            again = [{**p, "model_id": model.id} for p in points]
            # the exact points again, a new point, a repeat of it, a changed value
            new = {"key": "loss", "value": 0.1, "step": 5, "timestamp": 99, "model_id": model.id}
            changed = {**again[0], "value": 0.5}
            written = plat.tracking.log_batch(run.id, metrics=[*again, new, new, changed])
        assert written == 2
        history = plat.tracking.get_metric_history(run.id, "loss")
        assert [(m.step, m.value) for m in history] == [
            (0, 1.0),
            (0, 0.5),
            *[(s, 1 / (s + 1)) for s in range(1, 5)],
            (5, 0.1),
        ]
        assert len(plat.tracking.get_metric_history(run.id, "odd")) == 1
        assert len(plat.tracking.get_metric_history(run.id, "big")) == 1
        assert plat.tracking.get_run(run.id).metrics["loss"] == 0.1

    def test_compare_runs_reads_every_run_at_once_in_order(self, plat: Platform) -> None:
        """compare_runs loads the runs in one read: still in the order asked, a missing
        id is NotFound, and a run of a team the caller may not read is refused."""
        plat.tracking.create_experiment("mine", owner="ml")
        plat.tracking.create_experiment("theirs", owner="risk")
        a, b = plat.tracking.create_run("mine"), plat.tracking.create_run("mine")
        secret = plat.tracking.create_run("theirs")
        plat.tracking.log_batch(a.id, params={"lr": "0.1", "depth": "3"}, metrics=[])
        plat.tracking.log_batch(b.id, params={"lr": "0.2", "depth": "3"}, metrics=[])
        plat.tracking.log_metric(b.id, "auc", 0.9, step=1)
        found = plat.tracking.compare_runs([b.id, a.id])
        assert found.run_ids == [b.id, a.id] and found.run_names == [b.name, a.name]
        assert found.params == {"depth": ["3", "3"], "lr": ["0.2", "0.1"]}
        assert found.differing_params == ["lr"] and found.metrics == {"auc": [0.9, None]}
        with pytest.raises(NotFound):
            plat.tracking.compare_runs([a.id, "nope"])
        viewer = plat.security.create_principal("val", team="ml", role="viewer")
        mine = plat.as_principal(viewer).tracking
        assert mine.compare_runs([a.id]).run_ids == [a.id]
        with pytest.raises(PermissionDenied):
            mine.compare_runs([a.id, secret.id])

    def test_metric_buckets_share_step_ranges_across_runs(self, plat: Platform) -> None:
        a, b = plat.tracking.create_run("e"), plat.tracking.create_run("e")
        up = [{"key": "m", "value": float(s), "step": s, "timestamp": s} for s in range(100)]
        plat.tracking.log_batch(a.id, metrics=up)
        nan = [{"key": "m", "value": math.nan, "step": 50, "timestamp": 1}]
        plat.tracking.log_batch(b.id, metrics=[*up[40:60], *nan])
        found = plat.tracking.metric_buckets([a.id, b.id], "m", buckets=10)
        assert (found.start, found.count, found.width) == (0, 10, 10.0)
        assert found.runs[a.id][0] == (0, 0.0, 9.0) and found.runs[a.id][-1] == (9, 90.0, 99.0)
        assert found.runs[b.id] == [(4, 40.0, 49.0), (5, 50.0, 59.0)]  # the NaN left out
        assert plat.tracking.metric_buckets([a.id], "none").runs == {a.id: []}
        # uneven ranges (97 steps from -3 in 10 buckets): every database cuts them alike
        odd = [
            {"key": "o", "value": (s * 37) % 11, "step": s, "timestamp": 1} for s in range(-3, 94)
        ]
        plat.tracking.log_batch(a.id, metrics=odd)
        want: dict[int, list[float]] = {}
        for m in odd:
            want.setdefault((m["step"] + 3) * 10 // 97, []).append(float(m["value"]))
        got = plat.tracking.metric_buckets([a.id], "o", buckets=10).runs[a.id]
        assert got == [(b, min(v), max(v)) for b, v in sorted(want.items())]
        with pytest.raises(NotFound):
            plat.tracking.metric_buckets(["nope"], "m")
        with pytest.raises(InvalidArgument):
            plat.tracking.metric_buckets([], "m")

    def test_metric_rollup_buckets_match_the_history(self, plat: Platform) -> None:
        """The rollup (blocks of 16 steps, written with the history) answers like the
        history when buckets fall on block edges: across batches, re-logged points,
        NaN and negative steps."""
        run = plat.tracking.create_run("e")
        pts = [
            {"key": "r", "value": float((s * 37) % 23), "step": s, "timestamp": 1}
            for s in range(-16, 144)
        ]
        plat.tracking.log_batch(run.id, metrics=pts[:70])
        plat.tracking.log_batch(run.id, metrics=pts[60:])  # overlaps: idempotent
        nan = {"key": "r", "value": math.nan, "step": 5, "timestamp": 2}
        plat.tracking.log_batch(run.id, metrics=[nan, pts[3]])
        exact = plat.tracking.metric_buckets([run.id], "r", buckets=10)
        coarse = plat.tracking.metric_buckets([run.id], "r", buckets=10, rollup=True)
        assert coarse.coarse and not exact.coarse
        assert (coarse.start, coarse.count, coarse.width) == (-16, 10, 16.0)
        assert coarse.runs == exact.runs and len(exact.runs[run.id]) == 10
        # at most one bucket a block: 160 steps in 100 buckets is 10 blocks
        assert plat.tracking.metric_buckets([run.id], "r", buckets=100, rollup=True).count == 10
