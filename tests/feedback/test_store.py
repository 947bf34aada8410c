"""The store contract, run identically against SQLite and PostgreSQL (see conftest ``store_spec``)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.feedback.migrations import latest_version
from service.feedback.postgres_store import PostgresStore
from service.feedback.sqlite_store import SqliteStore
from service.feedback.store import StoreError, UnknownCards, ts
from tests.feedback.helpers import SERVICE, fb, issued, record

NOW = "2026-01-05T10:00:00.000000Z"


def _migrate(spec: object) -> int:
    store = spec.open()  # type: ignore[attr-defined]
    try:
        return store.migrate()
    finally:
        store.close()


def test_migrations_are_versioned_and_idempotent(store) -> None:
    assert store.migrate() == latest_version()
    with store._tx(write=False) as cur:
        cur.execute("SELECT version FROM schema_version")
        assert [r[0] for r in cur.fetchall()] == [latest_version()]


def test_concurrent_first_start_migrates_once(store_spec) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_migrate, [store_spec] * 4) == [latest_version()] * 4
    store = store_spec.open()
    with store._tx(write=False) as cur:
        cur.execute("SELECT COUNT(*) FROM schema_version")
        assert cur.fetchone()[0] == len({latest_version()})
    store.close()


def test_sqlite_file_and_parent_directory_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there.sqlite3"
    store = SqliteStore(path)
    store.migrate()
    store.close()
    assert path.exists()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_round_trip(store) -> None:
    card = issued(suggestions=("s-1", "s-2"))
    record(store, card)
    items = [
        fb(card.card_uuid, "accepted", code=None, suggestions=("s-2",)),
        fb(card.card_uuid, "overridden", at="2026-01-06T00:00:00.000000Z", code="patient-declined"),
    ]
    assert store.record_feedback(SERVICE, items, NOW).stored == 2
    assert store.feedback_for([card.card_uuid]) == items


@pytest.mark.parametrize(
    "first, second, stored, duplicates",
    [
        ("2026-01-05T10:00:00.000000Z", "2026-01-05T10:00:00.000000Z", 0, 1),  # resubmitted: idempotent
        ("2026-01-05T10:00:00.000000Z", "2026-01-05T10:00:01.000000Z", 1, 0),  # reported again later: new
    ],
)
def test_resubmission(store, first: str, second: str, stored: int, duplicates: int) -> None:
    card = issued()
    record(store, card)
    store.record_feedback(SERVICE, [fb(card.card_uuid, at=first)], NOW)
    result = store.record_feedback(SERVICE, [fb(card.card_uuid, at=second)], NOW)
    assert (result.stored, result.duplicates) == (stored, duplicates)
    assert len(store.feedback_for([card.card_uuid])) == 1 + stored


def test_duplicate_inside_one_batch_is_stored_once(store) -> None:
    card = issued()
    record(store, card)
    result = store.record_feedback(SERVICE, [fb(card.card_uuid)] * 3, NOW)
    assert (result.stored, result.duplicates) == (1, 2)


@pytest.mark.parametrize(
    "case, problem",
    [
        ("never issued", "was not issued by this service"),
        ("other service", "was not issued by this service"),
        ("withheld card", "was not issued by this service"),
        ("foreign suggestion", "is not a suggestion of this card"),
    ],
)
def test_feedback_for_cards_not_issued_is_rejected_and_nothing_stored(store, case: str, problem: str) -> None:
    good = issued(suggestions=("s-1",))
    record(store, good)
    bad_uuid = "9368d37b-283f-44a0-93ea-547cebab93ed"
    suggestions: tuple[str, ...] = ()
    if case == "other service":
        other = issued(card_uuid=bad_uuid)
        store.issue(
            "p1",
            [other.rec_key],
            NOW,
            lambda past: [other.__class__(**{**other.__dict__, "service_id": "other"})],
        )
    elif case == "withheld card":
        withheld = issued(card_uuid=bad_uuid)
        record(store, withheld.__class__(**{**withheld.__dict__, "suppressed_by": good.card_uuid}))
    elif case == "foreign suggestion":
        bad_uuid, suggestions = good.card_uuid, ("s-999",)
    batch = [
        fb(good.card_uuid, "accepted", code=None, suggestions=("s-1",)),
        fb(bad_uuid, "accepted", code=None, suggestions=suggestions or ("s-1",)),
    ]
    with pytest.raises(UnknownCards) as info:
        store.record_feedback(SERVICE, batch, NOW)
    assert len(info.value.problems) == 1 and problem in info.value.problems[0]
    assert info.value.problems[0].startswith("feedback/1/")
    assert store.feedback_for([good.card_uuid, bad_uuid]) == []  # all or nothing


def test_issue_reads_past_overrides_of_that_patient_and_recommendation_only(store) -> None:
    mine, other_patient, other_topic = issued(), issued(patient_hash="p2"), issued(topic="vitamin-d")
    record(store, mine, other_patient, other_topic)
    store.record_feedback(SERVICE, [fb(c.card_uuid) for c in (mine, other_patient, other_topic)], NOW)
    seen = []
    new = issued()
    store.issue("p1", [new.rec_key], "2026-01-01T00:00:00.000000Z", lambda past: seen.extend(past) or [new])
    assert [p.card_uuid for p in seen] == [mine.card_uuid]
    assert seen[0].overridden_at == "2026-01-05T10:00:00.000000Z"
    assert seen[0].reason_code == "already-done-elsewhere"


@pytest.mark.parametrize(
    "since, found", [("2026-01-05T09:59:59.000000Z", 1), ("2026-01-05T10:00:01.000000Z", 0)]
)
def test_issue_window_start(store, since: str, found: int) -> None:
    card = issued()
    record(store, card)
    store.record_feedback(SERVICE, [fb(card.card_uuid)], NOW)
    seen = []
    store.issue("p1", [card.rec_key], since, lambda past: seen.extend(past) or [])
    assert len(seen) == found


def test_purge_removes_old_cards_and_their_feedback(store) -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    old, new = issued(issued_at=now - timedelta(days=800)), issued(issued_at=now - timedelta(days=10))
    record(store, old, new)
    store.record_feedback(SERVICE, [fb(old.card_uuid), fb(new.card_uuid)], NOW)
    assert store.purge(ts(now - timedelta(days=730))) == (1, 1)
    assert [i.card_uuid for i in store.feedback_for([old.card_uuid, new.card_uuid])] == [new.card_uuid]
    assert store.purge(ts(now - timedelta(days=730))) == (0, 0)


def test_report_rows_use_latest_outcome_within_range(store) -> None:
    day = datetime(2026, 1, 5, 12, tzinfo=UTC)
    a, b, outside = issued(issued_at=day), issued(issued_at=day), issued(issued_at=day - timedelta(days=40))
    record(store, a, b, outside)
    store.record_feedback(
        SERVICE,
        [
            fb(a.card_uuid, at="2026-01-05T13:00:00.000000Z"),
            fb(a.card_uuid, "accepted", at="2026-01-05T14:00:00.000000Z", code=None),
        ],
        NOW,
    )
    rows = {
        r.card_uuid: r
        for r in store.report_rows("2026-01-01T00:00:00.000000Z", "2026-01-06T00:00:00.000000Z")
    }
    assert set(rows) == {a.card_uuid, b.card_uuid}
    assert (rows[a.card_uuid].outcome, rows[b.card_uuid].outcome) == ("accepted", None)


def test_unreachable_postgres_is_a_store_error() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout_s=1)
    with pytest.raises(StoreError, match="unavailable"):
        store.migrate()


def test_unusable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError):
        SqliteStore(tmp_path / "file" / "db.sqlite3").migrate()
