"""`shipyard monitor profile|profile-model|show-profile|drift|reports|metrics|slo|incidents`,
`shipyard drift`, `shipyard scorecard`: thin over ``MonitoringService``."""

from __future__ import annotations

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.monitoring.models import DriftReport, Profile

monitor = typer.Typer(help="Reference profiles, drift reports, metrics.", no_args_is_help=True)


def _show_profile(prof: Profile, as_json: bool) -> None:
    if as_json:
        print_json(prof)
        return
    console.print(f"{prof.subject}  from {prof.source}  ({prof.rows:,} rows)")
    rows = [
        {
            "feature": f.name,
            "kind": f.kind,
            "null_rate": round(f.null_rate, 4),
            "distinct": f.distinct,
            "mean": None if f.mean is None else round(f.mean, 4),
            "min": f.min,
            "max": f.max,
        }
        for f in prof.features.values()
    ]
    print_table(rows, ["feature", "kind", "null_rate", "distinct", "mean", "min", "max"])


def _show_report(r: DriftReport, as_json: bool) -> None:
    if as_json:
        print_json(r)
        return
    console.print(
        f"{r.deployment}: {r.status} over {r.rows:,} rows "
        f"({r.window_start:%Y-%m-%d %H:%M} to {r.window_end:%H:%M}), reference {r.reference}"
        + (f"  {r.message}" if r.message else "")
    )
    feats = [*r.features, *([r.prediction] if r.prediction else [])]
    rows = [
        {
            "feature": f.feature,
            "psi": round(f.psi, 4),
            "js": round(f.js, 4),
            "ks": None if f.ks is None else round(f.ks, 4),
            "chi2_p": f"{f.chi2_pvalue:.2g}",
            "drifted": "yes" if f.drifted else "",
        }
        for f in feats
    ]
    if rows:
        print_table(rows, ["feature", "psi", "js", "ks", "chi2_p", "drifted"])


@monitor.command("profile")
def profile(
    table: str = typer.Argument(..., help="A lake table, e.g. gold.customer_features."),
    version: int = typer.Option(None, "--version", help="Delta version (default: current)."),
    column: list[str] = typer.Option([], "--column", "-c", help="Columns (default: all)."),
    as_json: bool = JsonOption,
) -> None:
    """Profile a lake table (per-column histograms, null rates, cardinalities) and store it."""
    prof = platform().monitoring.profile_table(table, version=version, columns=column or None)
    _show_profile(prof, as_json)


@monitor.command("profile-model")
def profile_model(name: str, version: int, as_json: bool = JsonOption) -> None:
    """Profile a model version's training set (done at registration when its run logged one)."""
    _show_profile(platform().monitoring.profile_model_version(name, version), as_json)


@monitor.command("show-profile")
def show_profile(
    subject: str = typer.Argument(..., help="model:NAME[@VERSION] or table:NAME[@VERSION]"),
    as_json: bool = JsonOption,
) -> None:
    """Show the newest stored profile of a model version or a table."""
    kind, _, rest = subject.partition(":")
    name, _, at = rest.partition("@")
    version = int(at) if at.isdigit() else None
    _show_profile(platform().monitoring.get_profile(kind, name, version), as_json)


@monitor.command("drift")
def drift(
    deployment: str,
    window: float = typer.Option(3600.0, "--window", help="Seconds of inference log."),
    threshold: list[str] = typer.Option(
        [], "--threshold", "-t", help="NAME=VALUE replacing one threshold (psi, js, ks, ...)."
    ),
    feature: list[str] = typer.Option([], "--feature", "-f", help="Score only these features."),
    fail_on_drift: bool = typer.Option(False, "--fail-on-drift", help="Exit 3 on drift."),
    as_json: bool = JsonOption,
) -> None:
    """Drift of a deployment's recent predictions against its model's reference profile
    (stored; the first drift of an incident and its resolution are alerts)."""
    report = platform().monitoring.run_drift(
        deployment,
        window_seconds=window,
        thresholds=_thresholds(threshold) or None,
        features=feature or None,
    )
    _show_report(report, as_json)
    if fail_on_drift and report.status == "drift":
        raise typer.Exit(3)


def _thresholds(pairs: list[str]) -> dict[str, float]:
    from shipyard.errors import InvalidArgument

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise InvalidArgument(f"--threshold {pair!r}: write NAME=NUMBER (e.g. psi=0.1)")
    return out


@monitor.command("reports")
def reports(
    deployment: str,
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    """The deployment's stored drift reports, newest first."""
    found = platform().monitoring.list_drift_reports(deployment, limit=limit)
    if as_json:
        print_json([r.summary() for r in found])
        return
    print_table([r.summary() for r in found], ["id", "status", "rows", "drifted", "window_end"])


@monitor.command("metrics")
def metrics() -> None:
    """This process's Prometheus exposition (a server's own is at GET /metrics)."""
    typer.echo(platform().monitoring.metrics_text(), nl=False)


@monitor.command("performance")
def performance(
    deployment: str,
    window: float = typer.Option(7 * 86400.0, "--window", help="Seconds of predictions."),
    bucket: float = typer.Option(None, "--bucket", help="Seconds a row covers (default 1/24)."),
    as_json: bool = JsonOption,
) -> None:
    """Accuracy, AUC and RMSE per variant and per bucket, from the ground truth posted so far."""
    rep = platform().monitoring.model_performance(
        deployment, window_seconds=window, bucket_seconds=bucket
    )
    if as_json:
        print_json(rep)
        return
    console.print(
        f"{rep.deployment}: {rep.task or 'no labels yet'}  "
        f"({rep.window_start:%Y-%m-%d %H:%M} to {rep.window_end:%Y-%m-%d %H:%M})"
        + (f"  {rep.message}" if rep.message else "")
    )
    cols = ["variant", "start", "predictions", "labeled", "coverage", "accuracy", "auc", "rmse"]
    rows = [
        {
            **{c: getattr(w, c) for c in ("variant", "predictions", "labeled")},
            "start": "all" if i < len(rep.variants) else f"{w.start:%m-%d %H:%M}",
            **{c: _round(getattr(w, c)) for c in ("coverage", "accuracy", "auc", "rmse")},
        }
        for i, w in enumerate([*rep.variants, *rep.buckets])
    ]
    if rows:
        print_table(rows, cols)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@monitor.command("quality")
def table_quality(
    table: str = typer.Argument(..., help="A lake table, e.g. gold.customer_features."),
    check: bool = typer.Option(False, "--check", help="Take and store a snapshot first."),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    """A lake table's data quality over time: rows, freshness, null rates, expectation pass
    rates, schema changes (one stored snapshot a row, newest first)."""
    mon = platform().monitoring
    if check:
        mon.check_table_quality(table)
    snaps = mon.table_quality(table, limit=limit)
    if as_json:
        print_json(snaps)
        return
    rows = [
        {
            "at": f"{s.created_at:%Y-%m-%d %H:%M:%S}",
            "version": s.version,
            "rows": s.rows,
            "freshness_s": _round(s.freshness_seconds),
            "worst_null_rate": _round(max(s.null_rates.values(), default=0.0)),
            "pass_rate": _round(min((e.pass_rate or 1.0 for e in s.expectations), default=None)),
            "schema_change": "" if not s.schema_change or s.schema_change.empty else "yes",
        }
        for s in snaps
    ]
    print_table(rows, list(rows[0]) if rows else ["at"])


@monitor.command("freshness")
def freshness(as_json: bool = JsonOption) -> None:
    """Per feature view: the newest materialized event time and how far behind now it is."""
    found = platform().monitoring.feature_freshness()
    if as_json:
        print_json(found)
        return
    print_table(
        [f.model_dump() for f in found],
        ["view", "watermark", "lag_seconds", "ttl_seconds", "stale", "last_materialized_at"],
    )


def scorecard(
    days: float = typer.Option(28.0, "--days", help="Days the figures cover."),
    as_json: bool = JsonOption,
) -> None:
    """The platform scorecard: deployments and success rate, lead time, models in
    production, incidents, adoption per team, feature reuse (needs read on every team)."""
    card = platform().monitoring.scorecard(days=days)
    if as_json:
        print_json(card)
        return
    rows = [
        {"figure": k, "value": v}
        for k, v in card.model_dump(exclude={"adoption", "reused_feature_views"}).items()
    ]
    rows.append({"figure": "reused_feature_views", "value": card.reused_feature_views})
    print_table(rows, ["figure", "value"])
    if card.adoption:
        print_table(
            [a.model_dump() for a in card.adoption],
            ["team", "active_principals", "runs", "deployments"],
            title="adoption",
        )


def register(app: typer.Typer) -> None:
    """Top-level commands of this module: ``shipyard scorecard``, ``shipyard drift``
    (``monitor drift``) and the ``shipyard monitors`` group."""
    from shipyard.cli.monitors import monitors

    app.command("scorecard")(scorecard)
    app.command("drift")(drift)
    app.add_typer(monitors, name="monitors")


def _slo_commands() -> None:
    from shipyard.cli.slo import incidents, slo

    monitor.add_typer(slo, name="slo")
    monitor.command("incidents")(incidents)


_slo_commands()
