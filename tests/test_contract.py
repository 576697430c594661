"""action.yml, the code's defaults and the README's tables say the same thing."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from last9_change_event.core.inputs import DEFAULTS, SPECS, Spec
from tests.fake_last9 import FakeLast9
from tests.runner import ROOT, Job

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_table(heading: str) -> dict[str, list[str]]:
    """The rows of the README table under ``heading``: first cell (a `name`) to the other cells."""
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*`([a-z-]+)`\s*\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_action_yml_declares_every_input_the_code_reads() -> None:
    """The inputs of action.yml and of the code are the same, in the same order."""
    assert list(ACTION["inputs"]) == [spec.name for spec in SPECS]


@pytest.mark.parametrize("name", list(DEFAULTS), ids=str)
def test_defaults_agree(name: str) -> None:
    """Each input's action.yml default is the default the code applies."""
    assert str(ACTION["inputs"][name].get("default", "")) == DEFAULTS[name]


def test_only_org_is_required() -> None:
    """`org` is the one required input."""
    required = [name for name, spec in ACTION["inputs"].items() if spec.get("required")]
    assert required == ["org"]


def test_runs_as_a_docker_action_with_a_post_step() -> None:
    """The action runs the Dockerfile, with the post step the image provides."""
    runs = ACTION["runs"]
    assert runs["using"] == "docker"
    assert runs["image"] == "Dockerfile"
    assert runs["post-entrypoint"] == "/action/post.py"
    instructions = [
        line.split()
        for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("COPY ")
    ]
    assert any("post.py" in words[1:-1] and words[-1] == "/action/" for words in instructions)


def test_outputs_are_the_ones_a_sent_event_writes(fake: FakeLast9, job: Job) -> None:
    """Every output in action.yml is written by a sent event, and nothing else is."""
    result = job.run(
        {"org": "acme", "refresh-token": fake.mint("refresh", ttl=None), "api-url": fake.url}
    )
    assert set(result.outputs) == set(ACTION["outputs"])


def test_readme_inputs_table_matches_action_yml() -> None:
    """The README's inputs table lists every input once, with action.yml's default."""
    rows = readme_table("Inputs")
    assert list(rows) == list(ACTION["inputs"])
    for name, cells in rows.items():
        default = str(ACTION["inputs"][name].get("default", ""))
        shown = cells[0].strip("`")
        required = ACTION["inputs"][name].get("required", False)
        assert shown == (default or ("required" if required else "")), name


def test_readme_outputs_table_matches_action_yml() -> None:
    """The README's outputs table lists every output of action.yml."""
    assert list(readme_table("Outputs")) == list(ACTION["outputs"])


def test_the_action_sends_the_default_attributes(fake: FakeLast9, job: Job) -> None:
    """After the GitHub context (which ends with `ci_provider`), a start carries `service_name`,
    the environment under both of Last9's keys with one value, and `deployment_id`; its stop adds
    `duration_seconds` and `outcome`; the README's "What is sent" names every key sent."""
    token = fake.mint("refresh", ttl=None)
    inputs = {"org": "acme", "refresh-token": token, "api-url": fake.url}
    job.run({**inputs, "environment": "production"})
    job.run({**inputs, "environment": "production", "event-state": "stop", "outcome": "success"})
    start, stop = (event["attributes"] for event in fake.events())
    defaults = ["service_name", "deployment_environment", "env", "deployment_id"]
    for attributes, tail in ((start, defaults), (stop, [*defaults, "duration_seconds", "outcome"])):
        keys = list(attributes)
        assert keys[keys.index("ci_provider") + 1 :] == tail
        assert attributes["deployment_environment"] == attributes["env"] == "production"
        assert attributes["service_name"] == "shop"
    assert stop["outcome"] == "success"
    assert stop["duration_seconds"].isdigit()
    documented = README.split("## What is sent\n", 1)[1].split("\n## ", 1)[0]
    for key in {*start, *stop}:
        assert f"`{key}`" in documented, key


def test_readme_inputs_table_lists_the_table_of_inputs() -> None:
    """The README's inputs table has a row for each row of the code's table, in its order."""
    assert list(readme_table("Inputs")) == [spec.name for spec in SPECS]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_each_input_says_how_the_command_line_takes_it(spec: Spec) -> None:
    """Each row has a flag with its help, or says why the command line has none."""
    if spec.flag is None:
        assert spec.row.why_no_flag
    else:
        assert spec.row.help
