"""The command line's flags: two parsers (send an event, wrap a command) and their help.

The flags are the table of inputs (``inputs.Inputs``): each input with a flag becomes one, with
its help, and the ones without (the tokens, ``auto-stop``) are refused with the reason. Tokens
come only from the environment, which shells do not keep in their history. Repeatable flags
accumulate (``--service-name``, ``--attribute``); every other flag given twice is refused,
never silently overwritten. Argument errors never echo anything shaped like a token.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

from last9_change_event import __version__
from last9_change_event.cli.voice import scrub
from last9_change_event.core.inputs import SPECS, shown
from last9_change_event.errors import UsageError

PROG = "last9-change-event"
OUTPUTS = ("json", "text")
STATES = ("start", "stop", "auto")

ENVIRONMENT = """\
  LAST9_DEPLOYMENT_ID, LAST9_DEPLOYMENT_STARTED_AT
                        what a start printed with --output text; a stop with the same
                        deployment id reads its duration from them
  HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE
                        proxy and CA bundle, as requests reads them
The CI is read from its own variables (GitHub Actions, GitLab CI, Buildkite, CircleCI,
Jenkins, Azure Pipelines, Bitbucket Pipelines), else from the git checkout in the current
directory: repository, commit, ref, run and its URL become attributes, and the run gives the
deployment id that a start and a stop sent as separate commands share.
"""

EXAMPLES = """\
examples (export LAST9_REFRESH_TOKEN from your CI's secret store first):
  plain shell:
    last9-change-event wrap --org acme --environment production -- ./deploy.sh
  GitLab CI (.gitlab-ci.yml, in script:):
    - last9-change-event wrap --org acme --environment "$CI_ENVIRONMENT_NAME" -- ./deploy.sh
  Jenkins (Jenkinsfile):
    withCredentials([string(credentialsId: 'last9-refresh-token',
                            variable: 'LAST9_REFRESH_TOKEN')]) {
      sh 'last9-change-event wrap --org acme --environment production -- ./deploy.sh'
    }
  Buildkite (pipeline.yml):
    command: last9-change-event wrap --org acme --environment production -- ./deploy.sh
  CircleCI (config.yml, a run step):
    command: last9-change-event wrap --org acme --environment production -- ./deploy.sh
  Azure Pipelines (azure-pipelines.yml):
    - script: last9-change-event wrap --org acme --environment production -- ./deploy.sh
      env: {LAST9_REFRESH_TOKEN: $(LAST9_REFRESH_TOKEN)}
  Bitbucket Pipelines (bitbucket-pipelines.yml, in script:):
    - last9-change-event wrap --org acme --environment production -- ./deploy.sh
  GitHub Actions (a run: step, with env: LAST9_REFRESH_TOKEN: ${{ secrets.LAST9_REFRESH_TOKEN }}):
    run: last9-change-event wrap --org acme --environment production -- ./deploy.sh
  start and stop as separate commands (the stop gets the start's duration, and the outcome
  wrap would send):
    eval "$(last9-change-event start --org acme --output text)"; export LAST9_DEPLOYMENT_ID \\
      LAST9_DEPLOYMENT_STARTED_AT
    if ./deploy.sh; then outcome=success; else outcome=failure; fi
    last9-change-event stop --org acme --outcome "$outcome"
"""

EXIT_SEND = """\
exit status: 0 when the event was sent (or when --fail-on lets a failure pass, as a warning);
1 when a failure fails the command by --fail-on; 2 when the arguments are wrong, before
anything is tried. Every error reads `error: Last9: <what>: <why and the fix>`.
"""
EXIT_WRAP = """\
exit status: COMMAND's own, whatever became of the events (--fail-on governs the events only:
it makes their failures errors or warnings); 2 when the arguments are wrong and no COMMAND
follows `--`. Every error reads `error: Last9: <what>: <why and the fix>`.
"""


def environment_help() -> str:
    """The variables the command line reads: the table's, then the rest."""
    lines = ["environment variables:"]
    for spec in SPECS:
        if spec.row.env:
            what = spec.row.help if spec.flag is None else f"stands in for {spec.flag}"
            lines.append(f"  {spec.row.env:<21} {what}")
    return "\n".join(lines) + "\n" + ENVIRONMENT


class Parser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` instead of exiting, without tokens."""

    def error(self, message: str) -> NoReturn:
        """Raise the (scrubbed) message for ``main`` to print."""
        raise UsageError(scrub(message))

    def parse_args(  # type: ignore[override]  # only the list form is used
        self, args: Sequence[str] | None = None, namespace: None = None
    ) -> argparse.Namespace:
        """Parse ``args``; an unknown flag is named (never its value) with the closest one."""
        for arg in args or ():
            if arg == "--":
                break
            name = arg.partition("=")[0]
            if name.startswith("--") and name not in self._option_string_actions:
                close = difflib.get_close_matches(name, list(self._option_string_actions), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.error(f"unknown flag {name[:40]}{hint}")
        return super().parse_args(args, namespace)


class _Once(argparse.Action):
    """A flag that may be given once; a second time is refused instead of overwriting."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} was given twice; give it once")
        setattr(namespace, self.dest, values)


class _NotAFlag(argparse.Action):
    """An input of the action that the command line takes elsewhere, or not at all."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs="?", **kwargs)  # type: ignore[arg-type]  # argparse's own keywords

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,  # noqa: ARG002 - argparse's signature
        values: object,  # noqa: ARG002 - never echoed: it may be a token
        option_string: str | None = None,
    ) -> None:
        parser.error(f"{option_string}: {self.help}")


def _state(text: str) -> str:
    """The positional event state: ``start``, ``stop`` or ``auto``."""
    value = text.strip().lower()
    if value in ("start", "stop", "auto"):
        return value
    if value == "wrap":
        raise argparse.ArgumentTypeError(
            f"wrap comes first: {PROG} wrap [flags] -- COMMAND [ARGS...]"
        )
    raise argparse.ArgumentTypeError(f"{shown(text)} is not start, stop or auto")


def key_value(text: str) -> str:
    """``KEY=VALUE`` (an empty value removes an automatic attribute)."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{shown(text)} is not KEY=VALUE")
    return text


def boolean(text: str) -> bool:
    """``true`` or ``false``, in any case."""
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{shown(text)} is not true or false")
    return value == "true"


def started_at(text: str) -> float:
    """Seconds since the epoch (what a start prints), or an RFC 3339 time with an offset."""
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise argparse.ArgumentTypeError(
                "expected seconds since the epoch or an RFC 3339 time"
            ) from None
        if moment.tzinfo is None:
            raise argparse.ArgumentTypeError(
                "an RFC 3339 time needs an offset, e.g. +00:00"
            ) from None
        value = moment.timestamp()
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError("expected seconds since the epoch or an RFC 3339 time")
    return value


def send_parser(state: str | None = None) -> Parser:
    """``last9-change-event [start|stop|auto] [flags]``: send one event; with ``state``, the
    parser of ``last9-change-event <state> [flags]`` (its own ``--help``)."""
    what = {
        None: "Send a Last9 change event (a deployment marker): `start` before a deploy, "
        "`stop` after it.",
        "start": "Send a start event, before a deploy.",
        "stop": "Send a stop event, after a deploy; --outcome says how it went.",
        "auto": "Send a start or a stop as a GitHub deployment_status event says.",
    }[state]
    usage = f"{PROG} {state} [flags]" if state else f"{PROG} [start|stop|auto] [flags]"
    parser = Parser(
        prog=f"{PROG} {state}" if state else PROG,
        usage=f"{usage}\n       {PROG} wrap [flags] -- COMMAND [ARGS...]",
        description=f"{what} To send both around a command, use `wrap` (see "
        f"`{PROG} wrap --help`). The result goes to stdout (--output), the log to stderr.",
        epilog=f"{EXIT_SEND}\n{environment_help()}\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    if state is None:
        parser.add_argument(
            "state",
            nargs="?",
            type=_state,
            metavar="start|stop|auto",
            help="the event state, like --event-state (default: start)",
        )
    _flags(parser, wrap=False)
    parser.add_argument(
        "--started-at",
        action=_Once,
        type=started_at,
        metavar="TIME",
        help="when the deployment started (what the start printed as started-at: seconds since "
        "the epoch, or RFC 3339); gives a stop its duration_seconds",
    )
    parser.add_argument(
        "--output",
        action=_Once,
        choices=OUTPUTS,
        help="json (the default): one JSON object, for scripts; text: NAME=value lines "
        "(LAST9_STATUS, LAST9_DEPLOYMENT_ID, LAST9_DEPLOYMENT_STARTED_AT...) for people, "
        "`eval` and GitLab's dotenv reports",
    )
    return parser


def wrap_parser() -> Parser:
    """``last9-change-event wrap [flags] -- COMMAND [ARGS...]``: start, run, stop."""
    parser = Parser(
        prog=f"{PROG} wrap",
        usage=f"{PROG} wrap [flags] -- COMMAND [ARGS...]",
        description="Send a start event, run COMMAND (stdin, stdout and stderr are its own; "
        "SIGINT and SIGTERM are passed on to it), then send a stop event with outcome "
        "(success, failure or cancelled), duration_seconds and exit_code, and exit with "
        "COMMAND's exit code. Last9 being down or misconfigured never stops COMMAND from "
        "running and never changes the exit code: --fail-on governs the events only. wrap "
        "prints nothing on stdout: its log goes to stderr.",
        epilog=f"{EXIT_WRAP}\n{environment_help()}\n{EXAMPLES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _flags(parser, wrap=True)
    return parser


def _flags(parser: argparse.ArgumentParser, *, wrap: bool) -> None:
    """A flag for each input of the table (``wrap`` takes fewer), ``--attribute``, and the
    inputs without a flag, which say why when used as one."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    refused = parser.add_argument_group(
        "inputs of the GitHub Action that are not flags here (using one is an error)"
    )
    for spec in SPECS:
        row = spec.row
        if spec.flag is None:
            refused.add_argument(f"--{spec.name}", action=_NotAFlag, help=row.why_no_flag)
            continue
        if wrap and not row.wrap:
            continue
        names = (spec.flag, *row.aliases)
        text = row.help + (f" (env: {row.env})" if row.env else "")
        if row.cli == "switch":
            parser.add_argument(
                *names, dest=spec.field, action="store_true", default=None, help=text
            )
        elif row.cli == "many":
            parser.add_argument(
                *names, dest=spec.field, action="append", metavar=row.metavar, help=text
            )
        else:
            kind = boolean if row.cli == "bool" else str
            parser.add_argument(
                *names, dest=spec.field, action=_Once, type=kind, metavar=row.metavar, help=text
            )
        if spec.name == "attributes":
            parser.add_argument(
                "--attribute",
                action="append",
                type=key_value,
                metavar="KEY=VALUE",
                help="an extra attribute; repeat it for more; KEY= removes an automatic one",
            )
