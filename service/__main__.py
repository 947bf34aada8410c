"""Command line: ``python -m service <command>``.

evaluate REQUEST.json [--service ID]    print the response the HTTP endpoint would give (same code path)
fixtures render --today DATE --out DIR  write concrete FHIR Bundles and hook requests for a date
feedback report|purge ...               feedback statistics for the clinic; retention purge
thresholds schema|list                  JSON Schema of the institution's thresholds file; the defaults
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.config import ConfigError, Settings
from service.rules.thresholds import ThresholdError


def _evaluate(args: argparse.Namespace) -> int:
    from service.cds_hooks.handler import Engine
    from service.errors import ApiError

    engine = Engine.create(Settings.from_env())
    body = sys.stdin.buffer.read() if args.request == "-" else Path(args.request).read_bytes()
    try:
        response, status = engine.handle_body(args.service, body), 200
    except ApiError as exc:
        response, status = exc.body(), exc.status
    print(json.dumps(response, indent=2))
    if status != 200:
        print(f"HTTP {status}", file=sys.stderr)
        return 1
    return 0


def _thresholds(args: argparse.Namespace) -> int:
    from service.rules.thresholds import load_thresholds, overrides_schema

    if args.what == "schema":
        print(json.dumps(overrides_schema(), indent=2))
        return 0
    for key, t in sorted(load_thresholds(Settings.from_env().thresholds_file or None).items()):
        flag = " [R]" if t.recalled else ""
        print(f"{key}\t{t.value:g} {t.unit}{flag}\t{'; '.join(c.key for c in t.citations)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2


def _main(argv: list[str]) -> int:
    if argv[:1] == ["feedback"]:
        from service.feedback.cli import main as feedback_main

        return feedback_main(argv[1:])
    if argv[:1] == ["fixtures"]:
        from service.fixtures.cli import main as fixtures_main

        return fixtures_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m service", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="evaluate a hook request file ('-' for stdin)")
    ev.add_argument("request")
    ev.add_argument("--service", default="nmd-bone-health")
    ev.set_defaults(func=_evaluate)
    th = sub.add_parser("thresholds", help="clinical thresholds: the overrides schema or the values in force")
    th.add_argument("what", choices=["schema", "list"])
    th.set_defaults(func=_thresholds)
    sub.add_parser(
        "fixtures", help="render the integration fixtures (see: python -m service fixtures --help)"
    )
    sub.add_parser("feedback", help="feedback report / purge (see: python -m service feedback --help)")
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ThresholdError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
