"""The step, from raw inputs to its report: parse, plan, arm, send, report.

``run`` takes values only (raw inputs, a ``Context``, a reporter); the edge (``edge.py``) reads
the environment and the files and calls it for the runner's main step, its post step and the
command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from last9_change_event.context import Context
from last9_change_event.conversation import Tracker, converse
from last9_change_event.errors import ActionError, MissingTokenError
from last9_change_event.inputs import SECRET_INPUTS, Inputs, fail_on_of, parse_inputs
from last9_change_event.plan import Plan, make_plan, resolve_auto
from last9_change_event.report import Ending, Result, arm, internal, report, show
from last9_change_event.retry import Deadline
from last9_change_event.tokens import AuthFlow, Token
from last9_change_event.workflow import Reporter


def run(
    raw: Mapping[str, str],
    context: Context,
    reporter: Reporter,
    *,
    stage: str = "main",
    clock: Callable[[], float] = time.time,
    cancelled: Callable[[], bool] = lambda: False,
) -> Result:
    """Run the step once; every ending is reported, and the exit code follows ``fail-on``."""
    for name in SECRET_INPUTS:
        reporter.mask(raw.get(name, "").strip())
    if stage == "post":
        reporter.mask(context.armed.access_token)
        if not context.armed.armed:
            reporter.debug("Post step: auto-stop was not armed by a start, so nothing to send.")
            return Result(0, {})
        if context.armed.services == ():
            reporter.info("Post step: no start of this job reached Last9, so no stop is sent.")
            return Result(0, {})
        if context.armed.from_export:
            reporter.info(
                "Post step: this runner passed no saved state (as act, Gitea and Forgejo "
                "runners do); the stop is sent from this step's own export, with a new token."
            )
    ending = Ending(fail_on=fail_on_of(raw))
    ending.step = context.step
    try:
        resolved = resolve_auto(_stage_inputs(parse_inputs(raw), context, stage), context.ci)
        if resolved is None:
            reporter.info("The deployment is neither starting nor done: nothing is sent.")
            ending.status = "skipped"
            return report(reporter, ending)
        inputs = ending.inputs = resolved
        auth = AuthFlow(
            access_token=inputs.access_token,
            refresh_token=inputs.refresh_token,
            clock=clock,
            mask=reporter.mask,
            org=inputs.org,
            warn=reporter.warning,
        )
        ending.token = _check(inputs, auth)
        plan = ending.plan = make_plan(inputs, context, datetime.fromtimestamp(int(clock()), UTC))
        show(reporter, inputs, plan)
        ending.armed = arm(reporter, inputs, plan, context.step)
        if inputs.dry_run:
            ending.status = "dry-run"
        else:
            ending.token = _send(
                inputs=inputs,
                plan=plan,
                auth=auth,
                reporter=reporter,
                ending=ending,
                cancelled=cancelled,
            )
            ending.status = "sent"
    except ActionError as error:
        ending.error = error
    except Exception as error:  # noqa: BLE001 - the boundary: a bug still ends as a report
        ending.error = internal(error, debug=context.debug, reporter=reporter)
    return report(reporter, ending)


def _stage_inputs(inputs: Inputs, context: Context, stage: str) -> Inputs:
    """The post step sends the stop of the armed start, for the services it may have reached."""
    if stage != "post":
        return inputs
    armed = context.armed
    return inputs._replace(
        event_state="stop",
        auto_stop=False,
        timestamp=None,
        deployment_id=armed.deployment_id or inputs.deployment_id,
        access_token=armed.access_token or inputs.access_token,
        service_names=tuple(s for s in armed.services or () if s) or inputs.service_names,
    )


def _check(inputs: Inputs, auth: AuthFlow) -> Token | None:
    """Local checks before any call; the given access token when it is good to use."""
    if not (inputs.refresh_token or inputs.access_token) and not inputs.dry_run:
        raise MissingTokenError(
            "Neither `refresh-token` nor `access-token` has a value. Workflows run for a "
            "fork's pull request or by Dependabot get no secrets, so the input is empty.",
            remedy="Pass `refresh-token: ${{ secrets.LAST9_REFRESH_TOKEN }}` and check the "
            "secret exists; skip the step for forks with `if: "
            "github.event.pull_request.head.repo.fork != true`, or set `fail-on: never`.",
        )
    return auth.check()


def _send(
    *,
    inputs: Inputs,
    plan: Plan,
    auth: AuthFlow,
    reporter: Reporter,
    ending: Ending,
    cancelled: Callable[[], bool],
) -> Token:
    """Send every event on one session, in a worker thread the deadline and a cancel bound."""
    # Imported here: a dry run or a configuration error never loads requests and urllib3.
    from last9_change_event.client import Last9Client  # noqa: PLC0415

    deadline = Deadline(inputs.timeout)
    tracker = Tracker(len(plan.payloads))

    def conversation() -> Token:
        with Last9Client(inputs.api_url, deadline, log=reporter.info) as client:
            tokens = [
                client.send_event(inputs.org, body, auth, tracker.observer(index))
                for index, body in enumerate(plan.bodies())
            ]
        return tokens[-1]

    try:
        token = converse(conversation, deadline, cancelled)
    finally:
        ending.landed = tuple(plan.services[i] for i in tracker.may_have_landed())
        ending.token = ending.token or auth.current
    reporter.info(
        f"Last9 recorded the {inputs.event_state} event `{inputs.event_name}`"
        + (f" for deployment {plan.deployment_id}." if plan.deployment_id else ".")
    )
    return token
