"""Dependencies of UI routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shipyard.ui.session import Session, current

#: The signed-in user (sync dependency: FastAPI resolves it in the thread pool, off the loop).
Signed = Annotated[Session, Depends(current)]
