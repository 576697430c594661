"""Everything the step tells the world goes through here.

``GitHubReporter`` speaks the runner's language: workflow commands on stdout, escaped as
GitHub's toolkit escapes them, masks, and the ``$GITHUB_OUTPUT``/``$GITHUB_STATE``/
``$GITHUB_ENV``/``$GITHUB_STEP_SUMMARY`` files. It never falls back to the deprecated
``::set-output`` and ``::save-state`` commands: outside the runner those files are not written.
``Reporter`` itself speaks to a person at a terminal. Both redact every secret they were told
about, and every piece of one, from whatever they print or write; both are safe to call from
the thread that talks to Last9 while the main thread waits. A line whose stream is gone (a
closed pipe, a full disk) is lost quietly: it never changes how the step ends (``streams``).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from last9_change_event.edge import streams
from last9_change_event.errors import ACTION, Voice
from last9_change_event.redact import MIN_REDACTED_CHARS, Redactor, printable

#: GitHub refuses a step summary over 1 MiB; ours stays well under it.
MAX_SUMMARY_BYTES = 512 * 1024
FILE_COMMANDS = ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")
#: What is lost when a file command cannot be written, by file.
LOST = {
    "OUTPUT": "the step's outputs (`status`, `payload`, ...) are not set for later steps",
    "STATE": "the post step gets no state from this step, so `auto-stop`'s stop depends on "
    "this step's exports, as on runners that drop state",
    "ENV": "the variables for later steps (`LAST9_DEPLOYMENT_ID`, "
    "`LAST9_DEPLOYMENT_STARTED_AT`) are not exported, so a later stop may lack "
    "`duration_seconds`",
    "STEP_SUMMARY": "the step summary is lost",
}


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as ``@actions/core`` does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value, escaped as ``@actions/core`` does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: Mapping[str, str], message: str) -> str:
    """``::name key=value,...::message``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def key_value(name: str, value: str) -> str:
    """A file-command entry in the ``name<<DELIMITER`` form, with a delimiter not in ``value``."""
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}"


#: Append without blocking on a FIFO and without leaking into a child (POSIX); Windows has
#: neither flag, and needs binary mode for the bytes to go as they are.
_APPEND = (
    os.O_WRONLY
    | os.O_APPEND
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def append_to(path: str, data: bytes) -> None:
    """Append ``data`` to the file at ``path``, which must exist (the runner makes it; a file
    made here would be read by no one). Raises ``OSError`` or ``ValueError`` when it cannot."""
    fd = os.open(path, _APPEND)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class Reporter:
    """A person at a terminal: log lines on stderr, no workflow commands, no files."""

    #: How errors name inputs: the action's way unless a front-end says otherwise.
    voice: Voice = ACTION

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out if out is not None else streams.stdout()
        self.err = err if err is not None else streams.stderr()
        self.redactor = Redactor()
        self._lock = threading.RLock()

    def mask(self, secret: str | None) -> None:
        """Hide ``secret`` from everything printed from now on."""
        if secret:
            self.redactor.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every known secret, and every piece of one, replaced by ``***``."""
        return self.redactor.redact(text)

    def info(self, message: str) -> None:
        """A plain log line."""
        self._write(self.err, self.redact(message))

    def debug(self, message: str) -> None:
        """A line shown only when debugging: left out on a terminal."""

    def warning(self, title: str, message: str) -> None:
        """A warning."""
        self._write(self.err, printable(self.redact(f"warning: {title}: {message}")))

    def error(self, title: str, message: str) -> None:
        """An error."""
        self._write(self.err, printable(self.redact(f"error: {title}: {message}")))

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

    def result(self, text: str) -> bool:
        """The command line's result on stdout; ``False`` when it could not be written."""
        return self._write(self.out, self.redact(text))

    def _write(self, stream: TextIO, text: str) -> bool:
        """Write a line; ``False`` when its stream is gone."""
        with self._lock:
            return streams.write(stream, text + "\n")


class GitHubReporter(Reporter):
    """The GitHub runner: workflow commands on stdout, files for outputs, state, env, summary."""

    def __init__(self, files: Mapping[str, str], out: TextIO | None = None) -> None:
        super().__init__(out=out, err=out)
        self._files = {name: files.get(name, "") for name in FILE_COMMANDS}
        self._unwritable: set[str] = set()

    def mask(self, secret: str | None) -> None:
        """``::add-mask::`` the secret, then redact it locally too."""
        if secret and (self.redactor.add(secret) or len(secret) < MIN_REDACTED_CHARS):
            self._command("add-mask", {}, secret, redact=False)

    def info(self, message: str) -> None:
        """A plain log line. Text that the runner could read as a workflow command (``::`` at
        a line's start, or the legacy ``##[`` anywhere in it), such as a payload holding a pull
        request's title, is printed with command processing paused (``::stop-commands::``)."""
        self.result(message)

    def result(self, text: str) -> bool:
        """Text on stdout, with workflow commands paused around it when it could hold one."""
        return self._write(self.out, self.inert(text))

    def inert(self, text: str) -> str:
        """``text`` redacted, between ``::stop-commands::`` markers when the runner could read a
        workflow command in it (``::`` at a line's start, or the legacy ``##[`` anywhere)."""
        text = self.redact(text)
        if "::" in text or "##[" in text:
            resume = secrets.token_hex(16)
            text = f"::stop-commands::{resume}\n{text}\n::{resume}::"
        return text

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
        """``::group::`` ... ``::endgroup::``."""
        self._command("group", {}, title)
        try:
            yield
        finally:
            self._command("endgroup", {}, "")

    def set_output(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_OUTPUT``; the access token is the one value kept (the runner
        masks it in logs, and a later step needs it)."""
        self._append("OUTPUT", key_value(name, value), redact=name != "access-token")

    def save_state(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_STATE``; the post step reads it as ``STATE_<name>``."""
        self._append("STATE", key_value(name, value), redact=False)

    def export_env(self, name: str, value: str) -> None:
        """Append to ``$GITHUB_ENV``."""
        self._append("ENV", key_value(name, value), redact=True)

    def summary(self, markdown: str) -> None:
        """Append to ``$GITHUB_STEP_SUMMARY``, within GitHub's size limit."""
        text = printable(self.redact(markdown))
        if len(text.encode("utf-8")) > MAX_SUMMARY_BYTES:
            text = text.encode("utf-8")[: MAX_SUMMARY_BYTES - 64].decode("utf-8", "ignore")
            text += "\n\n*(summary cut: too long)*"
        self._append("STEP_SUMMARY", text, redact=False)

    def _append(self, name: str, text: str, *, redact: bool) -> None:
        """Append to ``$GITHUB_<name>``. A file that cannot be written (absent, a directory,
        read-only, a full disk) costs what it would have held, said in one warning, and nothing
        else: the event's fate and the exit code stay as they were."""
        path = self._files[name]
        data = ((self.redact(text) if redact else text) + "\n").encode("utf-8", "replace")
        with self._lock:
            if not path or name in self._unwritable:
                return
            try:
                append_to(path, data)
            except (OSError, ValueError) as error:
                self._unwritable.add(name)
                reason = getattr(error, "strerror", None) or type(error).__name__
                self.warning(
                    f"Last9: GITHUB_{name} not written",
                    f"The runner's `GITHUB_{name}` file could not be written ({reason}): "
                    f"{LOST[name]}. The event itself is not affected. The runner provides this "
                    "file; where its path does not exist in the action's container (some "
                    "self-hosted set-ups, act's host mode), fix the runner's set-up.",
                )

    def _command(
        self, name: str, properties: Mapping[str, str], message: str, *, redact: bool = True
    ) -> None:
        if redact:
            message = printable(self.redact(message))
            properties = {key: printable(self.redact(v)) for key, v in properties.items()}
        self._write(self.out, command(name, properties, message))
