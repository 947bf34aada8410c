"""The SQL shared by the SQLite and PostgreSQL backends: written once with ``?`` placeholders.

Subclasses provide connections (``_tx``) and, for PostgreSQL, a migration lock; everything else —
migrations, recording cards, feedback, the report's rows, the purge — lives here. ``issue`` (the
card service's path) asks for a *quick* transaction: the backend then waits only a fraction of a
second for a lock or a slow database, so a CDS call stays near its budget; the feedback endpoint and
the CLI wait the long timeouts because their callers are told the outcome.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from service.dbpool import ConnectionPool
from service.feedback.migrations import MIGRATIONS, SCHEMA_VERSION_TABLE, statements_for
from service.feedback.store import (
    Decide,
    FeedbackItem,
    FeedbackResult,
    IssuedCard,
    PastOverride,
    ReportRow,
    UnknownCards,
    ts,
)

# SQLite's default limit on bound parameters is far above this; chunks keep IN lists reasonable.
CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class SqlStore(ABC):
    """Everything but opening connections: the SQL is written once with ``?`` placeholders, and the
    connections come from one pool per store (``service.dbpool``: lent per transaction, fork-safe)."""

    dialect = ""
    placeholder = "?"
    driver_errors: tuple[type[Exception], ...] = ()  # what the driver raises on close

    def __init__(self) -> None:
        self._ready = False
        self._pool: ConnectionPool[Any] = ConnectionPool(self._open, self._close_conn, usable=self._usable)
        self._current = threading.local()  # the connection of the transaction running in this thread

    @abstractmethod
    def _open(self) -> Any:
        """A new connection, configured."""

    @staticmethod
    def _usable(conn: Any) -> bool:
        """Whether an idle connection may be lent again without a round trip (default: yes)."""
        return True

    def _close_conn(self, conn: Any) -> None:
        try:
            conn.close()
        except self.driver_errors:
            pass

    def active_connection(self) -> Any:
        """The connection of the transaction this thread (or greenlet) is running, else None (tests)."""
        return getattr(self._current, "conn", None)

    def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query now (readiness)."""
        with self._tx(write=False, quick=True) as cur:
            cur.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()

    @abstractmethod
    def _tx(
        self, write: bool = True, quick: bool = False, durable: bool = False
    ) -> AbstractContextManager[Any]:
        """A cursor inside one transaction (``write``: take the write lock up front; ``quick``: use
        the card path's short lock/statement/connect timeouts; ``durable``: the commit must survive a
        power loss, because the caller is told it is stored); driver errors become StoreError, and a
        broken connection is dropped so the next call opens a new one."""

    def _lock_for_migration(self, cur: Any) -> None:  # noqa: B027 - optional hook
        """Serialise concurrent migrators (SQLite's BEGIN IMMEDIATE already does)."""

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _in(self, n: int) -> str:
        return ",".join([self.placeholder] * n)

    def migrate(self, quick: bool = False) -> int:
        """Create or upgrade the schema; returns the version now in place. Safe to run concurrently."""
        with self._tx(quick=quick) as cur:
            self._lock_for_migration(cur)
            cur.execute(SCHEMA_VERSION_TABLE)
            cur.execute("SELECT version FROM schema_version")
            done = {row[0] for row in cur.fetchall()}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                for statement in statements_for(migration, self.dialect):
                    cur.execute(statement)
                cur.execute(
                    self._q("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)"),
                    (migration.version, migration.name, ts(datetime.now(UTC))),
                )
        self._ready = True
        return MIGRATIONS[-1].version

    def _ensure_ready(self, quick: bool = False) -> None:
        if not self._ready:
            self.migrate(quick=quick)

    def issue(
        self, patient_hash: str, rec_keys: Sequence[str], since: str, decide: Decide
    ) -> list[IssuedCard]:
        self._ensure_ready(quick=True)
        with self._tx(quick=True) as cur:
            cards = decide(self._past(cur, patient_hash, rec_keys, since))
            self._insert_cards(cur, cards)
        return cards

    def past_overrides(self, patient_hash: str, rec_keys: Sequence[str], since: str) -> list[PastOverride]:
        """What ``issue`` would decide on, without recording anything (the explain report)."""
        self._ensure_ready(quick=True)
        with self._tx(quick=True) as cur:
            return self._past(cur, patient_hash, rec_keys, since)

    def _past(self, cur: Any, patient_hash: str, rec_keys: Sequence[str], since: str) -> list[PastOverride]:
        keys = sorted(set(rec_keys))
        cur.execute(
            self._q(
                "SELECT c.rec_key, c.card_uuid, c.evidence_digest, c.indicator, f.reason_system,"
                " f.reason_code, f.outcome_at, f.received_at"
                " FROM feedback f JOIN issued_card c ON c.card_uuid = f.card_uuid"
                f" WHERE c.patient_hash = ? AND c.rec_key IN ({self._in(len(keys))})"
                " AND f.outcome = 'overridden' AND f.received_at >= ? ORDER BY f.outcome_at"
            ),
            (patient_hash, *keys, since),
        )
        return [PastOverride(r[0], r[1], r[2], r[3], r[4], r[5], min(r[6], r[7])) for r in cur.fetchall()]

    def record_issued(self, cards: Sequence[IssuedCard]) -> int:
        """Record cards sent while the store was down (no suppression was decided for them); a card
        already recorded is skipped. Returns how many were new."""
        self._ensure_ready(quick=True)
        with self._tx(quick=True) as cur:  # short waits: it runs beside card calls in the same process
            return self._insert_cards(cur, cards, skip_known=True)

    def _insert_cards(self, cur: Any, cards: Sequence[IssuedCard], skip_known: bool = False) -> int:
        conflict = " ON CONFLICT (card_uuid) DO NOTHING" if skip_known else ""
        rows = [
            (
                c.card_uuid,
                c.service_id,
                c.hook_instance,
                c.issued_at,
                c.patient_hash,
                ",".join(c.rule_ids),
                c.topic,
                c.action,
                c.indicator,
                c.rec_key,
                c.evidence_digest,
                ",".join(c.suggestion_uuids),
                c.suppressed_by,
            )
            for c in cards
        ]
        sql = self._q("INSERT INTO issued_card VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" + conflict)
        if not skip_known:
            cur.executemany(sql, rows)
            return len(rows)
        new = 0
        for row in rows:  # one statement each: rowcount tells new rows from known ones
            cur.execute(sql, row)
            new += max(cur.rowcount, 0)
        return new

    def record_feedback(
        self, service_id: str, items: Sequence[FeedbackItem], received_at: str
    ) -> FeedbackResult:
        """Store every item or none; an item already stored is counted as a duplicate, not an error."""
        self._ensure_ready()
        uuids = sorted({i.card_uuid for i in items})
        with self._tx(durable=True) as cur:
            known: dict[str, set[str]] = {}
            for chunk in _chunks(uuids):
                cur.execute(
                    self._q(
                        "SELECT card_uuid, suggestion_uuids FROM issued_card"
                        " WHERE service_id = ? AND suppressed_by IS NULL"
                        f" AND card_uuid IN ({self._in(len(chunk))})"
                    ),
                    (service_id, *chunk),
                )
                known.update((r[0], set(filter(None, r[1].split(",")))) for r in cur.fetchall())
            problems = _unknown(items, known)
            if problems:
                raise UnknownCards(problems)
            stored = 0
            for item in items:  # one statement each: rowcount tells new rows from duplicates
                cur.execute(
                    self._q(
                        "INSERT INTO feedback (card_uuid, outcome, outcome_at, received_at, reason_system,"
                        " reason_code, has_comment, accepted_suggestions) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (card_uuid, outcome, outcome_at) DO NOTHING"
                    ),
                    (
                        item.card_uuid,
                        item.outcome,
                        item.outcome_at,
                        received_at,
                        item.reason_system,
                        item.reason_code,
                        int(item.has_comment),
                        ",".join(item.accepted_suggestions),
                    ),
                )
                stored += max(cur.rowcount, 0)
        return FeedbackResult(stored, len(items) - stored)

    def feedback_for(self, card_uuids: Sequence[str]) -> list[FeedbackItem]:
        self._ensure_ready()
        out: list[FeedbackItem] = []
        with self._tx(write=False) as cur:
            for chunk in _chunks(sorted(set(card_uuids))):
                cur.execute(
                    self._q(
                        "SELECT card_uuid, outcome, outcome_at, reason_system, reason_code, has_comment,"
                        f" accepted_suggestions FROM feedback WHERE card_uuid IN ({self._in(len(chunk))})"
                        " ORDER BY card_uuid, outcome_at"
                    ),
                    tuple(chunk),
                )
                out += [
                    FeedbackItem(
                        r[0], r[1], r[2], r[3], r[4], bool(r[5]), tuple(filter(None, r[6].split(",")))
                    )
                    for r in cur.fetchall()
                ]
        return out

    def report_rows(self, since: str, until: str) -> list[ReportRow]:
        """Cards issued in [since, until) with their latest feedback (outcome order breaks timestamp ties)."""
        self._ensure_ready()
        with self._tx(write=False) as cur:
            cur.execute(
                self._q(
                    "SELECT c.topic, c.rule_ids, c.card_uuid, c.suppressed_by, f.outcome, f.reason_system,"
                    " f.reason_code FROM issued_card c LEFT JOIN feedback f ON f.card_uuid = c.card_uuid"
                    " WHERE c.issued_at >= ? AND c.issued_at < ?"
                    " ORDER BY c.card_uuid, f.outcome_at, f.id"
                ),
                (since, until),
            )
            latest: dict[str, ReportRow] = {}
            for r in cur.fetchall():
                latest[r[2]] = ReportRow(r[0], r[1], r[2], r[3] is not None, r[4], r[5], r[6])
        return list(latest.values())

    def purge(self, before: str) -> tuple[int, int]:
        """Delete cards issued before ``before`` and their feedback; returns (cards, feedback items)."""
        self._ensure_ready()
        with self._tx() as cur:
            cur.execute(
                self._q(
                    "DELETE FROM feedback"
                    " WHERE card_uuid IN (SELECT card_uuid FROM issued_card WHERE issued_at < ?)"
                ),
                (before,),
            )
            feedback = max(cur.rowcount, 0)
            cur.execute(self._q("DELETE FROM issued_card WHERE issued_at < ?"), (before,))
            cards = max(cur.rowcount, 0)
        return cards, feedback


def _unknown(items: Sequence[FeedbackItem], known: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    for index, item in enumerate(items):
        if item.card_uuid not in known:
            problems.append(f"feedback/{index}/card: card '{item.card_uuid}' was not issued by this service")
            continue
        for sid in item.accepted_suggestions:
            if sid not in known[item.card_uuid]:
                problems.append(
                    f"feedback/{index}/acceptedSuggestions: '{sid}' is not a suggestion of this card"
                )
    return problems
