"""Versioned schema of the feedback store: an ordered list of migrations, applied once each.

Each migration is a tuple of SQL statements written once for both dialects; ``{pk}`` is replaced by
the dialect's auto-increment primary key. Times are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``, see ``store.ts``) in both dialects, so comparisons and range
queries behave identically. Never edit an applied migration: append a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


DIALECT_TOKENS: dict[str, dict[str, str]] = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgres": {"pk": "BIGSERIAL PRIMARY KEY"},
}

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "issued cards and feedback",
        (
            # One row per card sent (or withheld: suppressed_by names the overridden card that silenced it).
            # No patient id, no clinical value: patient_hash and evidence_digest are keyed HMACs.
            """CREATE TABLE issued_card (
                card_uuid TEXT PRIMARY KEY,
                service_id TEXT NOT NULL,
                hook_instance TEXT NOT NULL,
                issued_at TEXT NOT NULL,
                patient_hash TEXT NOT NULL,
                rule_ids TEXT NOT NULL,
                topic TEXT NOT NULL,
                action TEXT NOT NULL,
                indicator TEXT NOT NULL,
                rec_key TEXT NOT NULL,
                evidence_digest TEXT NOT NULL,
                suggestion_uuids TEXT NOT NULL,
                suppressed_by TEXT
            )""",
            "CREATE INDEX issued_card_patient_rec ON issued_card (patient_hash, rec_key)",
            "CREATE INDEX issued_card_issued_at ON issued_card (issued_at)",
            # userComment is free text that may name the patient: only its presence is stored.
            """CREATE TABLE feedback (
                id {pk},
                card_uuid TEXT NOT NULL REFERENCES issued_card (card_uuid),
                outcome TEXT NOT NULL,
                outcome_at TEXT NOT NULL,
                received_at TEXT NOT NULL,
                reason_system TEXT,
                reason_code TEXT,
                has_comment INTEGER NOT NULL,
                accepted_suggestions TEXT NOT NULL,
                CONSTRAINT feedback_item_once UNIQUE (card_uuid, outcome, outcome_at)
            )""",
            "CREATE INDEX feedback_received_at ON feedback (received_at)",
        ),
    ),
)


def statements_for(migration: Migration, dialect: str) -> list[str]:
    tokens = DIALECT_TOKENS[dialect]
    return [s.format(**tokens) for s in migration.statements]


def latest_version() -> int:
    return MIGRATIONS[-1].version
