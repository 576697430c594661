"""The command line: the same action, from any CI or a laptop.

Flags mirror the action's inputs (``--event-name`` for ``event-name``); tokens come only from the
environment (``LAST9_REFRESH_TOKEN``, ``LAST9_ACCESS_TOKEN``), never from flags, which shells
keep in their history. ``LAST9_ORG`` and ``LAST9_API_URL`` stand in for ``--org`` and
``--api-url``. The outcome is printed on stdout as one JSON object (without any token).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence

from last9_change_event import __version__
from last9_change_event.edge import Signals, environment, read_context, retry_policy
from last9_change_event.inputs import DEFAULTS, SPECS
from last9_change_event.main import run
from last9_change_event.workflow import FILE_COMMANDS, ConsoleReporter, GitHubReporter, Reporter

#: Inputs read from the environment instead of flags.
ENV_INPUTS: Mapping[str, str] = {
    "refresh-token": "LAST9_REFRESH_TOKEN",
    "access-token": "LAST9_ACCESS_TOKEN",
    "org": "LAST9_ORG",
    "api-url": "LAST9_API_URL",
}
_FLAGS_ONLY_IN_ACTION = frozenset({"refresh-token", "access-token", "auto-stop"})


class _RefuseToken(argparse.Action):
    """A token given as a flag: refused, without echoing it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,  # noqa: ARG002 - argparse's signature
        values: object,  # noqa: ARG002 - never echoed
        option_string: str | None = None,
    ) -> None:
        variable = ENV_INPUTS[self.dest.replace("_", "-")]
        parser.error(
            f"{option_string} is not accepted: pass the token in the {variable} environment "
            "variable, since shells keep flags in their history."
        )


def build_parser() -> argparse.ArgumentParser:
    """One flag per input, except the tokens (environment only) and ``auto-stop`` (runner only)."""
    parser = argparse.ArgumentParser(
        prog="last9-change-event",
        description="Send a Last9 change event (a deployment marker). Tokens are read from "
        "LAST9_REFRESH_TOKEN and/or LAST9_ACCESS_TOKEN.",
        allow_abbrev=False,
    )
    for name in ("refresh-token", "access-token"):
        parser.add_argument(f"--{name}", action=_RefuseToken, help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "state", nargs="?", choices=("start", "stop"), help="the event state (or --event-state)"
    )
    for spec in SPECS:
        if spec.name in _FLAGS_ONLY_IN_ACTION:
            continue
        default = f" (default: {spec.default})" if spec.default else ""
        env = f" (env: {ENV_INPUTS[spec.name]})" if spec.name in ENV_INPUTS else ""
        if spec.name == "dry-run":
            parser.add_argument(
                "--dry-run",
                action="store_const",
                const="true",
                default="",
                help="validate and print the payload, send nothing; needs no token",
            )
            continue
        parser.add_argument(f"--{spec.name}", default="", metavar="VALUE", help=f"{default}{env}")
    return parser


def raw_inputs(args: argparse.Namespace, env: Mapping[str, str]) -> dict[str, str]:
    """The inputs as the action would see them: flags, then ``LAST9_*`` variables, then defaults."""
    raw: dict[str, str] = {}
    for spec in SPECS:
        value = getattr(args, spec.name.replace("-", "_"), "") or ""
        if not value and spec.name in ENV_INPUTS:
            value = env.get(ENV_INPUTS[spec.name], "")
        raw[spec.name] = value or DEFAULTS[spec.name]
    if args.state:
        raw["event-state"] = args.state
    return raw


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the action once from the command line; returns the exit code."""
    env = environment() if env is None else env
    args = build_parser().parse_args(argv)
    reporter: Reporter = (
        GitHubReporter({name: env.get(f"GITHUB_{name}", "") for name in FILE_COMMANDS})
        if env.get("GITHUB_ACTIONS") == "true"
        else ConsoleReporter()
    )
    raw = raw_inputs(args, env)
    with Signals() as signals:
        context = read_context(env, with_event=raw["github-attributes"].lower() != "false")
        result = run(raw, context, reporter, policy=retry_policy(env), cancelled=signals.received)
    shown: dict[str, object] = {
        name: value for name, value in result.outputs.items() if name != "access-token"
    }
    if "payload" in shown:
        shown["payload"] = json.loads(str(shown["payload"]))
    reporter.result(json.dumps(shown, indent=2, ensure_ascii=False))
    return result.exit_code
