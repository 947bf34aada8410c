"""Command line: python -m service <command> (``main`` below; ``build_parser`` describes every command)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from service.config import ConfigError, Settings
from service.knowledge import KnowledgeError


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


def _explain(args: argparse.Namespace) -> int:
    from service.cds_hooks import explain
    from service.cds_hooks.handler import Engine
    from service.errors import ApiError
    from service.feedback.ledger import create_ledger

    settings = Settings.from_env()
    # The ledger of the service's own store, read only: which cards feedback would withhold.
    engine = Engine.create(settings, create_ledger(settings, topic_days=settings.topic_days() or None))
    body = sys.stdin.buffer.read() if args.request == "-" else Path(args.request).read_bytes()
    try:
        doc = engine.explain_body(args.service, body)
    except ApiError as exc:
        print(json.dumps(exc.body(), indent=2))
        print(f"HTTP {exc.status}", file=sys.stderr)
        return 1
    print(
        json.dumps(doc, indent=2, ensure_ascii=False) if args.json else explain.text(doc),
        end="\n" if args.json else "",
    )
    return 0


def _thresholds(args: argparse.Namespace) -> int:
    from datetime import date

    from service.knowledge import load_knowledge
    from service.knowledge.load import HERE

    if args.what == "schema":
        print((HERE / "schemas" / "site.schema.json").read_text(encoding="utf-8"), end="")
        return 0
    settings = Settings.from_env()
    knowledge = load_knowledge(settings.site_file or None)
    for key, t in sorted(knowledge.thresholds(settings.today or date.today()).all().items()):
        flag = " [R]" if t.recalled else ""
        flag += " (site override)" if t.overridden else ""
        print(f"{key}\t{t.text}{flag}\t{'; '.join(c.id for c in t.citations)}")
    return 0


def _knowledge(args: argparse.Namespace) -> int:
    from datetime import date

    from service.knowledge import examples, load_knowledge
    from service.knowledge.publish import catalogue_json, index_html, rule_html

    settings = Settings.from_env()
    knowledge = load_knowledge(settings.site_file or None)
    today = settings.today or date.today()
    if args.what == "examples":
        from service.fixtures.examples import kit_examples

        found = kit_examples(knowledge)
        examples.dump(found)
        print(f"{len(found)} rules have an example card: {examples.PATH}")
        return 0
    out = Path(args.out)
    (out / "rules").mkdir(parents=True, exist_ok=True)
    known = examples.load()
    (out / "index.html").write_text(index_html(knowledge, today), encoding="utf-8")
    for entry in knowledge.catalogue:
        page = rule_html(knowledge, entry.id, today, known.get(entry.id))
        (out / "rules" / f"{entry.id}.html").write_text(page, encoding="utf-8")
    doc = catalogue_json(knowledge, today, known)
    (out / "catalogue.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"rule catalogue ({len(knowledge.catalogue.rules)} rules): {out / 'index.html'}, catalogue.json")
    return 0


DESCRIPTION = """\
NMD CDS service tools.

  evaluate REQUEST.json [--service ID]    print the response the HTTP endpoint would give (same code path)
  explain REQUEST.json [--json]           why each card fired or not; dropped data; codes no value set knows
  fixtures render --today DATE --out DIR  write concrete FHIR Bundles and hook requests for a date
  feedback report|purge ...               feedback statistics for the clinic; retention purge
  thresholds schema|list                  a site file's JSON Schema; the thresholds in force
  knowledge [examples] [--out DIR]        the rule catalogue as HTML pages and JSON, for clinical review

Settings come from the NMD_CDS_* environment variables (see service/config.py)."""


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; ``fixtures`` and ``feedback`` take theirs from their own modules."""
    from service.feedback import cli as feedback_cli
    from service.fixtures import cli as fixtures_cli

    parser = argparse.ArgumentParser(
        prog="python -m service",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser(
        "evaluate",
        help="evaluate a hook request file ('-' for stdin)",
        description="Print the response the HTTP endpoint would give for a hook request (exit 1 when it is "
        "an error, with the HTTP status on stderr).",
    )
    ev.add_argument("request", help="hook request JSON file, or - to read it from stdin")
    ev.add_argument(
        "--service", default="nmd-bone-health", metavar="ID", help="service id (default: nmd-bone-health)"
    )
    ev.set_defaults(func=_evaluate)
    ex = sub.add_parser(
        "explain",
        help="why each card fired or not, for a hook request file ('-' for stdin)",
        description="The same evaluation as the HTTP endpoint, explained: every catalogued rule fired or why "
        "not, the facts the service read, every dropped resource with its reason, and every code no value "
        "set knows (what to add to a site file). It holds patient data: keep it out of logs.",
    )
    ex.add_argument("request", help="hook request JSON file, or - to read it from stdin")
    ex.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    ex.add_argument(
        "--service", default="nmd-bone-health", metavar="ID", help="service id (default: nmd-bone-health)"
    )
    ex.set_defaults(func=_explain)
    fixtures_cli.configure(
        sub.add_parser(
            "fixtures", help="render the integration fixtures", description=fixtures_cli.DESCRIPTION
        )
    )
    feedback_cli.configure(
        sub.add_parser("feedback", help="feedback report / purge", description=feedback_cli.DESCRIPTION)
    )
    th = sub.add_parser(
        "thresholds",
        help="clinical thresholds: the site file schema or the values in force",
        description="schema: the JSON Schema of a site's file (threshold overrides and local codes). "
        "list: every threshold in force with its unit, [R] when the figure was recalled rather than checked "
        "against its source, site overrides, and the ids of its sources.",
    )
    th.add_argument(
        "what", choices=["schema", "list"], help="schema: the site file JSON Schema; list: the values"
    )
    th.set_defaults(func=_thresholds)
    kn = sub.add_parser(
        "knowledge",
        help="write the rule catalogue (HTML pages and JSON) for clinical review",
        description="catalogue: write index.html, rules/<id>.html and catalogue.json (every rule's logic, "
        "thresholds in force, sources, its card and an example). examples: refresh the example cards from "
        "the fixture kit.",
    )
    kn.add_argument(
        "what",
        nargs="?",
        choices=["catalogue", "examples"],
        default="catalogue",
        help="catalogue (default) or examples",
    )
    kn.add_argument(
        "--out", default="knowledge-catalogue", metavar="DIR", help="output folder for the catalogue"
    )
    kn.set_defaults(func=_knowledge)
    return parser


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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KnowledgeError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
