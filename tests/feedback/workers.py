"""Child-process bodies for the concurrency and crash tests (importable, so 'spawn' can run them)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from tests.feedback.helpers import fb, issued, record


def post_items(spec: Any, card_uuids: list[str], stamps: list[str]) -> list[tuple[str, str]]:
    """Post one feedback item per card, each its own transaction; return the acknowledged keys."""
    store = spec.open()
    acked: list[tuple[str, str]] = []
    try:
        for card_uuid, at in zip(card_uuids, stamps, strict=True):
            store.record_feedback("nmd-bone-health", [fb(card_uuid, at=at)], "2026-01-05T10:00:00.000000Z")
            acked.append((card_uuid, at))
    finally:
        store.close()
    return acked


def write_forever(spec: Any, ack_path: str) -> None:
    """Issue a card, then post feedback for it, for ever; append each committed id to ``ack_path``."""
    store = spec.open()
    fd = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    for _ in range(1_000_000):
        card = issued(card_uuid=str(uuid.uuid4()))
        record(store, card)
        os.write(fd, f"card {card.card_uuid}\n".encode())
        store.record_feedback("nmd-bone-health", [fb(card.card_uuid)], "2026-01-05T10:00:00.000000Z")
        os.write(fd, f"feedback {card.card_uuid}\n".encode())
