"""``POST /cds-services/{id}/feedback`` (CDS Hooks 2.0): what clinicians did with each card.

The body is validated against ``schemas/feedback.schema.json`` (every problem reported at once,
400). Items naming a card this service never issued (or a suggestion not on that card) get 422 and
nothing is stored: the request is well-formed but cannot be applied. Otherwise every item is
committed in one transaction before the 200 (repeats of an item are idempotent); a storage
failure answers 503 with ``Retry-After`` so the EHR can retry. Stored strings holding U+0000 are
a 400 (the schema's pattern): PostgreSQL text cannot store it. Cards sent while the store was down
are recorded late (``service.feedback.ledger``): feedback on them is retried after recording them,
and shortly after a store failure an unknown card is a 503 (retry), not a 422.
Authentication and CORS come from app.py's hooks.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from service import metrics
from service.cds_hooks.request import parse_json, validate
from service.cds_hooks.routes import engine, require_json
from service.config import Settings
from service.errors import ApiError, BadRequest, Unavailable
from service.feedback.backends import open_store
from service.feedback.store import FeedbackItem, FeedbackStore, StoreError, UnknownCards, ts

log = logging.getLogger("nmd_cds.feedback")

bp = Blueprint("cds_hooks_feedback", __name__)


class UnknownCard(ApiError):
    status = 422
    code = "unknown_card"


def feedback_store() -> FeedbackStore:
    """The store of the app's card ledger, so cards and feedback share one database."""
    store = getattr(engine().ledger, "store", None)
    if store is None:  # a test or deployment installed another ledger: use the configured store
        settings: Settings = current_app.extensions["nmd_cds_settings"]
        store = current_app.extensions.get("nmd_cds_feedback_store")
        if store is None:
            store = current_app.extensions["nmd_cds_feedback_store"] = open_store(settings)
    return store


def parse_items(data: dict[str, Any]) -> list[FeedbackItem]:
    """Schema-valid JSON to FeedbackItems. The schema already holds the timestamp to a real calendar
    date in years 2..9998 and keeps U+0000 out of every stored string; the conversion to UTC is
    checked again here for callers that skip the schema."""
    items: list[FeedbackItem] = []
    problems: list[str] = []
    for index, raw in enumerate(data["feedback"]):
        try:
            # ts() converts to UTC, which overflows near the limits (0001-01-01T00:00:00+01:00).
            outcome_at = ts(datetime.fromisoformat(raw["outcomeTimestamp"].upper()))
        except (ValueError, OverflowError):
            problems.append(
                f"feedback/{index}/outcomeTimestamp: not a valid date-time between years 1 and 9999 UTC"
            )
            continue
        reason = (raw.get("overrideReason") or {}).get("reason") or {}
        items.append(
            FeedbackItem(
                card_uuid=raw["card"],
                outcome=raw["outcome"],
                outcome_at=outcome_at,
                reason_system=reason.get("system"),
                reason_code=reason.get("code"),
                has_comment=bool((raw.get("overrideReason") or {}).get("userComment")),
                accepted_suggestions=tuple(s["id"] for s in raw.get("acceptedSuggestions", ())),
            )
        )
    if problems:
        raise BadRequest(f"feedback body has {len(problems)} invalid value(s)", problems)
    return items


@bp.post("/cds-services/<service_id>/feedback")
def receive_feedback(service_id: str) -> tuple[Response, int]:
    engine().service(service_id)  # 404 before 415 for an unknown service
    settings: Settings = current_app.extensions["nmd_cds_settings"]
    data = parse_json(require_json(), settings.max_json_depth, settings.max_array_length)
    validate(data, "feedback", "feedback body")
    items = parse_items(data)
    ledger = engine().ledger
    try:
        try:
            result = feedback_store().record_feedback(service_id, items, ts(datetime.now(UTC)))
        except UnknownCards:
            # Cards this process sent while the store was down may still wait in memory: record, retry.
            if not getattr(ledger, "pending", lambda: 0)() or not ledger.flush_pending():  # type: ignore[union-attr]
                raise
            result = feedback_store().record_feedback(service_id, items, ts(datetime.now(UTC)))
    except UnknownCards as exc:
        if getattr(ledger, "recently_failed", lambda: False)() or metrics.pending_cards() > 0:
            # This or another worker may still hold these cards in memory: retryable, not a 422.
            log.warning(
                "feedback deferred: unknown cards shortly after a store failure",
                extra={"service": service_id, "problems": len(exc.problems)},
            )
            raise Unavailable(
                "feedback names cards not yet recorded; nothing was stored, retry later"
            ) from None
        log.info(
            "feedback rejected: unknown cards", extra={"service": service_id, "problems": len(exc.problems)}
        )
        raise UnknownCard(str(exc) + "; nothing was stored", exc.problems[:50]) from None
    except StoreError as exc:
        metrics.store_error("feedback", "record_feedback")
        log.error(
            "feedback not stored: storage failure",
            extra={"service": service_id, "items": len(items), "error": str(exc)},
        )
        raise Unavailable("feedback could not be stored; nothing was recorded, please retry later") from None
    outcomes = Counter(i.outcome for i in items)
    log.info(
        "feedback stored",
        extra={
            "service": service_id,
            "items": len(items),
            "stored": result.stored,
            "duplicates": result.duplicates,
            "outcomes": dict(outcomes),
        },
    )
    return jsonify({"stored": result.stored, "duplicates": result.duplicates}), 200
