"""Lint the YAML snippets of the README and docs/: each must parse, and each workflow-shaped one
(with ``on:`` and ``jobs:``) must pass actionlint, like the repository's own workflows.

    python scripts/lint_snippets.py ACTIONLINT SHELLCHECK FILE.md...

One line per problem, ``FILE:LINE: message``; exit 1 if there is any.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

FENCE = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def snippets(path: Path) -> list[tuple[int, str]]:
    """Every ```yaml block of a Markdown file: (line of its first YAML line, text)."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def problems(path: Path, actionlint: str, shellcheck: str) -> list[str]:
    """What is wrong with the snippets of one file."""
    found: list[str] = []
    for line, text in snippets(path):
        where = f"{path}:{line}"
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            found.append(f"{where}: does not parse as YAML: {error}")
            continue
        # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
        if isinstance(document, dict) and "jobs" in document and ({"on", True} & document.keys()):
            with tempfile.TemporaryDirectory() as tmp:
                workflow = Path(tmp) / "snippet.yml"
                workflow.write_text(text, encoding="utf-8")
                done = subprocess.run(
                    [actionlint, "-no-color", "-shellcheck", shellcheck, str(workflow)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
            if done.returncode != 0:
                report = done.stdout.replace(str(workflow), "snippet")
                found.append(f"{where}: actionlint:\n{report.rstrip()}")
    return found


def main(argv: list[str]) -> int:
    """Lint the files named after the two tool paths."""
    actionlint, shellcheck, *files = argv
    found = [p for name in files for p in problems(Path(name), actionlint, shellcheck)]
    for problem in found:
        print(problem)
    count = sum(len(snippets(Path(name))) for name in files)
    print(f"{count} YAML snippets in {len(files)} files, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
