"""The command line: the action from any CI or a laptop, and ``wrap`` around a deploy.

``last9-change-event [start|stop|auto] [flags]`` sends one event and prints the result on stdout
(``--output json`` or ``text``); ``last9-change-event wrap [flags] -- COMMAND`` sends a start,
runs the command and sends the stop with its outcome, duration and exit code, exiting with the
command's exit code and printing nothing on stdout. Flags are parsed in ``cli_args``; errors are
worded for the command line by ``cli_voice``; the events go through the action's own ``run``.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from last9_change_event import ci, streams
from last9_change_event.cli_args import send_parser, wrap_parser
from last9_change_event.cli_voice import (
    ENV_INPUTS,
    CliConsoleReporter,
    CliGitHubReporter,
    scrub,
)
from last9_change_event.context import ID_VARIABLE, STARTED_AT_VARIABLE, Context
from last9_change_event.edge import (
    Signals,
    environment,
    instant_retries,
    read_context,
)
from last9_change_event.errors import InputError, UsageError
from last9_change_event.inputs import DEFAULTS, SPECS, parse_attributes
from last9_change_event.main import run
from last9_change_event.report import Result
from last9_change_event.workflow import FILE_COMMANDS, Reporter
from last9_change_event.wrap import Finished, run_wrapped

USAGE_EXIT = 2
_FLAGLESS = frozenset({"refresh-token", "access-token", "auto-stop", "event-state"})


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the command line once; returns the exit code.

    A closed or full stdout or stderr never changes it: lines that cannot be written are lost
    quietly (``streams``), and the exit code is the event's (``wrap``: the command's).
    """
    streams.guard_descriptors()
    env = environment() if env is None else env
    args = list(sys.argv[1:] if argv is None else argv)
    instant_retries(env)
    secrets = [env.get(name, "") for name in ENV_INPUTS.values()]
    try:
        if args[:1] == ["wrap"]:
            return _wrap(args[1:], env)
        return _send(args, env)
    except UsageError as error:
        _usage_error(str(error), secrets)
        return USAGE_EXIT
    except Exception as error:  # noqa: BLE001 - the boundary: no traceback may show a token
        _crash(error, secrets)
        return 1
    finally:
        streams.settle()


def _send(argv: list[str], env: Mapping[str, str]) -> int:
    """Send one event; its result on stdout."""
    args = send_parser().parse_args(argv)
    chosen = {value for value in (args.state, args.event_state) if value}
    if len(chosen) > 1:
        raise UsageError("the positional state and --event-state disagree; give one of them")
    state = chosen.pop() if chosen else DEFAULTS["event-state"]
    raw = raw_inputs(vars(args), env, state=state)
    reporter = _reporter(env, out=streams.stdout())
    context = _with_start(_context(vars(args), env, raw), raw, args.started_at)
    with Signals() as signals:
        result = run(raw, context, reporter, cancelled=signals.received)
    return _finish(reporter, result, args.output)


def _wrap(argv: list[str], env: Mapping[str, str]) -> int:
    """Start, run the command after ``--``, stop; the command's exit code."""
    split = argv.index("--") if "--" in argv else len(argv)
    flags, command = argv[:split], argv[split + 1 :]
    try:
        args = wrap_parser().parse_args(flags)
    except UsageError as error:
        if not command:
            raise
        secrets = [env.get(name, "") for name in ENV_INPUTS.values()]
        _usage_error(f"{error}; running the command without change events", secrets)
        return run_wrapped(command, before=lambda: None, after=lambda _: None)
    if not command:
        raise UsageError("wrap needs the command after `--`: wrap [flags] -- COMMAND [ARGS...]")
    reporter = _reporter(env, out=streams.stderr())
    wrapper = _Wrapper(vars(args), env, reporter)
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
        self.raw: dict[str, str] | None = None
        self.context: Context | None = None
        self.started: Result | None = None

    def start(self) -> None:
        """Send the start; a failure is reported, never raised."""
        try:
            self.raw = raw_inputs(self.args, self.env, state="start")
            self.context = _context(self.args, self.env, self.raw)
            with Signals() as signals:
                self.started = run(
                    self.raw,
                    self.context,
                    self.reporter,
                    cancelled=signals.received,
                )
            self.cancelled = signals.signum
        except Exception as error:  # noqa: BLE001 - the command runs whatever happens here
            _crash(error, self._secrets())

    def stop(self, finished: Finished) -> None:
        """Send the stop of a start that may have landed; a failure is reported, never raised."""
        started, raw, context = self.started, self.raw, self.context
        if started is None or raw is None or context is None:
            return
        if "payload" not in started.outputs or started.outputs.get("status") == "skipped":
            self.reporter.info("No stop is sent: the start could not be sent either.")
            return
        try:
            now = float(int(time.time()))
            stop = {
                **raw,
                "event-state": "stop",
                "outcome": finished.outcome,
                "deployment-id": started.outputs.get("deployment-id") or raw["deployment-id"],
                "attributes": merge_attributes(
                    (("exit_code", str(finished.exit_code)),),
                    self.args.get("attributes"),
                    self.args.get("attribute"),
                ),
            }
            # The stop's duration is the command's own, measured around it (not the time the
            # start took to reach Last9).
            context = context._replace(
                armed=context.armed._replace(started_at=now - finished.duration_seconds)
            )
            with Signals() as signals:
                run(
                    stop,
                    context,
                    self.reporter,
                    clock=lambda: now,
                    cancelled=signals.received,
                )
        except Exception as error:  # noqa: BLE001 - the exit code is the command's regardless
            _crash(error, self._secrets())

    def _secrets(self) -> list[str]:
        return [self.env.get(name, "") for name in ENV_INPUTS.values()]


def raw_inputs(args: Mapping[str, Any], env: Mapping[str, str], *, state: str) -> dict[str, str]:
    """The inputs as the action would see them: flags, then ``LAST9_*`` variables, defaults."""
    raw: dict[str, str] = {}
    for spec in SPECS:
        value = "" if spec.name in _FLAGLESS else args.get(spec.name.replace("-", "_"))
        if spec.name == "github-attributes":
            value = args.get("ci_attributes")
        elif spec.name == "service-name":
            value = "\n".join(args.get("service_name") or ())
        elif spec.name == "attributes":
            value = merge_attributes((), args.get("attributes"), args.get("attribute"))
        elif spec.name == "dry-run":
            value = "true" if args.get("dry_run") else ""
        text = value if isinstance(value, str) else ""
        if not text and spec.name in ENV_INPUTS:
            text = env.get(ENV_INPUTS[spec.name], "")
        raw[spec.name] = text or DEFAULTS[spec.name]
    raw["event-state"] = state
    return raw


def merge_attributes(
    first: Sequence[tuple[str, str]], text: str | None, pairs: Sequence[str] | None
) -> str:
    """``first``, then the ``--attributes`` text, then each ``--attribute``: one JSON object.

    A text that does not parse is passed on unchanged, for the action to report it by name.
    """
    if not first and not pairs:
        return text or ""
    merged: dict[str, str | None] = dict(first)
    if text and text.strip():
        try:
            merged.update(parse_attributes(text))
        except InputError:
            return text
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        merged[key.strip()] = value.strip() or None
    return json.dumps(merged, ensure_ascii=False)


def _reporter(env: Mapping[str, str], *, out: TextIO) -> Reporter:
    """Workflow commands in a GitHub ``run:`` step (as the action writes them), else plain text;
    the log on stderr, the result on ``out``."""
    if env.get("GITHUB_ACTIONS") == "true":
        files = {name: env.get(f"GITHUB_{name}", "") for name in FILE_COMMANDS}
        return CliGitHubReporter(files, result_out=out)
    return CliConsoleReporter(out=out, err=streams.stderr())


def _context(args: Mapping[str, Any], env: Mapping[str, str], raw: Mapping[str, str]) -> Context:
    """The CI's context; outside any CI, the git checkout in the current directory."""
    wanted = raw["github-attributes"].strip().lower() != "false"
    dispatch = bool(args.get("workflow_dispatch_inputs"))
    context = read_context(env, with_event=wanted, workflow_dispatch_inputs=dispatch)
    if wanted and context.ci.provider == "none":
        facts = ci.read_git(Path.cwd())
        if facts is not None:
            context = read_context(env, with_event=wanted, git=facts)
    return context


def _with_start(context: Context, raw: Mapping[str, str], started_at: float | None) -> Context:
    """The context with the deployment's start time, for a stop's ``duration_seconds``.

    ``--started-at`` wins; else ``LAST9_DEPLOYMENT_STARTED_AT`` when it belongs to this
    deployment (same ``LAST9_DEPLOYMENT_ID``, or neither side has an id).
    """
    if started_at is None and context.exported_started_at is not None:
        own_id = raw.get("deployment-id", "").strip() or context.ci.deployment_id
        if not own_id and not context.exported_id:
            started_at = context.exported_started_at
    if started_at is None:
        return context
    return context._replace(armed=context.armed._replace(started_at=started_at))


def _finish(reporter: Reporter, result: Result, output: str | None) -> int:
    """Print the result in the chosen format; the exit code."""
    shown = {name: value for name, value in result.outputs.items() if not name.startswith("access")}
    if '"event_state":"start"' in shown.get("payload", "") and shown.get("timestamp"):
        shown["started-at"] = _epoch(shown["timestamp"])
    if output == "text":
        written = reporter.result(_text(shown))
    else:
        data: dict[str, object] = dict(shown)
        if "payload" in data:
            data["payload"] = json.loads(shown["payload"])
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


def _epoch(timestamp: str) -> str:
    """An RFC 3339 time as seconds since the epoch, whole when it is."""
    seconds = datetime.fromisoformat(timestamp).timestamp()
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:.3f}"


def _usage_error(message: str, secrets: Sequence[str]) -> None:
    streams.write(
        streams.stderr(),
        scrub(f"last9-change-event: error: {message}\n", secrets)
        + "Run `last9-change-event --help` (or `wrap --help`) for the flags.\n",
    )


def _crash(error: Exception, secrets: Sequence[str]) -> None:
    """An unexpected exception: its traceback, with anything shaped like a token removed."""
    text = "".join(traceback.format_exception(error))
    streams.write(streams.stderr(), scrub(f"error: Last9: internal error: {text}", secrets))
