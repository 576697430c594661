"""The edge: where the process environment, the event file and signals are read.

Both front-ends use it: the runner's steps (``github.steps``) and the command line (``cli``).
``read_context`` turns the environment into the frozen ``Context`` the core reads (with what a
start left for its post step, ``read_armed``); ``Signals`` turns a cancel into a flag. Below
this module, code takes values.
"""

from __future__ import annotations

import json
import math
import os
import signal
import stat
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from last9_change_event import ci
from last9_change_event.attributes import valid_text
from last9_change_event.core.context import (
    ID_VARIABLE,
    STARTED_AT_VARIABLE,
    STATE_ACCESS_TOKEN,
    STATE_ARMED,
    STATE_DEPLOYMENT_ID,
    STATE_SERVICES,
    STATE_STARTED_AT,
    Armed,
    Context,
    auto_stop_variable,
)
from last9_change_event.last9 import retry

#: The event payload is read only up to this size; GitHub's release and deployment payloads are
#: a few kilobytes.
MAX_EVENT_BYTES = 4 * 1024 * 1024
#: Set to ``true`` (tests only) to make every retry immediate, in this process and its children.
INSTANT_RETRIES = "LAST9_INSTANT_RETRIES"


def environment() -> dict[str, str]:
    """The process environment as valid text (undecodable bytes become U+FFFD)."""
    return as_text(os.environ)


def as_text(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with undecodable bytes (kept by Python as lone surrogates) as U+FFFD."""
    return {valid_text(name): valid_text(value) for name, value in env.items()}


def instant_retries(env: Mapping[str, str]) -> None:
    """Flip the retry switch: instant when the tests ask for it, else the real backoff."""
    retry.set_testing(env.get(INSTANT_RETRIES) == "true")


def read_context(
    env: Mapping[str, str],
    *,
    with_event: bool,
    git: ci.GitFacts | None = None,
    workflow_dispatch_inputs: bool = False,
) -> Context:
    """The run's context; the event payload is read only when its attributes are wanted.

    ``git`` (the checkout's facts, from ``ci.read_git``) describes the run when no CI does;
    ``workflow_dispatch_inputs`` adds a ``workflow_dispatch`` event's inputs as attributes.
    """
    event = load_event(env.get("GITHUB_EVENT_PATH")) if with_event else None
    step = env.get("GITHUB_ACTION") or None
    return Context(
        ci=ci.detect(env, event=event, git=git, workflow_dispatch_inputs=workflow_dispatch_inputs),
        exported_id=env.get(ID_VARIABLE) or None,
        exported_started_at=finite(env.get(STARTED_AT_VARIABLE)),
        armed=read_armed(env, step),
        step=step,
        debug=env.get("ACTIONS_STEP_DEBUG", "").lower() == "true" or env.get("RUNNER_DEBUG") == "1",
    )


def read_armed(env: Mapping[str, str], step: str | None) -> Armed:
    """What the main step left for its post step.

    The rule: a runner that keeps state passes the post step at least ``STATE_ran`` (every
    main step saves it first), and then ``STATE_*`` alone decides, exactly as GitHub's runner
    has it. A post step with no ``STATE_*`` at all runs on a runner that drops saved state
    (act, and Gitea's and Forgejo's runners built on it); it trusts only the export named after
    its own step id and holding that id, never the job-wide ``LAST9_DEPLOYMENT_*`` exports that
    any other use of the action writes too.
    """
    if any(name.startswith("STATE_") for name in env):
        return Armed(
            armed=env.get(f"STATE_{STATE_ARMED}") == "true",
            deployment_id=env.get(f"STATE_{STATE_DEPLOYMENT_ID}") or None,
            started_at=finite(env.get(f"STATE_{STATE_STARTED_AT}")),
            access_token=env.get(f"STATE_{STATE_ACCESS_TOKEN}") or None,
            services=_services(env.get(f"STATE_{STATE_SERVICES}")),
        )
    if not step:
        return Armed()
    try:
        export = json.loads(env.get(auto_stop_variable(step)) or "null")
    except (ValueError, RecursionError):
        return Armed()
    if not isinstance(export, dict) or export.get("step") != step:
        return Armed()
    deployment_id = export.get("deployment_id")
    started_at = export.get("started_at")
    number = isinstance(started_at, int | float) and not isinstance(started_at, bool)
    return Armed(
        armed=True,
        deployment_id=deployment_id if isinstance(deployment_id, str) and deployment_id else None,
        started_at=finite(started_at) if number else None,
        services=_service_list(export.get("services")),
        from_export=True,
    )


def load_event(path: str | None) -> Mapping[str, Any] | None:
    """The event payload: a regular file of at most ``MAX_EVENT_BYTES`` holding a JSON object;
    ``None`` for anything else (absent, a FIFO, a device, too large, not JSON)."""
    if not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_EVENT_BYTES:
            return None
        data = os.read(fd, MAX_EVENT_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        event = json.loads(valid_text(data.decode("utf-8", "replace")))
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def finite(text: str | float | None) -> float | None:
    """A finite number (from text or a number), or ``None``."""
    try:
        value = float(text) if text is not None and text != "" else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _services(text: str | None) -> tuple[str | None, ...] | None:
    """The services of a ``STATE_services`` entry (JSON text)."""
    try:
        value = json.loads(text) if text else None
    except (ValueError, RecursionError):
        return None
    return _service_list(value)


def _service_list(value: object) -> tuple[str | None, ...] | None:
    """A list of service names (``None`` for the default service), or ``None``."""
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        return None
    return tuple(value)


class Signals:
    """SIGINT and SIGTERM, as the runner sends them to cancel a step, become a flag: the step
    stops waiting, reports and exits instead of dying in a traceback."""

    def __init__(self) -> None:
        self._received: int | None = None
        self._previous: dict[int, Any] = {}

    def received(self) -> bool:
        """Whether a cancel signal came."""
        return self._received is not None

    @property
    def signum(self) -> int | None:
        """The last cancel signal that came, if any."""
        return self._received

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self._received = signum

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
