"""Suppression of overridden advice, with hand-made findings, on both backends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from service.config import Settings
from service.feedback import ledger as ledger_mod
from service.feedback.ledger import FeedbackLedger, create_ledger
from service.feedback.postgres_store import PostgresStore
from service.feedback.store import StoreError, ts
from service.fhir.summary import ActionKind
from service.rules.core import Indicator, Topic
from tests.feedback.helpers import REASONS, SERVICE, card, fb, finding

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _ledger(store, clock: Clock, **kw) -> FeedbackLedger:
    return FeedbackLedger(
        store, b"test-secret", kw.pop("days", 180), kw.pop("critical", 7), clock=clock, **kw
    )


def _call(ledger: FeedbackLedger, f, patient: str = "pat-1") -> list[dict]:
    issued = [(f, card())]
    return ledger.filter_and_record(issued, patient_id=patient, hook_instance="hi-1", service_id=SERVICE)


FIRST = finding()
BASE = dict(
    outcome="overridden",
    code="already-done-elsewhere",
    system=REASONS,
    patient="pat-1",
    later=FIRST,
    days=1,
    indicator=Indicator.WARNING,
)


@pytest.mark.parametrize(
    "name, change, shown",
    [
        ("already done elsewhere, same patient and evidence", {}, False),
        ("patient declined", {"code": "patient-declined"}, False),
        ("not appropriate now", {"code": "not-appropriate-now"}, False),
        ("palliative focus", {"code": "palliative-focus"}, False),
        ("override without a reason", {"code": None}, True),
        ("reason from another code system", {"system": "https://ehr.example/reasons"}, True),
        ("accepted, not overridden", {"outcome": "accepted", "code": None}, True),
        ("another patient", {"patient": "pat-2"}, True),
        ("evidence changed (new fracture)", {"later": finding(evidence_key="fracture:2026-01-01")}, True),
        ("another topic", {"later": finding(topic=Topic.VITAMIN_D)}, True),
        ("same topic, another action", {"later": finding(action=ActionKind.DXA)}, True),
        ("rule set differs, same topic+action", {"later": finding(rule_ids=("SI-04", "BMD-05"))}, False),
        ("179 days later", {"days": 179}, False),
        ("181 days later", {"days": 181}, True),
        ("critical card, 6 days later", {"indicator": Indicator.CRITICAL, "days": 6}, False),
        ("critical card, 8 days later", {"indicator": Indicator.CRITICAL, "days": 8}, True),
    ],
)
def test_override_then_next_call(store, name: str, change: dict, shown: bool) -> None:
    case = {**BASE, **change}
    clock = Clock()
    ledger = _ledger(store, clock)
    first_finding = finding(indicator=case["indicator"])
    [sent] = _call(ledger, first_finding)
    suggestion = sent["suggestions"][0]["uuid"]
    item = fb(
        sent["uuid"],
        case["outcome"],
        at=ts(T0),
        code=case["code"],
        suggestions=(suggestion,) if case["outcome"] == "accepted" else (),
    )
    item = item.__class__(**{**item.__dict__, "reason_system": case["system"] if case["code"] else None})
    store.record_feedback(SERVICE, [item], ts(T0 + timedelta(minutes=1)))
    clock.now = T0 + timedelta(days=case["days"])
    later = case["later"] if "later" in change else first_finding
    assert bool(_call(ledger, later, case["patient"])) is shown, name


def test_client_clock_in_the_future_cannot_extend_suppression(store) -> None:
    clock = Clock()
    ledger = _ledger(store, clock)
    [sent] = _call(ledger, FIRST)
    store.record_feedback(SERVICE, [fb(sent["uuid"], at=ts(T0 + timedelta(days=365)))], ts(T0))
    clock.now = T0 + timedelta(days=181)
    assert _call(ledger, FIRST) != []


@pytest.mark.parametrize("topic_days, shown", [({"spine-imaging": 30}, True), ({"vitamin-d": 30}, False)])
def test_per_topic_suppression_period(store, topic_days: dict, shown: bool) -> None:
    clock = Clock()
    ledger = _ledger(store, clock, topic_days=topic_days)
    [sent] = _call(ledger, FIRST)
    store.record_feedback(SERVICE, [fb(sent["uuid"], at=ts(T0))], ts(T0))
    clock.now = T0 + timedelta(days=31)
    assert bool(_call(ledger, FIRST)) is shown


def test_withheld_card_is_logged_with_reason_and_without_patient_data(store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="nmd_cds.feedback")
    clock = Clock()
    ledger = _ledger(store, clock)
    [sent] = _call(ledger, FIRST, patient="PATIENT-7")
    store.record_feedback(SERVICE, [fb(sent["uuid"], at=ts(T0), code="patient-declined")], ts(T0))
    assert _call(ledger, FIRST, patient="PATIENT-7") == []
    [rec] = [r for r in caplog.records if getattr(r, "event", "") == "card_suppressed"]
    assert (rec.reason, rec.overridden_card, rec.topic) == ("patient-declined", sent["uuid"], "spine-imaging")
    assert all("PATIENT-7" not in str(r.__dict__) for r in caplog.records)


def test_store_holds_no_patient_id_or_clinical_value(store) -> None:
    ledger = _ledger(store, Clock())
    _call(ledger, finding(evidence_key="weight 67.6 kg on 2026-01-02"), patient="PATIENT-SECRET-123")
    with store._tx(write=False) as cur:
        cur.execute("SELECT * FROM issued_card")
        dump = str(cur.fetchall())
    assert "PATIENT-SECRET-123" not in dump and "67.6" not in dump
    assert ledger.patient_hash("PATIENT-SECRET-123") in dump


def test_patient_hash_is_keyed() -> None:
    a = FeedbackLedger(None, b"key-a", 180, 7)  # type: ignore[arg-type]
    b = FeedbackLedger(None, b"key-b", 180, 7)  # type: ignore[arg-type]
    assert a.patient_hash("p") != b.patient_hash("p") and a.patient_hash("p") == a.patient_hash("p")


class FailingStore:
    calls = 0

    def issue(self, *args, **kwargs):
        self.calls += 1
        raise StoreError("disk full")


@pytest.mark.parametrize("store_kind", ["failing", "unreachable postgres"])
def test_storage_failure_never_breaks_the_card_service(store_kind: str, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="nmd_cds.feedback")
    backend = (
        FailingStore()
        if store_kind == "failing"
        else PostgresStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout_s=1)
    )
    ledger = _ledger(backend, Clock())
    issued = [(FIRST, card()), (finding(topic=Topic.VITAMIN_D), card())]
    out = ledger.filter_and_record(issued, patient_id="p", hook_instance="h", service_id=SERVICE)
    assert out == [c for _, c in issued]
    assert [r.event for r in caplog.records] == ["ledger_error"]
    # Backs off: the next call does not touch the failing store again (keeps calls fast).
    assert ledger.filter_and_record(issued, patient_id="p", hook_instance="h", service_id=SERVICE) == out
    if isinstance(backend, FailingStore):
        assert backend.calls == 1


def test_create_ledger_without_secret_warns_and_uses_a_random_key(tmp_path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="nmd_cds.feedback")
    monkeypatch.setattr(ledger_mod, "_process_secret", None)
    settings = Settings(sqlite_path=str(tmp_path / "var" / "fb.sqlite3"), patient_hash_secret="")
    first, second = create_ledger(settings), create_ledger(settings)
    assert [r.event for r in caplog.records] == ["patient_hash_secret_missing"]
    assert first.patient_hash("p") == second.patient_hash("p")  # one key per process
    assert (tmp_path / "var" / "fb.sqlite3").exists()  # created on first start
    first.store.close()
    second.store.close()


def test_silencing_reasons_are_the_cards_override_reasons() -> None:
    from service.cds_hooks.cards import OVERRIDE_REASON_SYSTEM, OVERRIDE_REASONS
    from service.feedback import OVERRIDE_REASON_SYSTEM as FEEDBACK_SYSTEM
    from service.feedback import SILENCING_REASONS

    assert FEEDBACK_SYSTEM == OVERRIDE_REASON_SYSTEM
    assert SILENCING_REASONS <= {r["code"] for r in OVERRIDE_REASONS}
