"""python -m service feedback report|purge: the clinic's report and the retention purge.

``main(argv)`` takes the arguments after ``feedback``; settings come from the environment
(NMD_CDS_*) unless a test passes them. A relative SQLite path means the same absolute file as for the
service (``Settings.sqlite_file``); a missing file is an error, not a new empty database. Exit codes: 0
done, 1 storage failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from service.config import Settings
from service.feedback import report
from service.feedback.backends import open_store
from service.feedback.store import FeedbackStore, StoreError, ts

EPOCH = date(1970, 1, 1)


DESCRIPTION = (
    "Card feedback: the clinic's report and the retention purge. Settings (the database) come from the "
    "NMD_CDS_* environment variables."
)


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the feedback subcommands to ``parser`` (its own, or the subcommand of ``python -m service``)."""
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "report",
        help="cards issued, accepted and overridden per topic and rule",
        description="Cards issued in a range of days, with how many were accepted and overridden (and why), "
        "per topic and rule set.",
    )
    rep.add_argument(
        "--since",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="first day (UTC); default: all records",
    )
    rep.add_argument(
        "--until",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="last day, inclusive; default: today",
    )
    rep.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    purge = sub.add_parser(
        "purge",
        help="delete cards and feedback older than the retention period",
        description="Delete the cards issued before the retention period and their feedback (run it daily).",
    )
    purge.add_argument(
        "--days", type=int, metavar="N", help="retention in days (default: NMD_CDS_RETENTION_DAYS)"
    )
    return parser


def _parser() -> argparse.ArgumentParser:
    return configure(argparse.ArgumentParser(prog="python -m service feedback", description=DESCRIPTION))


def _midnight(day: date) -> str:
    return ts(datetime.combine(day, time(0), tzinfo=UTC))


def main(argv: list[str], settings: Settings | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report" and args.since and args.until and args.until < args.since:
        print("--until is before --since", file=sys.stderr)
        return 2
    settings = settings or Settings.from_env()
    if not settings.database_url and not settings.sqlite_file().exists():
        # Never a silent new, empty database: the service's file is elsewhere (NMD_CDS_SQLITE_PATH).
        print(
            f"feedback store error: no SQLite database at {settings.sqlite_file()} "
            "(set NMD_CDS_SQLITE_PATH to the service's file, or NMD_CDS_DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    # The CLI may scan or delete many rows: no statement timeout here.
    store = open_store(settings, statement_timeout_ms=None)
    try:
        if args.command == "report":
            return _report(store, args)
        return _purge(store, settings, args)
    except StoreError as exc:
        print(f"feedback store error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _report(store: FeedbackStore, args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    since, until = args.since or EPOCH, args.until or today
    if until < since:
        print("--until is before --since", file=sys.stderr)
        return 2
    rows = store.report_rows(_midnight(since), _midnight(until + timedelta(days=1)))
    lines = report.build(rows)
    period = f"{since.isoformat() if args.since else 'from the first record'} to {until.isoformat()}"
    sys.stdout.write(report.as_csv(lines) if args.csv else report.as_text(lines, period))
    return 0


def _purge(store: FeedbackStore, settings: Settings, args: argparse.Namespace) -> int:
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("retention must be at least 1 day", file=sys.stderr)
        return 2
    cutoff = datetime.now(UTC) - timedelta(days=days)
    cards, items = store.purge(ts(cutoff))
    print(
        f"purged {cards} card(s) and {items} feedback item(s) issued before {ts(cutoff)}",
        f"(retention {days} days)",
    )
    return 0
