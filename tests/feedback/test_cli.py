"""``python -m service feedback report|purge`` through ``cli.main``, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from service.config import Settings
from service.feedback.cli import main
from service.feedback.store import ts
from tests.feedback.helpers import SERVICE, fb, issued, record


def _settings(store) -> Settings:
    if store.dialect == "sqlite":
        return Settings(sqlite_path=str(store.path))
    # The CLI opens its own store from settings; point it at the test schema via search_path.
    return Settings(database_url=f"{store.url}?options=-csearch_path%3D{store.schema}")


@pytest.fixture
def history(store):
    """Spine imaging: 3 shown (1 accepted, 2 overridden), 1 withheld; vitamin D: 1 shown, no feedback;
    plus one card issued long ago."""
    day = datetime(2026, 1, 5, 12, tzinfo=UTC)
    spine = [issued(issued_at=day, suggestions=("s1",)) for _ in range(3)]
    withheld = issued(issued_at=day)
    withheld = withheld.__class__(**{**withheld.__dict__, "suppressed_by": spine[1].card_uuid})
    vit_d = issued(issued_at=day, topic="vitamin-d", rules=("VD-01",))
    old = issued(issued_at=day - timedelta(days=100))
    record(store, *spine, withheld, vit_d, old)
    store.record_feedback(
        SERVICE,
        [
            fb(spine[0].card_uuid, "accepted", code=None, suggestions=("s1",)),
            fb(spine[1].card_uuid, code="already-done-elsewhere"),
            fb(spine[2].card_uuid, code=None),
            fb(old.card_uuid, code="patient-declined"),
        ],
        ts(day),
    )
    return store


def _csv(capsys) -> dict[tuple[str, str], dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    return {(r["topic"], r["rules"]): r for r in rows}


def test_report_csv_over_a_date_range(history, capsys) -> None:
    assert (
        main(["report", "--since", "2026-01-01", "--until", "2026-01-05", "--csv"], _settings(history)) == 0
    )
    rows = _csv(capsys)
    spine = rows[("spine-imaging", "SI-04")]
    assert (spine["issued"], spine["withheld"], spine["accepted"], spine["overridden"]) == (
        "3",
        "1",
        "1",
        "2",
    )
    assert (spine["overridden:already-done-elsewhere"], spine["overridden:(no reason)"]) == ("1", "1")
    assert spine["acceptance_rate"] == "0.3333"
    assert rows[("vitamin-d", "VD-01")]["acceptance_rate"] == "0.0000"
    assert rows[("TOTAL", "")]["issued"] == "4"


@pytest.mark.parametrize(
    "args, total_issued",
    [
        ([], "5"),  # all records
        (["--since", "2026-01-06"], "0"),  # the until bound is inclusive, since excludes earlier days
        (["--until", "2026-01-04"], "1"),
        (["--since", "2026-01-05", "--until", "2026-01-05"], "4"),
    ],
)
def test_report_range(history, capsys, args: list[str], total_issued: str) -> None:
    if "--until" not in args:
        args = [*args, "--until", "2026-01-31"]
    assert main(["report", "--csv", *args], _settings(history)) == 0
    assert _csv(capsys)[("TOTAL", "")]["issued"] == total_issued


def test_report_table(history, capsys) -> None:
    assert main(["report", "--since", "2026-01-05", "--until", "2026-01-05"], _settings(history)) == 0
    out = capsys.readouterr().out
    assert "already-done-elsewhere 1" in out and "33.3%" in out and "spine-imaging" in out


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--since", "2026-13-01"],
        ["report", "--since", "2026-02-01", "--until", "2026-01-01"],
        ["nope"],
    ],
)
def test_usage_errors(tmp_path, args: list[str]) -> None:
    settings = Settings(sqlite_path=str(tmp_path / "fb.sqlite3"))
    try:
        code = main(args, settings)
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2


def test_purge_by_retention(history, capsys) -> None:
    # Issued 2026-01-05 and 100 days earlier; retention counted back from the real now.
    age_recent = (datetime.now(UTC) - datetime(2026, 1, 5, 12, tzinfo=UTC)).days
    assert main(["purge", "--days", str(age_recent + 2)], _settings(history)) == 0
    assert "purged 1 card(s) and 1 feedback item(s)" in capsys.readouterr().out
    assert main(["report", "--csv", "--until", "2099-01-01"], _settings(history)) == 0
    assert _csv(capsys)[("TOTAL", "")]["issued"] == "4"


def test_store_failure_exit_code(capsys) -> None:
    assert main(["report"], Settings(database_url="postgresql://postgres@127.0.0.1:1/test")) == 1
    assert "feedback store error" in capsys.readouterr().err
