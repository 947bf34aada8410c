"""python -m service: every command and option has help text, and --help prints no Markdown."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from service.__main__ import build_parser, main


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the tree, the top level included."""
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def parser_at(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


PATHS = list(commands(build_parser()))


def test_the_tree_has_every_command() -> None:
    assert set(PATHS) >= {
        (),
        ("evaluate",),
        ("thresholds",),
        ("fixtures",),
        ("fixtures", "render"),
        ("fixtures", "list"),
        ("feedback",),
        ("feedback", "report"),
        ("feedback", "purge"),
    }


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "(top)")
def test_every_subcommand_and_option_has_help(path: tuple[str, ...]) -> None:
    parser = parser_at(path)
    assert parser.description, f"python -m service {' '.join(path)} has no description"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: a.help for a in action._choices_actions}
            missing = [name for name in action.choices if not listed.get(name)]
            assert not missing, f"subcommands without help: {missing}"
        else:
            assert action.help and action.help != argparse.SUPPRESS, f"{action.option_strings or action.dest}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "(top)")
def test_help_output_has_no_markdown(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    """What the user sees: the real entry point, the delegated fixtures/feedback parsers included."""
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m service")
    assert "`" not in out and "**" not in out, out
