"""The command line's flags: two parsers (send an event, wrap a command) and their help.

Flags mirror the action's inputs (``--event-name`` for ``event-name``). Tokens come only from
the environment, which shells do not keep in their history. Repeatable flags accumulate
(``--service-name``, ``--attribute``); every other flag given twice is refused, never silently
overwritten. Argument errors never echo anything shaped like a token.
"""

from __future__ import annotations

import argparse
import difflib
import math
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

from last9_change_event import __version__
from last9_change_event.cli_voice import ENV_INPUTS, scrub
from last9_change_event.errors import UsageError

PROG = "last9-change-event"
OUTPUTS = ("json", "text")

ENVIRONMENT_HELP = """\
environment variables:
  LAST9_REFRESH_TOKEN   the write pair's refresh token (Last9 -> Settings -> API Access)
  LAST9_ACCESS_TOKEN    a write access token, used as is while valid (optional)
  LAST9_ORG             stands in for --org
  LAST9_API_URL         stands in for --api-url
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
  start and stop as separate commands (the stop gets the start's duration):
    eval "$(last9-change-event start --org acme --output text)"; export LAST9_DEPLOYMENT_ID \\
      LAST9_DEPLOYMENT_STARTED_AT
    ./deploy.sh; last9-change-event stop --org acme --outcome "$?"
"""

FAIL_ON_SEND = (
    "which failures fail the command (exit 1): any; config (the default: configuration and "
    "token errors fail, a Last9 outage only warns); never"
)
FAIL_ON_WRAP = (
    "which failures to send the events are reported as errors rather than warnings: any, "
    "config (the default) or never. It governs the events only: the command always runs, and "
    "wrap always exits with the command's exit code"
)


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


def state(text: str) -> str:
    """The positional event state: ``start``, ``stop`` or ``auto``."""
    value = text.strip().lower()
    if value in ("start", "stop", "auto"):
        return value
    if value == "wrap":
        raise argparse.ArgumentTypeError(
            f"wrap comes first: {PROG} wrap [flags] -- COMMAND [ARGS...]"
        )
    raise argparse.ArgumentTypeError("expected start, stop or auto (the value is not shown)")


def key_value(text: str) -> str:
    """``KEY=VALUE`` (an empty value removes an automatic attribute)."""
    key, sep, _ = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError("expected KEY=VALUE (the value is not shown)")
    return text


def boolean(text: str) -> str:
    """``true`` or ``false``, in any case."""
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError("expected true or false")
    return value


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


def send_parser() -> Parser:
    """``last9-change-event [start|stop|auto] [flags]``: send one event."""
    parser = Parser(
        prog=PROG,
        usage=f"{PROG} [start|stop|auto] [flags]\n       {PROG} wrap [flags] -- COMMAND [ARGS...]",
        description="Send a Last9 change event (a deployment marker): `start` before a deploy, "
        "`stop` after it. To send both around a command, use `wrap` (see "
        f"`{PROG} wrap --help`). The result goes to stdout (--output), the log to stderr.",
        epilog=ENVIRONMENT_HELP + "\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "state",
        nargs="?",
        type=state,
        metavar="start|stop|auto",
        help="the event state, like --event-state (default: start)",
    )
    parser.add_argument(
        "--event-state",
        action=_Once,
        type=state,
        metavar="start|stop|auto",
        help="start or stop; auto reads it from a GitHub deployment_status event (in_progress "
        "starts; success, failure and error stop, with that outcome; other states send nothing)",
    )
    _common(parser)
    parser.add_argument(
        "--outcome",
        action=_Once,
        metavar="OUTCOME",
        help="attribute outcome on a stop, e.g. success or failure",
    )
    parser.add_argument(
        "--started-at",
        action=_Once,
        type=started_at,
        metavar="TIME",
        help="when the deployment started (what the start printed as started-at: seconds since "
        "the epoch, or RFC 3339); gives a stop its duration_seconds",
    )
    parser.add_argument(
        "--timestamp",
        action=_Once,
        metavar="TIME",
        help="RFC 3339 time of the event, with an offset (default: now)",
    )
    parser.add_argument("--fail-on", action=_Once, metavar="any|config|never", help=FAIL_ON_SEND)
    parser.add_argument(
        "--output",
        action=_Once,
        choices=OUTPUTS,
        help="json (the default): one JSON object, for scripts; text: NAME=value lines "
        "(LAST9_STATUS, LAST9_DEPLOYMENT_ID, LAST9_DEPLOYMENT_STARTED_AT...) for people, "
        "`eval` and GitLab's dotenv reports",
    )
    _not_flags(parser)
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
        "running and never changes the exit code. wrap prints nothing on stdout: its log "
        "goes to stderr.",
        epilog=ENVIRONMENT_HELP + "\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    _common(parser)
    parser.add_argument("--fail-on", action=_Once, metavar="any|config|never", help=FAIL_ON_WRAP)
    _not_flags(parser)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--org",
        action=_Once,
        metavar="ORG",
        help="Last9 organization slug, the {org} in .../api/v4/organizations/{org}/ "
        f"(env: {ENV_INPUTS['org']})",
    )
    parser.add_argument(
        "--service-name",
        action="append",
        metavar="NAME",
        help="attribute service_name, as your APM names the service; repeat it for several "
        "services, one event each (default: the repository's name)",
    )
    parser.add_argument(
        "--environment",
        action=_Once,
        metavar="ENV",
        help="attributes deployment_environment and env, e.g. production (default: the CI's)",
    )
    parser.add_argument(
        "--deployment-id",
        action=_Once,
        metavar="ID",
        help="attribute deployment_id, shared by a start and its stop (default: from the CI "
        "run, e.g. GitLab's pipeline id)",
    )
    parser.add_argument(
        "--attribute",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="an extra attribute; repeat it for more; KEY= removes an automatic one",
    )
    parser.add_argument(
        "--attributes",
        action=_Once,
        metavar="TEXT",
        help="extra attributes as a JSON object or KEY=VALUE lines (--attribute wins)",
    )
    parser.add_argument(
        "--event-name",
        action=_Once,
        metavar="NAME",
        help="the event's name (default: deployment)",
    )
    parser.add_argument(
        "--data-source",
        action=_Once,
        metavar="NAME",
        help="the Last9 cluster (data source) to store the event in",
    )
    parser.add_argument(
        "--ci-attributes",
        "--github-attributes",
        action=_Once,
        type=boolean,
        metavar="true|false",
        help="add the attributes read from the CI or the git checkout (default: true)",
    )
    parser.add_argument(
        "--workflow-dispatch-inputs",
        action="store_true",
        help="on a GitHub workflow_dispatch run, add its inputs as input_<name> attributes",
    )
    parser.add_argument(
        "--api-url",
        action=_Once,
        metavar="URL",
        help=f"scheme and host of the Last9 API (default: https://app.last9.io; "
        f"env: {ENV_INPUTS['api-url']})",
    )
    parser.add_argument(
        "--timeout",
        action=_Once,
        metavar="SECONDS",
        help="seconds each event may spend talking to Last9, retries included (default: 60)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="check the flags, print the payload, send nothing; needs no token",
    )


def _not_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "inputs of the GitHub Action that are not flags here (using one is an error)"
    )
    group.add_argument(
        "--refresh-token",
        action=_NotAFlag,
        help="tokens are read from LAST9_REFRESH_TOKEN only: shells keep flags in their history",
    )
    group.add_argument(
        "--access-token",
        action=_NotAFlag,
        help="tokens are read from LAST9_ACCESS_TOKEN only: shells keep flags in their history",
    )
    group.add_argument(
        "--auto-stop",
        action=_NotAFlag,
        help="the action's post step sends the stop at the end of a GitHub job; here use "
        f"`{PROG} wrap -- COMMAND`, which sends the stop when COMMAND ends",
    )
