"""Everything the action tells the world goes through here.

``GitHubReporter`` speaks the runner's language: workflow commands on stdout (escaped as GitHub's
toolkit does), masks, and the ``$GITHUB_OUTPUT``/``$GITHUB_STATE``/``$GITHUB_ENV``/
``$GITHUB_STEP_SUMMARY`` files. It never falls back to the deprecated ``::set-output`` and
``::save-state`` commands: outside the runner those files are simply not written.
``ConsoleReporter`` speaks to a person in a terminal. Both replace every secret they were told
about with ``***`` in whatever they print or write, as a second line of defence.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from actions_toolkit.command import Command
from actions_toolkit.file_command import prepare_key_value_message

#: Shorter values are masked by the runner but not replaced locally: no Last9 token is that
#: short, and replacing every ``0`` or ``true`` would corrupt the outputs and the summary.
MIN_REDACTED_CHARS = 8


class Reporter:
    """The common part: secrets to redact, and no-op file commands."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._secrets: list[str] = []

    def mask(self, secret: str | None) -> None:
        """Hide ``secret`` from everything printed from now on."""
        if secret and len(secret) >= MIN_REDACTED_CHARS and secret not in self._secrets:
            self._secrets.append(secret)
            self._sort()

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _sort(self) -> None:
        self._secrets.sort(key=len, reverse=True)

    def info(self, message: str) -> None:
        """A plain log line."""
        print(self.redact(message), file=self.err, flush=True)

    def debug(self, message: str) -> None:
        """A line shown only when debugging."""

    def warning(self, title: str, message: str) -> None:
        """A warning."""
        print(self.redact(f"warning: {title}: {message}"), file=self.err, flush=True)

    def error(self, title: str, message: str) -> None:
        """An error."""
        print(self.redact(f"error: {title}: {message}"), file=self.err, flush=True)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """A foldable group of log lines."""
        self.info(title)
        yield

    def set_output(self, name: str, value: str) -> None:
        """A step output (none outside the runner)."""

    def save_state(self, name: str, value: str) -> None:
        """State for the post step (none outside the runner)."""

    def export_env(self, name: str, value: str) -> None:
        """An environment variable for later steps (none outside the runner)."""

    def summary(self, markdown: str) -> None:
        """Markdown for the step summary (none outside the runner)."""


class ConsoleReporter(Reporter):
    """A person at a terminal: log lines on stderr, no workflow commands."""

    def debug(self, message: str) -> None:
        """Debug lines are left out on a terminal."""


class GitHubReporter(Reporter):
    """The GitHub runner: workflow commands on stdout, files for outputs, state, env, summary."""

    def __init__(self, env: Mapping[str, str], out: TextIO | None = None) -> None:
        super().__init__(out=out, err=out)
        self._files = {
            command: env.get(f"GITHUB_{command}", "")
            for command in ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")
        }

    def mask(self, secret: str | None) -> None:
        """``::add-mask::`` the secret, then redact it locally too."""
        if secret and secret not in self._secrets:
            self._command("add-mask", {}, secret, redact=False)
            super().mask(secret)

    def info(self, message: str) -> None:
        """A plain log line. Text that the runner could read as a workflow command (``::`` at
        a line's start, or the legacy ``##[`` anywhere in it), such as a payload holding a pull
        request's title, is printed with command processing paused (``::stop-commands::``)."""
        text = self.redact(message)
        if "::" in text or "##[" in text:
            resume = secrets.token_hex(16)
            self._command("stop-commands", {}, resume, redact=False)
            self.out.write(text + "\n")
            self._command(resume, {}, "", redact=False)
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def debug(self, message: str) -> None:
        """``::debug::``, shown when the run has step debugging on."""
        self._command("debug", {}, message)

    def warning(self, title: str, message: str) -> None:
        """``::warning title=...::``"""
        self._command("warning", {"title": title}, message)

    def error(self, title: str, message: str) -> None:
        """``::error title=...::``"""
        self._command("error", {"title": title}, message)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """``::group::`` ... ``::endgroup::``, synchronous (the toolkit's ``group`` is async)."""
        self._command("group", {}, title)
        try:
            yield
        finally:
            self._command("endgroup", {}, "")

    def set_output(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_OUTPUT``."""
        self._append(
            "OUTPUT", prepare_key_value_message(name, value), redact=name != "access-token"
        )

    def save_state(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_STATE``; the post step reads it as ``STATE_<name>``."""
        self._append("STATE", prepare_key_value_message(name, value), redact=False)

    def export_env(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_ENV``."""
        self._append("ENV", prepare_key_value_message(name, value), redact=True)

    def summary(self, markdown: str) -> None:
        """Append to ``$GITHUB_STEP_SUMMARY``."""
        self._append("STEP_SUMMARY", markdown, redact=True)

    def _append(self, command: str, text: str, *, redact: bool) -> None:
        path = self._files[command]
        if not path:
            return
        with Path(path).open("a", encoding="utf-8", newline="") as file:
            file.write((self.redact(text) if redact else text) + "\n")

    def _command(
        self, command: str, properties: dict[str, str], message: str, *, redact: bool = True
    ) -> None:
        text = self.redact(message) if redact else message
        props = {key: self.redact(value) for key, value in properties.items()}
        self.out.write(f"{Command(command, props, text)}\n")
        self.out.flush()
