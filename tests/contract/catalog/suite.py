"""The catalog contract: one suite, run unchanged on every metadata database.

Subclasses provide ``catalog_url``; everything else is shared.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.catalog.changes import ChangeFeed
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.contract.remote import Skin, Skins


class CatalogContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        yield skin(p)
        p.close()

    def test_register_and_get(self, plat: Platform) -> None:
        a = plat.catalog.register_asset(
            "table:bronze.orders",
            description="raw orders",
            tags=["raw", "orders"],
            properties={"rows": 10},
        )
        assert (a.kind, a.name, a.version, a.owner) == ("table", "bronze.orders", 1, "default")
        got = plat.catalog.get_asset("table:bronze.orders")
        assert got.tags == ["orders", "raw"]
        assert got.properties == {"rows": 10}
        assert got.created_by == "local-admin"
        assert got.created_at.tzinfo is not None

    def test_new_versions_are_kept(self, plat: Platform) -> None:
        plat.catalog.register_asset("model:churn", properties={"auc": 0.7})
        plat.catalog.register_asset("model:churn", properties={"auc": 0.8})
        a = plat.catalog.get_asset("model:churn")
        assert a.version == 2
        assert a.properties["auc"] == 0.8
        versions = plat.catalog.list_versions("model:churn").items
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].properties == {"auc": 0.7}

    def test_pinned_version(self, plat: Platform) -> None:
        a = plat.catalog.register_asset("table:silver.x@7")
        assert a.version == 7

    def test_get_missing_raises_not_found(self, plat: Platform) -> None:
        with pytest.raises(NotFound):
            plat.catalog.get_asset("table:nope.nothing")

    def test_bad_ref_is_invalid(self, plat: Platform) -> None:
        with pytest.raises(InvalidArgument):
            plat.catalog.get_asset("no-kind-here")

    def test_search_by_text_kind_tag_owner(self, plat: Platform) -> None:
        plat.catalog.register_asset("table:bronze.orders", tags=["raw"], description="Orders")
        plat.catalog.register_asset("table:silver.customers", tags=["clean"])
        plat.catalog.register_asset("model:churn", tags=["clean"], owner="ml")
        names = lambda page: [a.name for a in page.items]  # noqa: E731
        assert names(plat.catalog.search("ORDER")) == ["bronze.orders"]
        assert names(plat.catalog.search(kind="table")) == ["bronze.orders", "silver.customers"]
        assert names(plat.catalog.search(tag="clean")) == ["churn", "silver.customers"]
        assert names(plat.catalog.search(owner="ml")) == ["churn"]

    def test_text_search_follows_edits_and_short_queries(self, plat: Platform) -> None:
        """The text index (FTS5 trigrams / pg_trgm) answers exactly as a substring scan."""
        c = plat.catalog
        c.register_asset("table:bronze.events", description="Click stream")
        c.register_asset("table:bronze.e2", description="clickstream copy")
        c.register_asset("model:ev", description="x")
        names = lambda text: [a.name for a in c.search(text).items]  # noqa: E731
        assert names("CLICK") == ["bronze.e2", "bronze.events"]
        assert names("ev") == ["ev", "bronze.events"]  # two letters: below a trigram
        assert names("k s") == ["bronze.events"]
        assert names("click_stream") == ["bronze.events"]  # LIKE's _ stays a wildcard
        c.update_asset("table:bronze.events", description="page views")
        assert names("click") == ["bronze.e2"]
        assert names("page view") == ["bronze.events"]
        c.register_asset("table:bronze.e2", description="impressions")  # a new version
        assert names("click") == []
        assert names("ssion") == ["bronze.e2"]
        first = c.search("bronze", limit=1)
        assert [a.name for a in first.items] == ["bronze.e2"]
        rest = c.search("bronze", limit=1, page_token=first.next_page_token)
        assert [a.name for a in rest.items] == ["bronze.events"]

    def test_search_pages(self, plat: Platform) -> None:
        for i in range(5):
            plat.catalog.register_asset(f"table:bronze.t{i}")
        first = plat.catalog.search(kind="table", limit=2)
        assert len(first.items) == 2 and first.next_page_token
        seen = [a.name for a in first.items]
        token = first.next_page_token
        while token:
            page = plat.catalog.search(kind="table", limit=2, page_token=token)
            seen += [a.name for a in page.items]
            token = page.next_page_token
        assert seen == [f"bronze.t{i}" for i in range(5)]

    def test_lineage_up_and_down_with_depth(self, plat: Platform) -> None:
        c = plat.catalog
        c.register_asset("table:bronze.orders")
        c.register_asset(
            "table:silver.orders", sources=["table:bronze.orders"], operation="refresh"
        )
        c.register_asset("table:gold.daily", sources=["table:silver.orders"], operation="aggregate")
        c.register_asset("model:churn", sources=["table:gold.daily"], operation="train")
        up = c.lineage("model:churn", depth=10)
        assert {str(n) for n in up.nodes} == {
            "model:churn@1",
            "table:gold.daily@1",
            "table:silver.orders@1",
            "table:bronze.orders@1",
        }
        assert {e.operation for e in up.edges} == {"refresh", "aggregate", "train"}
        one = c.lineage("model:churn", depth=1)
        assert {str(n) for n in one.nodes} == {"model:churn@1", "table:gold.daily@1"}
        down = c.lineage("table:bronze.orders", direction="downstream", depth=2)
        assert {n.name for n in down.nodes} == {"bronze.orders", "silver.orders", "gold.daily"}

    def test_lineage_records_versions(self, plat: Platform) -> None:
        c = plat.catalog
        c.register_asset("table:bronze.orders")
        c.register_asset("table:bronze.orders")  # now version 2
        c.register_asset("table:silver.orders", sources=["table:bronze.orders@1"])
        edge = c.lineage("table:silver.orders").edges[0]
        assert edge.source.version == 1

    def test_lineage_cycle_terminates(self, plat: Platform) -> None:
        c = plat.catalog
        c.register_asset("table:a.x")
        c.register_asset("table:a.y", sources=["table:a.x"])
        c.register_asset("table:a.x", sources=["table:a.y"], properties={})
        graph = c.lineage("table:a.x", depth=25)
        assert len(graph.edges) <= 3

    def test_update_asset(self, plat: Platform) -> None:
        plat.catalog.register_asset("table:bronze.orders", tags=["a"])
        a = plat.catalog.update_asset("table:bronze.orders", description="d", tags=["b", "c"])
        assert a.description == "d" and a.tags == ["b", "c"] and a.version == 1

    def test_mutations_are_audited(self, plat: Platform) -> None:
        plat.catalog.register_asset("table:bronze.orders")
        rec = plat.audit.list_records(action="catalog.*").items[0]
        assert (rec.principal, rec.action, rec.asset, rec.outcome) == (
            "local-admin",
            "catalog.register",
            "table:bronze.orders@1",
            "ok",
        )

    def test_denied_attempt_is_audited_and_changes_nothing(self, plat: Platform) -> None:
        viewer = plat.security.create_principal("vera", role="viewer")
        with pytest.raises(PermissionDenied):
            plat.as_principal(viewer).catalog.register_asset("table:bronze.sneaky")
        with pytest.raises(NotFound):
            plat.catalog.get_asset("table:bronze.sneaky")
        rec = plat.audit.list_records(principal="vera").items[0]
        assert (rec.action, rec.outcome) == ("catalog.register", "denied")

    def test_failed_change_leaves_nothing_half_written(self, plat: Platform) -> None:
        with pytest.raises(NotFound):
            plat.catalog.register_asset("table:silver.x", sources=["table:bronze.missing"])
        with pytest.raises(NotFound):
            plat.catalog.get_asset("table:silver.x")
        rec = plat.audit.list_records().items[0]
        assert rec.outcome == "error" and rec.details["error_code"] == "NOT_FOUND"

    def test_duplicate_principal(self, plat: Platform) -> None:
        plat.security.create_principal("bob")
        with pytest.raises(AlreadyExists):
            plat.security.create_principal("bob")

    def test_other_teams_assets_are_hidden_from_viewers(self, plat: Platform) -> None:
        plat.catalog.register_asset("model:secret", owner="risk")
        plat.catalog.register_asset("model:open", owner="default")
        viewer = plat.security.create_principal("val", role="viewer", team="default")
        names = [a.name for a in plat.as_principal(viewer).catalog.search().items]
        assert names == ["open"]
        with pytest.raises(PermissionDenied):
            plat.as_principal(viewer).catalog.get_asset("model:secret")

    def test_oversized_input_is_refused_alike(self, plat: Platform) -> None:
        with pytest.raises(InvalidArgument):
            plat.catalog.register_asset("table:" + "x" * 513)
        with pytest.raises(InvalidArgument):
            plat.catalog.register_asset("k" * 65 + ":name")
        with pytest.raises(InvalidArgument):
            plat.catalog.register_asset("table:ok", tags=["t" * 129])
        with pytest.raises(InvalidArgument):
            plat.catalog.register_asset("table:ok", owner="o" * 129)
        assert plat.catalog.search().items == []
        plat.catalog.register_asset("table:" + "x" * 512, tags=["t" * 128])  # the limits fit

    # -- change feed: what cached readers use to see other processes' changes at once --------

    @pytest.mark.in_process_only  # the change feed reads the catalog database
    def test_change_feed_sees_another_process_at_once(
        self, plat: Platform, catalog_url: str, tmp_path: Path
    ) -> None:
        feed = ChangeFeed(plat.context.db)
        try:
            before = feed.fingerprint(("model",))
            assert before is not None and feed.fingerprint(("model",)) == before
            code = (
                "import sys; from shipyard.platform import Platform\n"
                "p = Platform.open(sys.argv[1], catalog={'url': sys.argv[2]})\n"
                "p.catalog.register_asset('model:churn'); p.close()"
            )
            subprocess.run([sys.executable, "-c", code, str(tmp_path), catalog_url], check=True)
            created = feed.fingerprint(("model",))
            assert created != before
            with plat.context.db.begin() as conn:
                plat.context.catalog.delete(conn, plat.context.catalog.get(conn, "model", "churn"))
            # PostgreSQL's signal is a NOTIFY, delivered asynchronously: within a second
            deadline = time.monotonic() + 1.0
            while feed.fingerprint(("model",)) in (created, None) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert feed.fingerprint(("model",)) not in (created, None)
        finally:
            feed.close()

    @pytest.mark.in_process_only  # the change feed reads the catalog database
    def test_change_feed_ignores_other_kinds(self, plat: Platform) -> None:
        feed = ChangeFeed(plat.context.db)
        try:
            plat.catalog.register_asset("model:churn")
            before = feed.fingerprint(("model",))
            plat.catalog.register_asset("table:bronze.orders")
            plat.catalog.update_asset("table:bronze.orders", description="raw")
            assert feed.fingerprint(("model",)) == before
            plat.catalog.update_asset("model:churn", description="v2")
            # PostgreSQL delivers the NOTIFY asynchronously: the change shows within moments
            deadline = time.monotonic() + 2.0
            while feed.fingerprint(("model",)) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            assert feed.fingerprint(("model",)) != before
        finally:
            feed.close()
