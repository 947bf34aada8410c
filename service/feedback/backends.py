"""Which feedback store a deployment uses: PostgreSQL when a database URL is set, else SQLite. Kept apart
from ``store`` (the interface) so the backends can import the interface without a cycle."""

from __future__ import annotations

from typing import Any

from service.config import Settings
from service.feedback.postgres_store import PostgresStore
from service.feedback.sqlite_store import SqliteStore
from service.feedback.store import FeedbackStore


def open_store(settings: Settings, **kwargs: Any) -> FeedbackStore:
    """PostgreSQL when ``database_url`` is set, else SQLite at ``sqlite_path``. Does not connect yet."""
    if settings.database_url:
        return PostgresStore(settings.database_url, **kwargs)
    return SqliteStore(settings.sqlite_file())
