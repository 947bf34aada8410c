"""The feedback store interface and its records; the SQL behind it is in ``sql_store``.

One small interface (``FeedbackStore``): ``issue`` (read past overrides and record the cards of one
service call in one short transaction), ``record_feedback`` (all items of one POST committed
together, idempotently), ``report_rows``, ``purge``. ``open_store(settings)`` picks PostgreSQL when
``database_url`` is set, SQLite otherwise. Driver errors become ``StoreError`` so callers can answer
503 (feedback) or degrade gracefully (card service).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


def ts(moment: datetime) -> str:
    """Fixed-width UTC text: sorts like the instants it stands for, identical in both backends."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StoreError(Exception):
    """The database failed (unreachable, locked too long, disk full...). The caller may retry."""


class UnknownCards(Exception):
    """Feedback names cards (or suggestions) this service never issued; nothing was stored."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} feedback item(s) refer to cards this service did not issue")
        self.problems = problems


@dataclass(frozen=True)
class IssuedCard:
    card_uuid: str
    service_id: str
    hook_instance: str
    issued_at: str
    patient_hash: str
    rule_ids: tuple[str, ...]
    topic: str
    action: str
    indicator: str
    rec_key: str  # same service + topic + action (or rule set): "the same recommendation"
    evidence_digest: str
    suggestion_uuids: tuple[str, ...] = ()
    suppressed_by: str | None = None  # uuid of the overridden card that silenced this one


@dataclass(frozen=True)
class FeedbackItem:
    card_uuid: str
    outcome: str  # accepted | overridden
    outcome_at: str  # normalised with ts(): the idempotency key is (card_uuid, outcome, outcome_at)
    reason_system: str | None = None
    reason_code: str | None = None
    has_comment: bool = False
    accepted_suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PastOverride:
    """An override of an earlier card for the same patient and recommendation."""

    rec_key: str
    card_uuid: str
    evidence_digest: str
    indicator: str
    reason_system: str | None
    reason_code: str | None
    overridden_at: str  # the earlier of outcomeTimestamp and reception: a client clock cannot extend it


@dataclass(frozen=True)
class FeedbackResult:
    stored: int
    duplicates: int


@dataclass(frozen=True)
class ReportRow:
    topic: str
    rule_ids: str
    card_uuid: str
    suppressed: bool
    outcome: str | None  # the card's latest outcome, None without feedback
    reason_system: str | None
    reason_code: str | None


Decide = Callable[[list[PastOverride]], list[IssuedCard]]


class FeedbackStore(Protocol):
    def migrate(self) -> int: ...
    def issue(
        self, patient_hash: str, rec_keys: Sequence[str], since: str, decide: Decide
    ) -> list[IssuedCard]: ...
    def record_feedback(
        self, service_id: str, items: Sequence[FeedbackItem], received_at: str
    ) -> FeedbackResult: ...
    def past_overrides(
        self, patient_hash: str, rec_keys: Sequence[str], since: str
    ) -> list[PastOverride]: ...
    def record_issued(self, cards: Sequence[IssuedCard]) -> int: ...
    def feedback_for(self, card_uuids: Sequence[str]) -> list[FeedbackItem]: ...
    def report_rows(self, since: str, until: str) -> list[ReportRow]: ...
    def purge(self, before: str) -> tuple[int, int]: ...
    def ping(self) -> None: ...
    def close(self) -> None: ...
