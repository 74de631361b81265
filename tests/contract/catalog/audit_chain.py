"""The audit log's hash chain: intact logs verify, tampered ones name the first bad row.

One suite, run on SQLite (``test_audit_chain_sqlite.py``) and PostgreSQL
(``tests/integration/catalog/test_audit_chain_postgres.py``).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shipyard.errors import NotFound, PermissionDenied
from shipyard.governance.tables import audit_log
from shipyard.platform import Platform
from tests.contract.remote import Skin, Skins

_CONTENT = ("ts", "principal", "action", "asset", "team", "outcome", "details")


class AuditChainContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        yield skin(p)
        p.close()

    @pytest.fixture
    def logged(self, plat: Platform) -> list[int]:
        """Ids of a log with ok, denied and failed mutations."""
        plat.catalog.register_asset("table:bronze.orders", tags=["raw"])
        for i in range(4):
            plat.catalog.update_asset("table:bronze.orders", description=f"v{i} \u00e9")
        viewer = plat.security.create_principal("vera", role="viewer")
        with pytest.raises(PermissionDenied):
            plat.as_principal(viewer).catalog.register_asset("table:bronze.sneaky")
        with pytest.raises(NotFound):
            plat.catalog.register_asset("table:silver.x", sources=["table:bronze.missing"])
        return self._ids(plat)

    def _ids(self, plat: Platform) -> list[int]:
        with plat.context.db.connect() as conn:
            return list(conn.execute(sa.select(audit_log.c.id).order_by(audit_log.c.id)).scalars())

    def _row(self, plat: Platform, row_id: int) -> dict[str, Any]:
        with plat.context.db.connect() as conn:
            row = conn.execute(sa.select(audit_log).where(audit_log.c.id == row_id)).one()
        return dict(row._mapping)

    def _set(self, plat: Platform, row_id: int, **values: Any) -> None:
        with plat.context.db.begin() as conn:
            conn.execute(audit_log.update().where(audit_log.c.id == row_id).values(**values))

    def test_an_intact_log_verifies(self, plat: Platform, logged: list[int]) -> None:
        report = plat.audit.verify()
        assert report.ok and report.problem is None
        assert report.rows_checked == len(logged) >= 8
        assert report.head_id == logged[-1]
        assert report.head_hash == self._row(plat, logged[-1])["row_hash"]

    def test_every_row_links_to_the_one_before(self, plat: Platform, logged: list[int]) -> None:
        rows = [self._row(plat, i) for i in logged]
        assert rows[0]["prev_hash"] == "0" * 64
        for before, row in itertools.pairwise(rows):
            assert row["prev_hash"] == before["row_hash"]

    def test_an_edited_row_is_found(self, plat: Platform, logged: list[int]) -> None:
        target = logged[3]
        self._set(plat, target, details={"description": "nothing to see"})
        report = plat.audit.verify()
        assert not report.ok and report.problem is not None
        assert (report.problem.id, report.problem.kind) == (target, "edited")
        assert report.rows_checked == 3 and report.head_id == logged[2]

    def test_an_edited_outcome_or_principal_is_found(
        self, plat: Platform, logged: list[int]
    ) -> None:
        denied = next(i for i in logged if self._row(plat, i)["outcome"] == "denied")
        self._set(plat, denied, outcome="ok")
        problem = plat.audit.verify().problem
        assert problem is not None and (problem.id, problem.kind) == (denied, "edited")

    def test_a_deleted_row_is_found(self, plat: Platform, logged: list[int]) -> None:
        with plat.context.db.begin() as conn:
            conn.execute(sa.delete(audit_log).where(audit_log.c.id == logged[2]))
        problem = plat.audit.verify().problem
        assert problem is not None and (problem.id, problem.kind) == (logged[3], "deleted")
        assert str(logged[1]) in problem.message

    def test_two_swapped_rows_are_found(self, plat: Platform, logged: list[int]) -> None:
        a, b = self._row(plat, logged[2]), self._row(plat, logged[3])
        keep = ("prev_hash", "row_hash")
        self._set(plat, logged[2], **{k: v for k, v in b.items() if k != "id"})
        self._set(plat, logged[3], **{k: v for k, v in a.items() if k != "id"})
        problem = plat.audit.verify().problem
        assert problem is not None and (problem.id, problem.kind) == (logged[2], "reordered")
        # Swapping only what the rows say (the hashes stay in place) reads as an edit.
        self._set(plat, logged[2], **{k: v for k, v in a.items() if k in keep})
        self._set(plat, logged[3], **{k: v for k, v in b.items() if k in keep})
        problem = plat.audit.verify().problem
        assert problem is not None and (problem.id, problem.kind) == (logged[2], "edited")

    def test_a_row_written_around_the_log_is_found(self, plat: Platform, logged: list[int]) -> None:
        fake = {k: v for k, v in self._row(plat, logged[1]).items() if k in _CONTENT}
        with plat.context.db.begin() as conn:
            conn.execute(audit_log.insert().values(**fake))  # no hashes
        problem = plat.audit.verify().problem
        assert problem is not None and problem.kind == "inserted"
        assert problem.id == max(self._ids(plat))

    def test_a_forged_row_with_a_valid_hash_is_found(
        self, plat: Platform, logged: list[int]
    ) -> None:
        from shipyard.governance.chain import row_hash

        # Someone who knows the scheme forges a row linked to the last row's predecessor.
        last = self._row(plat, logged[-1])
        fake = {**{k: v for k, v in last.items() if k in _CONTENT}, "outcome": "ok"}
        forged = {**fake, "prev_hash": last["prev_hash"]}
        forged["row_hash"] = row_hash(last["prev_hash"], **fake)
        with plat.context.db.begin() as conn:
            conn.execute(audit_log.insert().values(**forged))
        problem = plat.audit.verify().problem
        assert problem is not None and problem.kind == "inserted"
        # ... but one who rewrites the chain from the edit on is caught only by the head.

    @pytest.mark.in_process_only  # counts rows; minting each remote view's token is audited too
    def test_concurrent_writers_never_fork_the_chain(
        self, plat: Platform, catalog_url: str, tmp_path: Path
    ) -> None:
        per_thread, threads = 15, 4
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(per_thread):
                    plat.catalog.register_asset(f"table:bronze.t{n}_{i}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        script = (
            "import sys\n"
            "from shipyard.platform import Platform\n"
            "p = Platform.open(sys.argv[1], catalog={'url': sys.argv[2]})\n"
            "for i in range(15): p.catalog.register_asset(f'table:bronze.p{sys.argv[3]}_{i}')\n"
            "p.close()\n"
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", script, str(tmp_path), catalog_url, str(n)])
            for n in range(2)
        ]
        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        assert not errors, errors
        report = plat.audit.verify()
        assert report.ok, report.problem
        assert report.rows_checked == len(self._ids(plat)) == per_thread * threads + 2 * 15

    def test_only_admins_verify(self, plat: Platform) -> None:
        viewer = plat.security.create_principal("vera", role="viewer")
        with pytest.raises(PermissionDenied):
            plat.as_principal(viewer).audit.verify()
        denied = plat.audit.list_records(principal="vera").items[0]
        assert (denied.action, denied.outcome) == ("audit.verify", "denied")
