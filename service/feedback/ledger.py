"""The card service's side of feedback: record every card issued, withhold advice already overridden.

A card is withheld when, for the same patient (keyed hash), the same recommendation (service +
topic + action, or the rule set when a finding has no action) was overridden with one of the
card's own override reasons within the suppression window, and the decisive evidence
(``Finding.evidence_key``) is unchanged. Critical cards are withheld at most
``critical_suppression_days``. Each decision is logged without patient data. Any storage failure
is logged and the cards are sent unfiltered: feedback must never break the card service.

Cards sent while the store was down are not forgotten: they wait in memory (``pending``, at most
``PENDING_MAX``) and are recorded as soon as the store answers again — by a background flush every
``FLUSH_EVERY_S`` (never on the card path), and before the feedback endpoint judges a card unknown — so
the feedback clinicians give on them is accepted, not refused as feedback on a card never issued.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from service import metrics
from service.config import Settings
from service.feedback import OVERRIDE_REASON_SYSTEM, SILENCING_REASONS
from service.feedback.backends import open_store
from service.feedback.store import FeedbackStore, IssuedCard, PastOverride, StoreError, ts
from service.rules.core import Finding, Indicator

log = logging.getLogger("nmd_cds.feedback")

RETRY_AFTER_FAILURE_S = 10.0  # after a storage failure, skip the ledger this long: calls stay fast
PENDING_MAX = 50_000  # cards kept in memory while the store is down (oldest dropped beyond, and logged)
FLUSH_EVERY_S = 2.0  # how often a process with pending cards tries to record them
RECENT_FAILURE_S = 60.0  # feedback for an unknown card this soon after a failure gets 503, not 422

_process_secret: bytes | None = None


def patient_hash_key(configured: str) -> bytes:
    """The HMAC key: the configured secret, else one random key per process (suppression then
    does not survive a restart and does not work across worker processes)."""
    global _process_secret
    if configured:
        return configured.encode("utf-8")
    if _process_secret is None:
        _process_secret = secrets.token_bytes(32)
        log.warning(
            "NMD_CDS_PATIENT_HASH_SECRET is empty: using a random per-process key; card suppression will "
            "not survive a restart nor work across worker processes",
            extra={"event": "patient_hash_secret_missing"},
        )
    return _process_secret


def is_silencing(past: PastOverride) -> bool:
    return past.reason_code in SILENCING_REASONS and past.reason_system in (None, OVERRIDE_REASON_SYSTEM)


class FeedbackLedger:
    """Implements ``service.cds_hooks.handler.CardLedger``; ``store`` is shared with the feedback endpoint."""

    def __init__(
        self,
        store: FeedbackStore,
        secret: bytes,
        suppression_days: int,
        critical_suppression_days: int,
        topic_days: Mapping[str, int] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.store = store
        self._secret = secret
        self.suppression_days = suppression_days
        self.critical_suppression_days = critical_suppression_days
        self.topic_days = dict(topic_days or {})
        self.clock = clock
        self._skip_until = 0.0
        self._failed_at = -1e9  # time.monotonic() of the last storage failure
        self._pending: deque[IssuedCard] = deque()
        self._pending_lock = threading.Lock()
        self._flusher_pid = 0

    def _hmac(self, domain: str, value: str) -> str:
        return hmac.new(self._secret, f"{domain}\0{value}".encode(), hashlib.sha256).hexdigest()

    def patient_hash(self, patient_id: str) -> str:
        return self._hmac("patient", patient_id)

    def evidence_digest(self, evidence_key: str) -> str:
        # Keyed too: a plain hash of a short clinical string could be reversed by guessing.
        return self._hmac("evidence", evidence_key)[:32]

    def window_days(self, topic: str, indicator: str) -> int:
        days = self.topic_days.get(topic, self.suppression_days)
        if indicator == Indicator.CRITICAL.value:
            days = min(days, self.critical_suppression_days)
        return max(days, 0)

    def filter_and_record(
        self,
        issued: list[tuple[Finding, dict[str, Any]]],
        *,
        patient_id: str,
        hook_instance: str,
        service_id: str,
    ) -> list[dict[str, Any]]:
        cards = [card for _, card in issued]
        if not issued:
            return cards
        now = self.clock()
        records = [self._record(f, card, patient_id, hook_instance, service_id, now) for f, card in issued]
        if time.monotonic() < self._skip_until:
            self._keep(records)
            return cards
        try:
            longest = max(self.window_days(r.topic, r.indicator) for r in records)
            kept = self.store.issue(
                records[0].patient_hash,
                [r.rec_key for r in records],
                ts(now - timedelta(days=longest)),
                lambda past: self._decide(records, past, now),
            )
        except Exception as exc:  # noqa: BLE001 - any failure: send the cards, log, back off
            self._failed(exc, "issue")
            self._keep(records)
            log.error(
                "card ledger failed: cards sent unfiltered, recorded when the store answers again",
                extra={
                    "event": "ledger_error",
                    "error_type": type(exc).__name__,
                    "service": service_id,
                    "hookInstance": hook_instance,
                    "store_error": isinstance(exc, StoreError),
                },
            )
            return cards
        withheld = {r.card_uuid for r in kept if r.suppressed_by}
        return [card for card in cards if card["uuid"] not in withheld]

    # --- cards issued while the store was down ---------------------------------------------------------

    def pending(self) -> int:
        return len(self._pending)

    def recently_failed(self) -> bool:
        """A storage failure in this process within ``RECENT_FAILURE_S``, or cards still waiting."""
        return bool(self._pending) or time.monotonic() - self._failed_at < RECENT_FAILURE_S

    def _failed(self, exc: Exception, operation: str) -> None:
        self._failed_at = time.monotonic()
        self._skip_until = self._failed_at + RETRY_AFTER_FAILURE_S
        metrics.store_error("feedback", operation)

    def _keep(self, records: list[IssuedCard]) -> None:
        with self._pending_lock:
            overflow = max(0, len(self._pending) + len(records) - PENDING_MAX)
            for _ in range(min(overflow, len(self._pending))):
                self._pending.popleft()
            self._pending.extend(records[-PENDING_MAX:])
            metrics.PENDING.set(len(self._pending))
        if overflow:
            log.error(
                "cards issued while the store is down exceed the memory bound: oldest forgotten",
                extra={"event": "ledger_pending_dropped", "dropped": overflow},
            )
        self._start_flusher()

    def flush_pending(self) -> bool:
        """Record the cards kept while the store was down; True when none is left waiting."""
        with self._pending_lock:
            batch = list(self._pending)
        if not batch:
            return True
        try:
            new = self.store.record_issued(batch)
        except Exception as exc:  # noqa: BLE001 - still down: keep them, back off
            self._failed(exc, "flush")
            return False
        with self._pending_lock:
            for _ in range(min(len(batch), len(self._pending))):
                self._pending.popleft()
            left = len(self._pending)
            metrics.PENDING.set(left)
        log.info(
            "cards issued while the store was down are now recorded",
            extra={"event": "ledger_pending_flushed", "cards": len(batch), "new": new},
        )
        return left == 0

    def _start_flusher(self) -> None:
        """One daemon thread per process (a greenlet under gevent) retrying while cards wait."""
        with self._pending_lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
        flusher = threading.Thread(target=_flush_loop, args=(weakref.ref(self),), daemon=True)
        flusher.start()

    def _record(
        self,
        finding: Finding,
        card: dict[str, Any],
        patient_id: str,
        hook_instance: str,
        service_id: str,
        now: datetime,
    ) -> IssuedCard:
        rules = tuple(finding.rule_ids)
        action = finding.action.value if finding.action is not None else ""
        what = action or "rules:" + "+".join(sorted(rules))
        return IssuedCard(
            card_uuid=card["uuid"],
            service_id=service_id,
            hook_instance=hook_instance,
            issued_at=ts(now),
            patient_hash=self.patient_hash(patient_id),
            rule_ids=rules,
            topic=finding.topic.value,
            action=action,
            indicator=finding.indicator.value,
            rec_key=f"{service_id}|{finding.topic.value}|{what}",
            evidence_digest=self.evidence_digest(finding.evidence_key),
            suggestion_uuids=tuple(s["uuid"] for s in card.get("suggestions", ())),
        )

    def would_suppress(
        self, issued: list[tuple[Finding, dict[str, Any]]], *, patient_id: str, service_id: str
    ) -> dict[str, str] | None:
        """Which of these cards feedback would withhold, and why ({card uuid: why}); records and logs
        nothing (the explain report). None when the store cannot answer."""
        if not issued:
            return {}
        now = self.clock()
        records = [self._record(f, card, patient_id, "", service_id, now) for f, card in issued]
        longest = max(self.window_days(r.topic, r.indicator) for r in records)
        try:
            past = self.store.past_overrides(
                records[0].patient_hash, [r.rec_key for r in records], ts(now - timedelta(days=longest))
            )
        except Exception:  # noqa: BLE001 - the report says the check could not be made
            return None
        out = {}
        for rec in records:
            same, _ = self._matches(rec, past, now)
            if same:
                hit = same[-1]
                out[rec.card_uuid] = (
                    f"overridden ({hit.reason_code}) on {hit.overridden_at[:10]} with the same evidence: "
                    f"withheld for {self.window_days(rec.topic, rec.indicator)} days"
                )
        return out

    def _matches(
        self, rec: IssuedCard, past: list[PastOverride], now: datetime
    ) -> tuple[list[PastOverride], list[PastOverride]]:
        """Silencing overrides of this recommendation within its window: with the same evidence, and all."""
        start = ts(now - timedelta(days=self.window_days(rec.topic, rec.indicator)))
        relevant = [
            p for p in past if p.rec_key == rec.rec_key and is_silencing(p) and p.overridden_at >= start
        ]
        return [p for p in relevant if p.evidence_digest == rec.evidence_digest], relevant

    def _decide(self, records: list[IssuedCard], past: list[PastOverride], now: datetime) -> list[IssuedCard]:
        out: list[IssuedCard] = []
        for rec in records:
            days = self.window_days(rec.topic, rec.indicator)
            same, relevant = self._matches(rec, past, now)
            event = {
                "service": rec.service_id,
                "hookInstance": rec.hook_instance,
                "topic": rec.topic,
                "rules": list(rec.rule_ids),
                "indicator": rec.indicator,
                "window_days": days,
            }
            if same:
                hit = same[-1]  # the most recent override
                out.append(replace(rec, suppressed_by=hit.card_uuid))
                log.info(
                    "card suppressed: overridden earlier for this patient, evidence unchanged",
                    extra={
                        **event,
                        "event": "card_suppressed",
                        "reason": hit.reason_code,
                        "overridden_card": hit.card_uuid,
                        "overridden_at": hit.overridden_at,
                    },
                )
            else:
                if relevant:
                    log.info(
                        "card shown again: overridden earlier but the evidence changed",
                        extra={
                            **event,
                            "event": "card_evidence_changed",
                            "overridden_card": relevant[-1].card_uuid,
                        },
                    )
                out.append(rec)
        return out


def create_ledger(settings: Settings, topic_days: Mapping[str, int] | None = None) -> FeedbackLedger:
    """The ledger ``create_app`` installs. The schema is created now if the database answers; if not,
    the error is logged and creation is retried on first use (the service still starts). The
    migration's connection is closed at once: with gunicorn's ``preload_app`` this runs in the
    master, and a connection inherited across fork would be shared by every worker (SQLite advises
    against it; PostgreSQL would interleave one socket). Each worker then connects on first use."""
    store = open_store(settings)
    if not settings.database_url:  # the absolute file, so an operator can point the CLI at the same one
        path = str(settings.sqlite_file())
        logging.getLogger("nmd_cds.startup").info(
            "feedback store: SQLite", extra={"event": "store_sqlite", "path": path}
        )
    try:
        store.migrate()
    except StoreError as exc:
        log.error(
            "feedback store not ready; will retry on first use",
            extra={"event": "store_migrate_failed", "error": str(exc)},
        )
    finally:
        store.close()
    if settings.retention_days < max(settings.suppression_days, settings.critical_suppression_days):
        log.warning(
            "retention_days is shorter than suppression_days: purged overrides stop suppressing early",
            extra={"event": "retention_shorter_than_suppression"},
        )
    return FeedbackLedger(
        store,
        patient_hash_key(settings.patient_hash_secret),
        settings.suppression_days,
        settings.critical_suppression_days,
        topic_days,
    )


def _flush_loop(ref: weakref.ref[FeedbackLedger]) -> None:
    """Retry until no card waits; ends too when the ledger is gone (a weak reference: tests make many)."""
    while True:
        time.sleep(FLUSH_EVERY_S)
        ledger = ref()
        if ledger is None:
            return
        if time.monotonic() >= ledger._skip_until and ledger.flush_pending():
            with ledger._pending_lock:
                if not ledger._pending:  # a card kept meanwhile starts a new loop
                    ledger._flusher_pid = 0
                    return
        del ledger
