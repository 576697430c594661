"""What a GitHub runner gives a step, as plain data: the variables of a release-triggered run,
its event payload, and the file-command format. No dependencies beyond the standard library, so
that the demo (which has only the action's own packages) and the suite share one copy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The variables a runner sets for every step of a job (values of a release-triggered run).
RUNNER_ENV: Mapping[str, str] = {
    "CI": "true",
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_REF": "refs/tags/v1.2.3",
    "GITHUB_REF_NAME": "v1.2.3",
    "GITHUB_WORKFLOW": "Release",
    "GITHUB_JOB": "deploy",
    "GITHUB_RUN_ID": "987654321",
    "GITHUB_RUN_NUMBER": "42",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_EVENT_NAME": "release",
    "GITHUB_SERVER_URL": "https://github.com",
    "RUNNER_OS": "Linux",
    "LAST9_INSTANT_RETRIES": "true",
}

RELEASE_EVENT: Mapping[str, Any] = {
    "action": "published",
    "release": {
        "tag_name": "v1.2.3",
        "name": "Shop 1.2.3",
        "html_url": "https://github.com/acme/shop/releases/tag/v1.2.3",
    },
}


def read_file_command(path: Path) -> dict[str, str]:
    """Parse a ``GITHUB_OUTPUT``/``GITHUB_STATE``/``GITHUB_ENV`` file the way the runner does.

    Lines are ``name=value`` or the multi-line form ``name<<DELIMITER`` ... ``DELIMITER``.
    A later value for the same name wins.
    """
    return parse_file_command(path.read_text(encoding="utf-8"), str(path))


def parse_file_command(text: str, source: str = "file command") -> dict[str, str]:
    """Parse the text of a file-command file (see ``read_file_command``); ``source`` names it in
    errors."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc != -1 and (eq == -1 or heredoc < eq):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"{source}: no closing {delimiter!r} for {name!r}")
            i += 1
            values[name] = "\n".join(body)
        elif eq != -1:
            values[line[:eq]] = line[eq + 1 :]
        else:
            raise ValueError(f"{source}: not a file-command line: {line!r}")
    return values
