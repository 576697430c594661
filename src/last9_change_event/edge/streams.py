"""The process's own output streams, where a lost line is never an error.

A log line or the command line's result may find its stream gone: a pipe whose reader left
(``| head -c 10``), a closed descriptor (``2>&-``), a full disk (``>/dev/full``). POSIX tools
treat a write error on their own output quietly, and the event's fate does not depend on it:
``write`` reports whether the line went, and never raises. Python ignores ``SIGPIPE``, so a
closed pipe is an ``EPIPE`` here, never a signal that kills the step; a command run by
``wrap`` gets ``SIGPIPE`` back at its default, as a shell would start it.

Two more edges of the process:

- ``guard_descriptors``: a standard descriptor closed when the process starts is taken by
  ``/dev/null``, close-on-exec. Otherwise the first file or socket the process opens would get
  that number, and a write meant for stderr would land in it; the command ``wrap`` runs still
  finds the descriptor closed, as it was given.
- ``settle``: Python flushes stdout and stderr as it exits, and a flush that fails there turns
  the exit code into 120 with an "Exception ignored" message. Streams that cannot be flushed are
  pointed at ``/dev/null`` first, once nothing else will run with them (a wrapped command has
  ended), so the exit code is the one the step decided.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import TextIO

_LOST = (OSError, ValueError)  # ValueError: a closed file object


class Discard(io.StringIO):
    """A stream for a descriptor that was closed: every write succeeds and goes nowhere."""

    def write(self, text: str) -> int:
        """Nothing is kept."""
        return len(text)


def stdout() -> TextIO:
    """``sys.stdout``, or a ``Discard`` when the process started without one."""
    return sys.stdout if sys.stdout is not None else Discard()


def stderr() -> TextIO:
    """``sys.stderr``, or a ``Discard`` when the process started without one."""
    return sys.stderr if sys.stderr is not None else Discard()


def write(stream: TextIO | None, text: str) -> bool:
    """Write ``text`` and flush; ``False`` when the stream is gone (never an exception)."""
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
    except _LOST:
        return False
    return True


def guard_descriptors() -> None:
    """Standard descriptors closed at start are held by ``/dev/null``, close-on-exec."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            # The lowest free number; close-on-exec where it exists (not on Windows).
            held = os.open(os.devnull, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            if held != fd:
                os.dup2(held, fd, inheritable=False)
                os.close(held)


def settle() -> None:
    """Point stdout and stderr at ``/dev/null`` when they cannot be flushed, before the exit."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except _LOST:
            with contextlib.suppress(*_LOST):
                fd = stream.fileno()
                sink = os.open(os.devnull, os.O_WRONLY)
                os.dup2(sink, fd)
                os.close(sink)
                stream.flush()
