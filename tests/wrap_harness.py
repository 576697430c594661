"""A tiny program around ``run_wrapped``, run as its own process by tests/test_wrap_process.py.

``python -m tests.wrap_harness REPORT MODE -- COMMAND...``: ``before`` touches ``REPORT.before``,
``after`` writes the ``Finished`` it got to ``REPORT`` as JSON; MODE ``raise-before``,
``raise-after`` or ``raise-both`` makes those callbacks fail after doing so. The exit code is
what ``run_wrapped`` returned. Nothing else is printed, so the output is the command's alone.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from last9_change_event.cli.wrap import Finished, run_wrapped


def main(argv: list[str]) -> int:
    """Run the command after ``--`` between the reporting callbacks."""
    report, mode = Path(argv[0]), argv[1]
    command = argv[argv.index("--") + 1 :]

    def before() -> None:
        report.with_suffix(".before").write_text("called", encoding="utf-8")
        if mode in {"raise-before", "raise-both"}:
            raise RuntimeError("before failed")

    def after(finished: Finished) -> None:
        report.write_text(json.dumps(dataclasses.asdict(finished)), encoding="utf-8")
        if mode in {"raise-after", "raise-both"}:
            raise RuntimeError("after failed")

    return run_wrapped(command, before=before, after=after)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
