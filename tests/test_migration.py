"""The README's move from last9/deployment-marker-action maps every input, output and attribute.

That action's ``action.yml`` and ``src/attribute-collector.ts`` are kept, with its MIT licence,
in ``tests/fixtures/deployment-marker-action/`` (``SOURCE.md`` names the commit). A new input,
output or attribute there that the README's tables do not map fails these tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
import yaml

from tests.runner import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "deployment-marker-action"
THEIRS: dict[str, Any] = yaml.safe_load((FIXTURE / "action.yml").read_text(encoding="utf-8"))
OURS: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
MIGRATION = "Moving from last9/deployment-marker-action"
_ROW = re.compile(r"^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|(.*)\|\s*$")
_CODE = re.compile(r"`([^`]+)`")


def section(heading: str) -> str:
    """The README's text under ``## heading``, up to the next ``## `` heading."""
    return README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def table(subheading: str) -> dict[str, list[str]]:
    """The rows of the migration section's table under ``### subheading``: their name (the first
    cell) to the other cells."""
    text = section(MIGRATION).split(f"\n### {subheading}\n", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is mapped twice"
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def unmapped(declared: Iterable[str], rows: Mapping[str, list[str]]) -> list[str]:
    """What ``declared`` holds that the table's rows do not map."""
    return [name for name in declared if name not in rows]


def collected_attributes() -> list[str]:
    """The attribute keys its ``collectAttributes`` sets, in order."""
    source = (FIXTURE / "attribute-collector.ts").read_text(encoding="utf-8")
    return list(dict.fromkeys(re.findall(r"attributes\['([A-Za-z0-9_]+)'\]\s*=", source)))


def named(cell: str) -> list[str]:
    """The names a "here" cell gives, in backticks; none for ``none``."""
    return [] if cell == "none" else _CODE.findall(cell)


@pytest.mark.parametrize(
    ("subheading", "declared"),
    [
        ("Its inputs", list(THEIRS["inputs"])),
        ("Its outputs", list(THEIRS["outputs"])),
        ("Its attributes", collected_attributes()),
    ],
    ids=["inputs", "outputs", "attributes"],
)
def test_everything_it_declares_is_mapped(subheading: str, declared: list[str]) -> None:
    """Each input and output of its action.yml, and each attribute it sets, has its row, in its
    order, and no row maps something it does not have."""
    assert declared
    rows = table(subheading)
    assert unmapped(declared, rows) == []
    assert list(rows) == declared


def test_an_input_it_gains_is_caught() -> None:
    """An input added to its action.yml and not to the README is reported as unmapped."""
    rows = table("Its inputs")
    gained = [*THEIRS["inputs"], "an_input_not_mapped"]
    assert unmapped(gained, rows) == ["an_input_not_mapped"]


@pytest.mark.parametrize(
    ("subheading", "ours"),
    [("Its inputs", list(OURS["inputs"])), ("Its outputs", list(OURS["outputs"]))],
    ids=["inputs", "outputs"],
)
def test_each_row_names_what_stands_for_it_here(subheading: str, ours: list[str]) -> None:
    """The "here" cell names our inputs (or outputs) that exist, or says `none`; the last cell
    says what changes."""
    for name, (here, changes) in table(subheading).items():
        assert here == "none" or named(here), name
        assert set(named(here)) <= set(ours), name
        assert changes, name


def test_each_attribute_maps_to_one_the_readme_documents() -> None:
    """Every attribute named as its replacement is one "What is sent" lists."""
    prose = re.sub(r"^```.*?^```", "", section("What is sent"), flags=re.MULTILINE | re.DOTALL)
    sent = set(_CODE.findall(prose))
    for name, (here, changes) in table("Its attributes").items():
        assert named(here), name
        assert set(named(here)) <= sent, name
        assert changes, name


def test_both_environment_keys_replace_its_env() -> None:
    """Its `env` maps to our `environment` input and to both environment attributes."""
    assert named(table("Its inputs")["env"][0]) == ["environment"]
    assert named(table("Its attributes")["env"][0]) == ["env", "deployment_environment"]


def test_the_fixture_keeps_its_licence_and_source() -> None:
    """The vendored files carry their MIT notice and the commit they were taken from, which the
    README names too."""
    licence = (FIXTURE / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert "Copyright (c) 2026 Last9 Inc." in licence
    source = (FIXTURE / "SOURCE.md").read_text(encoding="utf-8")
    [commit] = re.findall(r"`([0-9a-f]{40})`", source)
    assert f"`{commit[:8]}`" in section(MIGRATION)
