"""Every `labjoin` command (including those other parts of labjoin register) has help text and is
documented in docs/cli.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from labjoin.cli import cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        yield path, cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)


ALL = list(commands())


def test_there_are_commands() -> None:
    names = {" ".join(p) for p, _ in ALL}
    assert {"schemas", "tables", "describe", "diagram", "shell", "alter", "export", "import", "config",
            "config set", "config set-password", "admin user create", "admin grant", "admin revoke"} <= names


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_command_has_help(path: tuple[str, ...]) -> None:
    cmd = dict(ALL)[path]
    assert (cmd.help or "").strip(), f"`labjoin {' '.join(path)}` has no help text (give it a docstring)"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_command_is_documented(path: tuple[str, ...]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    heading = f"`labjoin {' '.join(path)}`"
    assert heading in text, f"{heading} is not documented in docs/cli.md: add a section for it"


def test_documented_commands_exist() -> None:
    import re

    text = DOCS.read_text(encoding="utf-8")
    known = {" ".join(p) for p, _ in ALL}
    for m in re.finditer(r"^#+ `labjoin ([a-z][a-z -]*)`", text, re.M):
        assert m.group(1).strip() in known, f"docs/cli.md documents `labjoin {m.group(1)}`, which does not exist"
