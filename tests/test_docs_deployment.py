"""docs/deployment.md stays true: it documents every setting, and its units run real commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperfeed.cli import app
from paperfeed.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "deployment.md"


def documented_variables() -> set[str]:
    return set(re.findall(r"\bPAPERFEED_[A-Z_]+[A-Z]\b", DOC.read_text()))


def test_every_setting_is_in_the_configuration_reference():
    missing = {f"PAPERFEED_{name.upper()}" for name in Settings.model_fields} - documented_variables()
    assert not missing, f"document these in docs/deployment.md: {sorted(missing)}"


def test_every_documented_variable_is_a_setting():
    settings = {f"PAPERFEED_{name.upper()}" for name in Settings.model_fields}
    assert documented_variables() <= settings


def unit_commands() -> list[list[str]]:
    lines = re.findall(r"^ExecStart=\S*/paperfeed (.+)$", DOC.read_text(), flags=re.MULTILINE)
    return [shlex.split(line) for line in lines]


def test_the_systemd_units_run_the_server_the_digests_and_the_sync():
    assert [args[:2] for args in unit_commands()] == [["serve", "--host"], ["digest", "run"], ["sync"]]


@pytest.mark.parametrize("args", unit_commands(), ids=lambda args: " ".join(args[:2]))
def test_each_unit_command_and_its_options_exist(args):
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
