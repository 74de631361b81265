"""PostgreSQL driver errors come out as Shipyard errors at the seam."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard._internal.clock import utcnow
from shipyard.errors import AlreadyExists, InvalidArgument
from shipyard.platform import Platform
from shipyard.security.tables import principals

pytestmark = pytest.mark.integration


def test_value_too_long_and_duplicates_are_typed(tmp_path: Path, pg_catalog_url: str) -> None:
    with Platform.open(tmp_path, catalog={"url": pg_catalog_url}) as p:
        db = p.context.db
        with pytest.raises(InvalidArgument, match="invalid value"), db.begin() as conn:
            conn.execute(
                principals.insert().values(id="x", name="n" * 300, kind="user", created_at=utcnow())
            )
        p.security.create_principal("bob")
        with pytest.raises(AlreadyExists), db.begin() as conn:
            conn.execute(
                principals.insert().values(id="y", name="bob", kind="user", created_at=utcnow())
            )
