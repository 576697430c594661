"""The runner's front-end: the action's main and post steps, split as the runner splits them.

``main`` and ``post`` are what ``entrypoint.py`` and ``post.py`` run. ``runner_step`` runs the
main step's inputs (``INPUT_*``, read by actions-toolkit) through the core, or, for the post
step, the stop of the start an ``auto-stop`` armed; its reporter writes workflow commands and
file commands (``workflow.GitHubReporter``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from last9_change_event.attributes import valid_text
from last9_change_event.core.context import STATE_RAN, Context
from last9_change_event.core.inputs import SECRET_INPUTS, SPECS, Inputs, fail_on_of, parse_inputs
from last9_change_event.edge import streams
from last9_change_event.edge.process import Signals, environment, instant_retries, read_context
from last9_change_event.edge.workflow import FILE_COMMANDS, GitHubReporter, Reporter

if TYPE_CHECKING:
    from last9_change_event.core.report import Result


def main() -> int:
    """The action's main step, as the runner runs it."""
    return _step("main")


def post() -> int:
    """The action's post step: sends the stop of an ``auto-stop`` start, else nothing."""
    return _step("post")


def _step(stage: str) -> int:
    streams.guard_descriptors()
    try:
        with Signals() as signals:
            env = environment()
            result = runner_step(
                stage,
                env,
                runner_inputs(),
                GitHubReporter({name: env.get(f"GITHUB_{name}", "") for name in FILE_COMMANDS}),
                cancelled=signals.received,
            )
    finally:
        streams.settle()
    return result.exit_code


def runner_step(
    stage: str,
    env: Mapping[str, str],
    raw: Mapping[str, str],
    reporter: Reporter,
    *,
    cancelled: Callable[[], bool] = lambda: False,
) -> Result:
    """One of the runner's steps over the core, split as the runner splits them.

    The main step saves its ``ran`` state first thing (so that its post step can tell a runner
    that keeps state from one that drops it) and runs its inputs through the core. The post
    step sends the stop of the start an ``auto-stop`` armed, for the services it may have
    reached, else nothing.
    """
    # Imported here: nothing heavy loads before the signal handlers are set.
    from last9_change_event.core.report import Result  # noqa: PLC0415
    from last9_change_event.core.run import run  # noqa: PLC0415

    instant_retries(env)
    context = step_context(env, raw)
    for name in SECRET_INPUTS:
        reporter.mask(raw.get(name, "").strip())
    if stage == "main":
        reporter.save_state(STATE_RAN, "true")
        read = partial(parse_inputs, raw)
        return run(read, context, reporter, fail_on=fail_on_of(raw), cancelled=cancelled)
    armed = context.armed
    reporter.mask(armed.access_token)
    if not armed.armed:
        reporter.debug("Post step: auto-stop was not armed by a start, so nothing to send.")
        return Result(0, {})
    if armed.services == ():
        reporter.info("Post step: no start of this job reached Last9, so no stop is sent.")
        return Result(0, {})
    if armed.from_export:
        reporter.info(
            "Post step: this runner passed no saved state (as act, Gitea and Forgejo "
            "runners do); the stop is sent from this step's own export, with a new token."
        )

    def stop() -> Inputs:
        inputs = parse_inputs(raw)
        return inputs._replace(
            event_state="stop",
            auto_stop=False,
            timestamp=None,
            deployment_id=armed.deployment_id or inputs.deployment_id,
            access_token=armed.access_token or inputs.access_token,
            service_names=tuple(s for s in armed.services or () if s) or inputs.service_names,
        )

    return run(stop, context, reporter, fail_on=fail_on_of(raw), cancelled=cancelled)


def runner_inputs() -> dict[str, str]:
    """Each input as actions-toolkit reads it: ``INPUT_<NAME>``, upper-cased, hyphens kept."""
    # actions_toolkit.core imports requests (for its OIDC client) as it loads: only the runner's
    # steps load it, not the command line.
    from actions_toolkit import core  # noqa: PLC0415

    return {
        spec.name: valid_text(core.get_input(spec.name, trim_whitespace=False)) for spec in SPECS
    }


def step_context(env: Mapping[str, str], raw: Mapping[str, str]) -> Context:
    """The context of a runner's step: the event payload only when its attributes are wanted,
    a ``workflow_dispatch`` run's inputs only when asked (raw inputs: they are validated later)."""
    return read_context(
        env,
        with_event=raw.get("github-attributes", "").strip().lower() != "false",
        workflow_dispatch_inputs=raw.get("workflow-dispatch-inputs", "").strip().lower() == "true",
    )
