"""One step, from its inputs to its report: parse, check, plan, arm, send, report.

``run`` takes values only: how to read the inputs, the failure policy that applies if they
cannot be read, a ``Context`` and a reporter. Each front-end calls it: the runner's steps
(``github.steps``, which owns the main/post split) and the command line (``cli.command``),
which reads the typed ``Result`` it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from last9_change_event.core.context import Context
from last9_change_event.core.inputs import Inputs
from last9_change_event.core.plan import Plan, make_plan, resolve_auto
from last9_change_event.core.report import Ending, Reporter, Result, arm, internal, report, show
from last9_change_event.errors import ActionError, FailOn, MissingTokenError
from last9_change_event.last9.conversation import Tracker, converse
from last9_change_event.last9.retry import Deadline
from last9_change_event.last9.tokens import AuthFlow, Token


def run(
    read: Callable[[], Inputs],
    context: Context,
    reporter: Reporter,
    *,
    fail_on: FailOn,
    clock: Callable[[], float] = time.time,
    cancelled: Callable[[], bool] = lambda: False,
) -> Result:
    """Run the step once; every ending is reported, and the exit code follows ``fail-on``.

    ``read`` gives the inputs (an ``InputError`` it raises is reported like any other);
    ``fail_on`` is the policy that applies until they are read."""
    ending = Ending(fail_on=fail_on)
    ending.step = context.step
    try:
        resolved = resolve_auto(read(), context.ci)
        if resolved is None:
            reporter.info("The deployment is neither starting nor done: nothing is sent.")
            ending.status = "skipped"
            return report(reporter, ending)
        inputs = ending.inputs = resolved
        ending.fail_on = inputs.fail_on
        auth = AuthFlow(
            access_token=inputs.access_token,
            refresh_token=inputs.refresh_token,
            clock=clock,
            mask=reporter.mask,
            org=inputs.org,
            warn=lambda title, text: reporter.warning(title, reporter.voice.render(text)),
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
    from last9_change_event.last9.client import Last9Client  # noqa: PLC0415

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
