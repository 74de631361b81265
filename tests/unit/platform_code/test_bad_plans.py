"""A bad plan is refused at plan time with one line naming the file and line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from shipyard import platform_code as pc
from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from tests.unit.platform_code.conftest import PLATFORM_YAML, Write


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One platform for the module: a refused plan changes nothing."""
    project = tmp_path_factory.mktemp("bad-plans")
    (project / "shipyard.yaml").write_text("")
    p = Platform.open(Path(project))
    p.lake.write("bronze.orders", pa.table({"customer_id": [1], "amount": [3.0]}), owner="ml")
    yield p
    p.close()


def _refused(plat: Platform, files: list, pattern: str) -> str:
    with pytest.raises(InvalidArgument) as info:
        pc.plan(plat, files)
    message = info.value.message
    assert "\n" not in message
    assert pattern in message, message
    return message


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("teams: [ml]\nclusters:\n  - name: a\n", 2, "unknown resource kind 'clusters'"),
        ("principals:\n  - name: al\n    roles: {nope: editor}\n", 2, "team 'nope', which does"),
        ("principals:\n  - name: al\n    roles: {default: boss}\n", 2, "unknown role 'boss'"),
        (
            "quotas:\n  - {scope: principal, subject: ghost, resource: deployments, limit: 1}\n",
            2,
            "principal 'ghost', which does not exist",
        ),
        (
            "tables:\n  - name: silver.x\n    sql: SELECT * FROM bronze.missing\n",
            2,
            "table 'bronze.missing', which does not exist",
        ),
        (
            "teams: [ml]\n\nmonitors:\n  - {deployment: nowhere, schedule: '0 * * * *'}\n",
            4,
            "deployment 'nowhere', which does not exist",
        ),
        (
            "deployments:\n  - name: d\n    variants: [{name: a, model: ghost/1}]\n",
            2,
            "model 'ghost/1', which does not exist",
        ),
        (
            "vector_indexes:\n  - {name: v, table: gold.none, id_column: i, vector_column: e,"
            " dimension: 4}\n",
            2,
            "vector index 'v' needs table 'gold.none', which does not exist here",
        ),
        (
            "vector_indexes:\n  - {name: v, table: bronze.orders, id_column: i,"
            " vector_column: e, dimension: 4}\n",
            2,
            "table bronze.orders has no column 'i'",
        ),
        ("tables: [\n", 2, "not valid YAML"),
    ],
)
def test_a_bad_yaml_resource_names_its_file_and_line(
    plat: Platform, write: Write, text: str, line: int, says: str
) -> None:
    files = write(yaml=text, features="", pipelines="")
    message = _refused(plat, files, says)
    assert message.startswith(f"{files[0]}:{line}: "), message


def test_a_quota_below_current_use_is_refused(plat: Platform, write: Write) -> None:
    plat.quotas.set_quota("team", "ml", "storage_bytes", 10**12)
    files = write(
        yaml="quotas:\n  - {scope: team, subject: ml, resource: storage_bytes, limit: 10}\n",
        features="",
        pipelines="",
    )
    message = _refused(plat, files, "limit 10 is below what is used now")
    assert message.startswith(f"{files[0]}:2: ")


def test_a_feature_referring_to_an_undeclared_entity_names_its_line(
    plat: Platform, write: Write
) -> None:
    features = (
        "from shipyard.features import Feature, FeatureView\n\n"
        "orders = FeatureView(\n"
        '    name="orders", entities=["nobody"], source="bronze.orders",\n'
        '    timestamp_field="ts", features=[Feature("amount", "float64")],\n'
        ")\n"
    )
    files = write(yaml="", features=features, pipelines="")
    message = _refused(plat, files, "nobody")
    assert message.startswith(f"{files[0]}:3: "), message


def test_a_pipeline_with_an_unknown_action_names_its_line(plat: Platform, write: Write) -> None:
    pipelines = (
        "import shipyard\n\n\n"
        "@shipyard.pipeline(owner='ml')\n"
        "def broken(p):\n"
        "    p.action('lake.explode', table='bronze.orders')\n"
    )
    files = write(yaml="", features="", pipelines=pipelines)
    message = _refused(plat, files, "lake.explode")
    assert message.startswith(f"{files[0]}:4: "), message


def test_the_same_resource_declared_twice_names_both_places(plat: Platform, write: Write) -> None:
    files = write(yaml="teams: [ml]\n" + PLATFORM_YAML.split("\n", 1)[1] * 2, features="")
    _refused(plat, files, "is also declared at")


def test_cpu_and_gpu_quotas_are_declared_like_any_other(plat: Platform, write: Write) -> None:
    """``cpus`` and ``gpus`` are quota kinds of ``platform.yaml`` (ADR 0047); an unknown
    one is refused with its line."""
    lines = (
        "quotas:\n  - {scope: team, subject: ml, resource: cpus, limit: 8}\n"
        "  - {scope: team, subject: ml, resource: gpus, limit: 1}\n"
    )
    files = write(yaml=lines, features="", pipelines="")
    pc.apply(plat, pc.plan(plat, files))
    got = {(s.quota.resource.value, s.quota.limit) for s in plat.quotas.list_quotas().items}
    assert {("cpus", 8), ("gpus", 1)} <= got
    files = write(yaml=lines.replace("gpus", "tpus"), features="", pipelines="")
    assert _refused(plat, files, "tpus").startswith(f"{files[0]}:3: ")
