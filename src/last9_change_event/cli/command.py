"""The command line: the action from any CI or a laptop, and ``wrap`` around a deploy.

``last9-change-event [start|stop|auto] [flags]`` sends one event and prints the result on stdout
(``--output json`` or ``text``); ``last9-change-event wrap [flags] -- COMMAND`` sends a start,
runs the command and sends the stop with its outcome, duration and exit code, exiting with the
command's exit code and printing nothing on stdout. The flags (``cli.args``) are typed into
``Inputs`` here, the events go through the action's own ``run``, and the result is read from its
typed ``Result``; errors are worded by the command line's voice (``cli.voice``).
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from last9_change_event import ci
from last9_change_event.cli.args import PROG, STATES, send_parser, wrap_parser
from last9_change_event.cli.voice import CliGitHubReporter, CliReporter, scrub
from last9_change_event.cli.wrap import Finished, run_wrapped
from last9_change_event.core.context import ID_VARIABLE, STARTED_AT_VARIABLE, Context
from last9_change_event.core.inputs import (
    SPECS,
    Inputs,
    attribute_pairs,
    fail_on_of,
    parse_inputs,
    text_pairs,
)
from last9_change_event.core.report import Result
from last9_change_event.core.run import run
from last9_change_event.edge import streams
from last9_change_event.edge.process import Signals, environment, instant_retries, read_context
from last9_change_event.edge.workflow import FILE_COMMANDS, Reporter
from last9_change_event.errors import FailOn, UsageError

USAGE_EXIT = 2
SECRET_VARIABLES = tuple(spec.row.env for spec in SPECS if spec.secret and spec.row.env)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the command line once; returns the exit code.

    A closed or full stdout or stderr never changes it: lines that cannot be written are lost
    quietly (``streams``), and the exit code is the event's (``wrap``: the command's).
    """
    streams.guard_descriptors()
    env = environment() if env is None else env
    instant_retries(env)
    args = list(sys.argv[1:] if argv is None else argv)
    wrapping = args[:1] == ["wrap"]
    reporter = _reporter(env, out=streams.stderr() if wrapping else streams.stdout())
    secrets = [env.get(name, "") for name in SECRET_VARIABLES]
    for secret in secrets:
        reporter.mask(secret.strip())
    try:
        return _wrap(args[1:], env, reporter) if wrapping else _send(args, env, reporter)
    except UsageError as error:
        _usage_error(reporter, str(error))
        return USAGE_EXIT
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback may show a token
        _crash(error, secrets)
        return 1
    finally:
        streams.settle()


def _send(argv: list[str], env: Mapping[str, str], reporter: Reporter) -> int:
    """Send one event; its result on stdout."""
    named = argv[0] if argv[:1] and argv[0] in STATES else None
    args = vars(send_parser(named).parse_args(argv[1:] if named else argv))
    state = named or args.get("state")
    flag = (args.get("event_state") or "").strip().lower()
    if state and flag and flag != state:
        raise UsageError("the positional state and --event-state disagree; give one of them")
    read = partial(read_inputs, args, env, {"event-state": state} if state else {})
    context = _with_start(_context(args, env), args, args.get("started_at"))
    with Signals() as signals:
        result = run(read, context, reporter, fail_on=_fail_on(args), cancelled=signals.received)
    return _finish(reporter, result, args.get("output"))


def _wrap(argv: list[str], env: Mapping[str, str], reporter: Reporter) -> int:
    """Start, run the command after ``--``, stop; the command's exit code."""
    split = argv.index("--") if "--" in argv else len(argv)
    flags, command = argv[:split], argv[split + 1 :]
    try:
        args = vars(wrap_parser().parse_args(flags))
    except UsageError as error:
        if not command:
            raise
        _usage_error(reporter, f"{error}; running the command without change events")
        return run_wrapped(command, before=lambda: None, after=lambda _: None)
    if not command:
        raise UsageError("wrap needs the command after `--`: wrap [flags] -- COMMAND [ARGS...]")
    wrapper = _Wrapper(args, env, reporter)
    wrapper.start()
    if wrapper.cancelled is not None:
        # Cancelled while the start was being sent: the command is not started.
        wrapper.stop(Finished(128 + wrapper.cancelled, "cancelled", 0.0, wrapper.cancelled))
        return 128 + wrapper.cancelled
    return run_wrapped(command, before=lambda: None, after=wrapper.stop)


class _Wrapper:
    """The start and the stop around a wrapped command; neither ever raises."""

    def __init__(self, args: Mapping[str, Any], env: Mapping[str, str], reporter: Reporter) -> None:
        self.args, self.env, self.reporter = args, env, reporter
        self.cancelled: int | None = None
        self.context: Context | None = None
        self.started: Result | None = None

    def start(self) -> None:
        """Send the start; a failure is reported, never raised."""
        try:
            read = partial(read_inputs, self.args, self.env, {"event-state": "start"})
            self.context = _context(self.args, self.env)
            with Signals() as signals:
                self.started = run(
                    read,
                    self.context,
                    self.reporter,
                    fail_on=_fail_on(self.args),
                    cancelled=signals.received,
                )
            self.cancelled = signals.signum
        except Exception as error:  # noqa: BLE001 - the command runs whatever happens here
            _crash(error, self._secrets())

    def stop(self, finished: Finished) -> None:
        """Send the stop of a start that may have landed; a failure is reported, never raised."""
        started, context = self.started, self.context
        if started is None or context is None:
            return
        inputs, plan = started.inputs, started.plan
        if inputs is None or plan is None or started.status == "skipped":
            self.reporter.info("No stop is sent: the start could not be sent either.")
            return
        try:
            now = float(int(time.time()))
            attributes = {"exit_code": str(finished.exit_code), **dict(inputs.attributes)}
            stop = inputs._replace(
                event_state="stop",
                outcome=finished.outcome,
                deployment_id=plan.deployment_id or inputs.deployment_id,
                attributes=tuple(attributes.items()),
            )
            # The stop's duration is the command's own, measured around it (not the time the
            # start took to reach Last9).
            context = context._replace(
                armed=context.armed._replace(started_at=now - finished.duration_seconds)
            )
            with Signals() as signals:
                run(
                    lambda: stop,
                    context,
                    self.reporter,
                    fail_on=inputs.fail_on,
                    clock=lambda: now,
                    cancelled=signals.received,
                )
        except Exception as error:  # noqa: BLE001 - the exit code is the command's regardless
            _crash(error, self._secrets())

    def _secrets(self) -> list[str]:
        return [self.env.get(name, "") for name in SECRET_VARIABLES]


def read_inputs(
    args: Mapping[str, Any], env: Mapping[str, str], typed: Mapping[str, object]
) -> Inputs:
    """The inputs from the flags (typed as argparse gave them), else the ``LAST9_*`` variables,
    else the defaults; ``typed`` holds what the command decided itself (the state)."""
    raw: dict[str, str] = {}
    values: dict[str, object] = dict(typed)
    for spec in SPECS:
        given = args.get(spec.field)
        if spec.name in values:
            continue
        if given is None or spec.flag is None:
            raw[spec.name] = env.get(spec.row.env, "") if spec.row.env else ""
        elif isinstance(given, str):
            raw[spec.name] = given
        elif spec.row.parse_many is not None:
            values[spec.name] = spec.row.parse_many(spec.name, given)
        else:
            values[spec.name] = given
    pairs = [pair.partition("=") for pair in args.get("attribute") or ()]
    if pairs:
        values["attributes"] = attribute_pairs(
            [
                *text_pairs(args.get("attributes") or ""),
                *((key.strip(), value.strip() or None) for key, _, value in pairs),
            ]
        )
    return parse_inputs(raw, values)


def _fail_on(args: Mapping[str, Any]) -> FailOn:
    """The failure policy for errors in the flags themselves."""
    return fail_on_of({"fail-on": args.get("fail_on") or ""})


def _reporter(env: Mapping[str, str], *, out: TextIO) -> Reporter:
    """Workflow commands in a GitHub ``run:`` step (as the action writes them), else plain text;
    the log on stderr, the result on ``out``."""
    if env.get("GITHUB_ACTIONS") == "true":
        files = {name: env.get(f"GITHUB_{name}", "") for name in FILE_COMMANDS}
        return CliGitHubReporter(files, result_out=out)
    return CliReporter(out=out, err=streams.stderr())


def _context(args: Mapping[str, Any], env: Mapping[str, str]) -> Context:
    """The CI's context; outside any CI, the git checkout in the current directory."""
    wanted = args.get("github_attributes") is not False
    dispatch = bool(args.get("workflow_dispatch_inputs"))
    context = read_context(env, with_event=wanted, workflow_dispatch_inputs=dispatch)
    if wanted and context.ci.provider == "none":
        facts = ci.read_git(Path.cwd())
        if facts is not None:
            context = read_context(env, with_event=wanted, git=facts)
    return context


def _with_start(context: Context, args: Mapping[str, Any], started_at: float | None) -> Context:
    """The context with the deployment's start time, for a stop's ``duration_seconds``.

    ``--started-at`` wins; else ``LAST9_DEPLOYMENT_STARTED_AT`` when it belongs to this
    deployment (same ``LAST9_DEPLOYMENT_ID``, or neither side has an id).
    """
    if started_at is None and context.exported_started_at is not None:
        own_id = (args.get("deployment_id") or "").strip() or context.ci.deployment_id
        if not own_id and not context.exported_id:
            started_at = context.exported_started_at
    if started_at is None:
        return context
    return context._replace(armed=context.armed._replace(started_at=started_at))


def _finish(reporter: Reporter, result: Result, output: str | None) -> int:
    """Print the result in the chosen format; the exit code."""
    shown = {name: value for name, value in result.outputs.items() if not name.startswith("access")}
    plan, inputs = result.plan, result.inputs
    if plan is not None and inputs is not None and inputs.event_state == "start":
        shown["started-at"] = _seconds(plan.epoch)
    if output == "text":
        written = reporter.result(_text(shown))
    else:
        data: dict[str, object] = dict(shown)
        if plan is not None:
            data["payload"] = plan.payloads[0] if len(plan.payloads) == 1 else list(plan.payloads)
        written = reporter.result(json.dumps(data, indent=2, ensure_ascii=False))
    if not written:
        reporter.info(
            "The result could not be written to standard output (closed or full); "
            "the exit code still says how the event went."
        )
    return result.exit_code


def _text(shown: Mapping[str, str]) -> str:
    """``NAME=value`` lines a shell can ``eval`` and GitLab can read as a dotenv report."""
    names = {
        "status": "LAST9_STATUS",
        "deployment-id": ID_VARIABLE,
        "started-at": STARTED_AT_VARIABLE,
        "timestamp": "LAST9_EVENT_TIMESTAMP",
    }
    return "\n".join(
        f"{variable}={shlex.quote(shown[name])}"
        for name, variable in names.items()
        if shown.get(name)
    )


def _seconds(epoch: float) -> str:
    """Seconds since the epoch, whole when they are."""
    return str(int(epoch)) if float(epoch).is_integer() else f"{epoch:.3f}"


def _usage_error(reporter: Reporter, message: str) -> None:
    """Wrong arguments, told like every other error (nothing was tried)."""
    reporter.error(
        "Last9: invalid arguments", f"{scrub(message)}. Run `{PROG} --help` for the flags."
    )


def _crash(error: Exception, secrets: Sequence[str]) -> None:
    """An unexpected exception: its traceback, with anything shaped like a token removed."""
    text = "".join(traceback.format_exception(error))
    streams.write(streams.stderr(), scrub(f"error: Last9: internal error: {text}", secrets))
