"""Batch scoring, streaming inference and edge export: ``ServingService`` operations
(a mixin) that run over tables, topics and model files rather than one request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from shipyard._internal import progress
from shipyard._internal.job import Job
from shipyard._internal.progress import OnProgress
from shipyard.errors import InvalidArgument
from shipyard.serving.batch import BatchScoreResult, score_table
from shipyard.serving.export import ExportResult, export_model
from shipyard.serving.streaming import StreamResult, run_stream

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.events.models import Batch
    from shipyard.events.service import EventService
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.context import ServingRuntimes
    from shipyard.serving.models import Deployment
    from shipyard.serving.runtime import ServingRuntime
    from shipyard.serving.service import ServingService
    from shipyard.tracking.service import TrackingService


class OfflineOps:
    if TYPE_CHECKING:
        _ctx: ServiceContext
        _lake: Callable[[], LakeService]
        _registry: Callable[[], RegistryService]
        _tracking: Callable[[], TrackingService]
        _events: Callable[[], EventService]
        runtimes: ServingRuntimes

        @property
        def runtime(self) -> ServingRuntime: ...

        def get_deployment(self, name: str) -> Deployment: ...

        def _queue_action(self, action: str, **params: Any) -> Job: ...

    # -- batch ----------------------------------------------------------------------------

    @overload
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250_000,
        submit: Literal[False] = False,
        on_progress: OnProgress | None = None,
    ) -> BatchScoreResult: ...
    @overload
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250_000,
        submit: Literal[True],
        on_progress: None = None,
    ) -> Job: ...
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250_000,
        submit: bool = False,
        on_progress: OnProgress | None = None,
    ) -> BatchScoreResult | Job:
        """Score a lake table (or a training set's ``datasets.<name>``) with a model version.

        Args:
            model: ``churn@champion``, ``churn/3`` or a ``models:/`` URI.
            source: the input table; it must hold the model's input columns.
            output: the Delta table the scores are appended to (with ``prediction`` and
                ``model_version`` columns), with lineage to the model and input versions.
            version: score the input as of this Delta version (default: the current one).
            keep_columns: input columns copied to the output (default: all but ``_*``).
            chunk_rows: rows per chunk; memory holds one chunk at a time.
            submit: queue it as a job for the caller (authorized first) and return the
                job instead of scoring in this call.
            on_progress: called with (rows scored so far, None) after each chunk.

        Returns:
            Rows scored, chunks written and skipped (a rerun of the same job skips them all).

        Raises:
            NotFound: no such model version or table. InvalidArgument: missing columns,
                or ``chunk_rows`` outside 1..``serving.ops.MAX_CHUNK_ROWS``.
        """
        if submit:
            return self._queue_action(
                "serving.score_table",
                model=model,
                source=source,
                output=output,
                version=version,
                keep_columns=keep_columns,
                chunk_rows=chunk_rows,
            )
        with progress.reporting(on_progress):
            return score_table(
                self._ctx,
                self._registry(),
                self._lake(),
                self.runtimes.workers(),
                model,
                source,
                output,
                version=version,
                keep_columns=keep_columns,
                chunk_rows=chunk_rows,
            )

    # -- streaming ------------------------------------------------------------------------

    def run_stream(
        self,
        deployment: str,
        topic: str,
        *,
        group: str | None = None,
        output_table: str | None = None,
        output_topic: str | None = None,
        dead_letter_topic: str | None = None,
        max_records: int = 500,
        max_batches: int | None = None,
        follow: bool = False,
        idle_timeout: float | None = None,
        after_write: Callable[[Batch], None] | None = None,
    ) -> StreamResult:
        """Score a topic's records with a deployment, micro-batch by micro-batch.

        Each batch is enriched with the deployment's online features and scored on the
        predict path (sticky A/B per entity), then written to ``output_table`` (a Delta
        append keyed by group + topic + offset range) or published to ``output_topic``
        (with the same key), and only then committed: at least once, and a restart
        after a crash between the write and the commit writes nothing twice. Lineage:
        the topic and each model version -> the output.

        Args:
            deployment: the deployment to score with (the caller needs ``predict`` on it).
            topic: the input topic; records hold the entity keys and request fields.
            group: the consumer group (default ``stream.<deployment>``).
            output_table / output_topic: exactly one; outputs are the record's fields plus
                ``prediction``, ``model_version``, ``variant``, ``_topic``, ``_offset``.
            dead_letter_topic: records the deployment refuses (a missing entity key or
                request field, a wrong type, a reserved field name) are published here as
                ``{topic, offset, value, error}`` and the rest of the batch is scored;
                without it such a record stops the stream (its batch stays uncommitted).
            max_records: records per micro-batch (at most 10,000).
            max_batches: stop after this many batches (default: at the end of the topic).
            follow: keep polling for new records; ``idle_timeout`` stops after that many
                idle seconds.
            after_write: called after a batch's output is written, before its commit.

        Returns:
            Batches and records processed, batches found already written, the committed offset.

        Raises:
            NotFound: no such deployment. InvalidArgument: both or no outputs, a record
                without an entity key or with a reserved field. PermissionDenied.
        """
        return run_stream(
            self._ctx,
            cast("ServingService", self),  # the mixin is only ever part of it
            self._events(),
            self._lake(),
            deployment,
            topic,
            group=group,
            output_table=output_table,
            output_topic=output_topic,
            dead_letter_topic=dead_letter_topic,
            max_records=max_records,
            max_batches=max_batches,
            follow=follow,
            idle_timeout=idle_timeout,
            after_write=after_write,
        )

    # -- edge export ----------------------------------------------------------------------

    @overload
    def export_model(
        self,
        model: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[False] = False,
        holdout: Any = None,
        output: str | None = None,
    ) -> ExportResult: ...
    @overload
    def export_model(
        self,
        model: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[True],
        holdout: None = None,
        output: None = None,
    ) -> Job: ...
    def export_model(
        self,
        model: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: bool = False,
        holdout: Any = None,
        output: str | None = None,
    ) -> ExportResult | Job:
        """Convert a model version to ONNX, check parity on held-out rows, record it.

        Args:
            model: ``churn@champion``, ``churn/3`` or a ``models:/`` URI.
            tolerance: the largest allowed absolute difference between the two outputs.
            submit: queue it as a job for the caller (checked first) and return the job;
                the job checks parity on the input example and writes to ``<home>/exports/``.
            holdout: a DataFrame of rows to compare on (default: the model's input
                example). In-process only: over HTTP the input example is used.
            output: where to write the ``.onnx`` file (default: ``<home>/exports/``).
                In-process only: over HTTP the file goes to ``<home>/exports/`` and
                the caller downloads the run artifact.

        Returns:
            The file, the run artifact, the catalog asset and the measured difference.

        Raises:
            InvalidArgument: an unsupported model or format, or outputs that differ.
        """
        if submit:
            if holdout is not None or output is not None:
                raise InvalidArgument("submit=True takes no holdout or output (they stay here)")
            return self._queue_action(
                "serving.export_model", model=model, format=format, tolerance=tolerance
            )
        return export_model(
            self._ctx,
            self._registry(),
            self._tracking,
            model,
            format=format,
            holdout=holdout,
            tolerance=tolerance,
            output=output,
        )

    @overload
    def export_deployment(
        self,
        name: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[False] = False,
        holdout: Any = None,
        output: str | None = None,
    ) -> ExportResult: ...
    @overload
    def export_deployment(
        self,
        name: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[True],
        holdout: None = None,
        output: None = None,
    ) -> Job: ...
    def export_deployment(
        self,
        name: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: bool = False,
        holdout: Any = None,
        output: str | None = None,
    ) -> ExportResult | Job:
        """``export_model`` of the model version deployment ``name`` serves most traffic with.

        ``submit=True`` queues it for the caller (the deployment and its model are read
        first); the job exports the model the deployment serves when it runs.

        Raises:
            NotFound: no such deployment. InvalidArgument: see ``export_model``.
        """
        if submit:
            if holdout is not None or output is not None:
                raise InvalidArgument("submit=True takes no holdout or output (they stay here)")
            return self._queue_action(
                "serving.export_deployment", deployment=name, format=format, tolerance=tolerance
            )
        return self.export_model(
            self.get_deployment(name).primary_model,
            format=format,
            tolerance=tolerance,
            holdout=holdout,
            output=output,
        )
