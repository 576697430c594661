"""How a step ends, told once: outputs, state, exports, the summary and the annotation.

``arm`` runs before anything is sent: the exports a later stop step reads and, with
``auto-stop``, the state the post step needs, so that a start that may have landed always gets
its stop, whatever happens next. ``report`` runs once at every ending (sent, dry-run, skipped,
failed) and decides the exit code by ``fail-on``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from last9_change_event.core import context as ctx
from last9_change_event.core.inputs import Inputs
from last9_change_event.core.plan import Plan
from last9_change_event.core.summary import render
from last9_change_event.errors import (
    ActionError,
    FailOn,
    InternalError,
    MissingTokenError,
    Voice,
    fails_step,
)
from last9_change_event.last9.tokens import Token


class Reporter(Protocol):
    """What the core tells, and nothing about where it goes: each front-end implements it
    (``workflow.GitHubReporter`` for the runner, the command line's reporters for a terminal
    or a ``run:`` step), so the core never imports the runner's I/O."""

    #: How errors name inputs, in the front-end's words.
    voice: Voice

    def mask(self, secret: str | None) -> None:
        """Hide ``secret`` from everything told from now on."""

    def debug(self, message: str) -> None:
        """A line for debugging only."""

    def info(self, message: str) -> None:
        """A log line."""

    def warning(self, title: str, message: str) -> None:
        """A warning."""

    def error(self, title: str, message: str) -> None:
        """An error."""

    def group(self, title: str) -> AbstractContextManager[None]:
        """A foldable group of log lines."""

    def set_output(self, name: str, value: str) -> None:
        """A step output."""

    def save_state(self, name: str, value: str) -> None:
        """State for the post step."""

    def export_env(self, name: str, value: str) -> None:
        """An environment variable for later steps."""

    def summary(self, markdown: str) -> None:
        """Markdown for the step summary."""


class Ending:
    """What the step got to know before it ended; ``run`` fills it in as it goes."""

    def __init__(self, fail_on: FailOn, error: ActionError | None = None) -> None:
        self.fail_on = fail_on
        self.error = error
        self.inputs: Inputs | None = None
        self.plan: Plan | None = None
        self.status = "failed"
        self.token: Token | None = None
        self.armed = False
        #: The runner's id of this step, which names its auto-stop export.
        self.step: str | None = None
        #: The services whose event may have reached Last9, when sending began.
        self.landed: tuple[str | None, ...] | None = None


class Result(NamedTuple):
    """How the step ended: its exit code and outputs, and what a front-end may read from it."""

    exit_code: int
    outputs: dict[str, str]
    status: str = "skipped"
    #: The inputs as read (``None`` when they could not be), and the events planned from them.
    inputs: Inputs | None = None
    plan: Plan | None = None


def arm(reporter: Reporter, inputs: Inputs, plan: Plan, step: str | None) -> bool:
    """Before sending a start: export its id and time, and arm the post step; armed or not.

    The post step is armed twice over: in ``$GITHUB_STATE`` (GitHub's runner) and in an export
    named after this step (runners that drop the post step's state: see
    ``edge.process.read_armed``).
    """
    if inputs.event_state != "start":
        return False
    if plan.deployment_id:
        reporter.export_env(ctx.ID_VARIABLE, plan.deployment_id)
        reporter.export_env(ctx.STARTED_AT_VARIABLE, f"{plan.epoch:.3f}")
    if not inputs.auto_stop:
        return False
    reporter.save_state(ctx.STATE_ARMED, "true")
    reporter.save_state(ctx.STATE_STARTED_AT, f"{plan.epoch:.3f}")
    reporter.save_state(ctx.STATE_SERVICES, json.dumps(plan.services))
    if plan.deployment_id:
        reporter.save_state(ctx.STATE_DEPLOYMENT_ID, plan.deployment_id)
    _export_armed(reporter, plan, step, plan.services)
    return True


def _export_armed(
    reporter: Reporter, plan: Plan, step: str | None, services: tuple[str | None, ...]
) -> None:
    """What the stop needs, never a token, under this step's own name (a later write wins)."""
    if not step:
        return
    armed = {
        "step": step,
        "deployment_id": plan.deployment_id,
        "started_at": round(plan.epoch, 3),
        "services": list(services),
    }
    reporter.export_env(ctx.auto_stop_variable(step), json.dumps(armed, separators=(",", ":")))


def report(reporter: Reporter, ending: Ending) -> Result:
    """Tell how the step ended, everywhere it is told; the exit code by ``fail-on``."""
    error, plan, inputs = ending.error, ending.plan, ending.inputs
    fails = error is not None and fails_step(error, ending.fail_on)
    voice = reporter.voice
    problem = (voice.title(error), error.describe(voice)) if error else None
    if problem is not None:
        ending.status = (
            "skipped" if isinstance(error, MissingTokenError) and not fails else "failed"
        )
        if fails:
            reporter.error(*problem)
        else:
            reporter.warning(problem[0], f"{problem[1]} {voice.not_failing(ending.fail_on)}")
    outputs = _outputs(plan) if plan else {}
    outputs["status"] = ending.status
    if ending.token is not None:
        outputs["access-token"] = ending.token.value
        expires_at = _rfc3339(ending.token.expires_at)
        if expires_at:
            outputs["access-token-expires-at"] = expires_at
    for name, value in outputs.items():
        reporter.set_output(name, value)
    if ending.armed:
        if ending.landed is not None:
            reporter.save_state(ctx.STATE_SERVICES, json.dumps(ending.landed))
            if plan is not None:
                _export_armed(reporter, plan, ending.step, ending.landed)
        if ending.token is not None:
            reporter.save_state(ctx.STATE_ACCESS_TOKEN, ending.token.value)
    reporter.summary(
        render(
            status=ending.status,
            org=inputs.org if inputs else "",
            payloads=plan.payloads if plan else (),
            deployment_id=plan.deployment_id if plan else None,
            problem=problem,
        )
    )
    return Result(1 if fails else 0, outputs, ending.status, inputs, plan)


def _outputs(plan: Plan) -> dict[str, str]:
    payload: Any = plan.payloads[0] if len(plan.payloads) == 1 else list(plan.payloads)
    return {
        "timestamp": plan.timestamp,
        "deployment-id": plan.deployment_id or "",
        "payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
    }


def _rfc3339(epoch: int | None) -> str | None:
    """The time as RFC 3339; ``None`` when unknown."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def show(reporter: Reporter, inputs: Inputs, plan: Plan) -> None:
    """Say what is about to be sent (or not, in a dry run), and show each payload."""
    what = f"{inputs.event_state} event `{inputs.event_name}`"
    if inputs.dry_run:
        reporter.info(f"Dry run: the {what} is not sent.")
    else:
        reporter.info(f"Sending the {what} to {inputs.api_url} (organization {inputs.org}).")
    with reporter.group("Change event payload"):
        for payload in plan.payloads:
            reporter.info(json.dumps(payload, indent=2, ensure_ascii=False))


def internal(error: Exception, *, debug: bool, reporter: Reporter) -> InternalError:
    """An unexpected exception as an error the step can report; its traceback only when
    debugging, through the reporter (which redacts it)."""
    if debug:
        import traceback  # noqa: PLC0415 - only a bug, with debugging on, needs it

        reporter.info("".join(traceback.format_exception(error)))
    return InternalError(
        f"An unexpected {type(error).__name__} stopped the step; nothing in the workflow "
        "needs to change.",
        remedy="Re-run the job; if it happens again, report it with the step's debug log "
        "(re-run with debug logging on).",
    )
