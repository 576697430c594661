"""Wire the modules together: the runner's main step, its post step, and the command line."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from last9_change_event import context, deployment
from last9_change_event.attributes import valid_text
from last9_change_event.errors import ActionError, AuthError, ConfigError, FailOn, fails_step
from last9_change_event.inputs import SECRET_INPUTS, SPECS, Inputs, fail_on_of, parse_inputs
from last9_change_event.plan import Plan, make_plan
from last9_change_event.retry import RetryPolicy
from last9_change_event.summary import render
from last9_change_event.tokens import (
    AccessToken,
    Claims,
    Credentials,
    check_refresh_token,
    read_claims,
    usable,
)
from last9_change_event.workflow import GitHubReporter, Reporter

if TYPE_CHECKING:
    # Imported where a request is made: a dry run or a configuration error never loads
    # requests and urllib3 (about half of the step's start-up time).
    from last9_change_event.client import Last9Client, TokenRejectedError

#: What a start with ``auto-stop`` saves in ``$GITHUB_STATE``; the post step reads ``STATE_<name>``.
STATE_ARMED = "auto_stop"
STATE_DEPLOYMENT_ID = "deployment_id"
STATE_STARTED_AT = "started_at"
STATE_ACCESS_TOKEN = "access_token"  # noqa: S105 - a state name, not a secret


class MissingTokenError(ConfigError):
    """Neither token input has a value: usually a fork's pull request or a Dependabot run."""

    default_title = "Last9: no token"


class Result:
    """How the step ended: its exit code and its outputs."""

    __slots__ = ("exit_code", "outputs")

    def __init__(self, exit_code: int, outputs: dict[str, str] | None = None) -> None:
        self.exit_code = exit_code
        self.outputs: dict[str, str] = {} if outputs is None else outputs

    def __repr__(self) -> str:
        return f"Result(exit_code={self.exit_code!r}, outputs={self.outputs!r})"


def main() -> int:
    """The action's main step, as the runner runs it."""
    env = dict(os.environ)
    return run(runner_inputs(), env, GitHubReporter(env), stage="main").exit_code


def post() -> int:
    """The action's post step: sends the stop of an ``auto-stop`` start, else nothing."""
    env = dict(os.environ)
    return run(runner_inputs(), env, GitHubReporter(env), stage="post").exit_code


def runner_inputs() -> dict[str, str]:
    """Each input as actions-toolkit reads it: ``INPUT_<NAME>``, upper-cased, hyphens kept."""
    # actions_toolkit.core imports requests (for its OIDC client) as it loads: only the runner's
    # steps load it, not the command line nor anything that merely imports this module.
    from actions_toolkit import core  # noqa: PLC0415

    return {spec.name: core.get_input(spec.name, trim_whitespace=False) for spec in SPECS}


def run(
    raw: Mapping[str, str],
    env: Mapping[str, str],
    reporter: Reporter,
    *,
    stage: str = "main",
    policy: RetryPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> Result:
    """Parse, plan, check tokens, send; report once and decide the exit code by ``fail-on``."""
    raw = {name: valid_text(value) for name, value in raw.items()}
    for name in SECRET_INPUTS:
        reporter.mask(raw.get(name, "").strip())
    if stage == "post":
        reporter.mask(env.get(f"STATE_{STATE_ACCESS_TOKEN}"))
        if env.get(f"STATE_{STATE_ARMED}") != "true":
            reporter.debug(
                "Post step: auto-stop was not armed by a sent start, so nothing to send."
            )
            return Result(0)
    step = _Step(reporter, clock, policy)
    try:
        inputs = parse_inputs(raw)
        if stage == "post":
            inputs = _stop_inputs(inputs, env)
        return step.execute(inputs, env, stage)
    except ActionError as error:
        return step.failed(error, fail_on_of(raw))


def _stop_inputs(inputs: Inputs, env: Mapping[str, str]) -> Inputs:
    """The post step's stop: the start's deployment id, its token while valid, the time now."""
    return inputs._replace(
        event_state="stop",
        auto_stop=False,
        timestamp=None,
        deployment_id=env.get(f"STATE_{STATE_DEPLOYMENT_ID}") or inputs.deployment_id,
        access_token=env.get(f"STATE_{STATE_ACCESS_TOKEN}") or inputs.access_token,
    )


class _Step:
    """One run of the step; remembers what it planned so that a failure can report it."""

    def __init__(
        self, reporter: Reporter, clock: Callable[[], float], policy: RetryPolicy | None
    ) -> None:
        self.reporter = reporter
        self.clock = clock
        self.policy = policy
        self.plan: Plan | None = None
        self.org = ""

    def execute(self, inputs: Inputs, env: Mapping[str, str], stage: str) -> Result:
        self.org = inputs.org
        event = context.read_event(env.get("GITHUB_EVENT_PATH"))
        started_at = _float(env.get(f"STATE_{STATE_STARTED_AT}")) if stage == "post" else None
        now = datetime.fromtimestamp(int(self.clock()), UTC)
        plan = self.plan = make_plan(inputs, env, event, now, started_at=started_at)
        given = self._check_tokens(inputs)
        what = f"{inputs.event_state} event `{inputs.event_name}`"
        if inputs.dry_run:
            self.reporter.info(f"Dry run: the {what} is not sent.")
            self._show_payloads(plan)
            return self._finish(inputs, plan, "dry-run", given)
        self.reporter.info(f"Sending the {what} to {inputs.api_url} (organization {inputs.org}).")
        self._show_payloads(plan)
        from last9_change_event.client import Last9Client  # noqa: PLC0415  (see TYPE_CHECKING)

        with Last9Client(
            inputs.api_url,
            timeout=inputs.timeout,
            policy=self.policy,
            log=self.reporter.info,
        ) as client:
            credentials = Credentials(
                access_token=inputs.access_token,
                refresh_token=inputs.refresh_token,
                exchange=lambda refresh: self._masked(client.exchange(refresh)),
                clock=self.clock,
            )
            token = self._deliver(plan, inputs, client, credentials)
        self.reporter.info(
            f"Last9 recorded the {what}"
            + (f" for deployment {plan.deployment_id}." if plan.deployment_id else ".")
        )
        return self._finish(inputs, plan, "sent", token)

    def _check_tokens(self, inputs: Inputs) -> AccessToken | None:
        """Local checks before any call; the given access token when it is good to use."""
        if not (inputs.refresh_token or inputs.access_token) and not inputs.dry_run:
            raise MissingTokenError(
                "Neither `refresh-token` nor `access-token` has a value. Workflows run for a "
                "fork's pull request or by Dependabot get no secrets, so the input is empty.",
                remedy="Pass `refresh-token: ${{ secrets.LAST9_REFRESH_TOKEN }}` and check the "
                "secret exists; skip the step for forks with `if: "
                "github.event.pull_request.head.repo.fork != true`, or set `fail-on: never`.",
            )
        claims: list[Claims] = []
        if inputs.refresh_token:
            claims.append(check_refresh_token(inputs.refresh_token, self.clock()))
        given = usable(inputs.access_token, self.clock()) if inputs.access_token else None
        if inputs.access_token:
            access_claims = read_claims(inputs.access_token)
            if access_claims is not None:
                claims.append(access_claims)
        for found in claims:
            if found.org and found.org != inputs.org:
                self.reporter.warning(
                    "Last9: organization mismatch",
                    f"The token belongs to organization `{found.org}` but `org` is "
                    f"`{inputs.org}`; Last9 will likely refuse it. Check `org`.",
                )
                break
        return given

    def _deliver(
        self, plan: Plan, inputs: Inputs, client: Last9Client, credentials: Credentials
    ) -> AccessToken:
        """Send every payload on one session; returns the token used last."""
        used = [self._send_one(payload, inputs, client, credentials) for payload in plan.payloads]
        return used[-1]

    def _send_one(
        self,
        payload: dict[str, Any],
        inputs: Inputs,
        client: Last9Client,
        credentials: Credentials,
    ) -> AccessToken:
        from last9_change_event.client import TokenRejectedError  # noqa: PLC0415

        token = credentials.token()
        try:
            client.send_event(inputs.org, token.value, payload)
        except TokenRejectedError as rejected:
            renewed = credentials.renew()
            if renewed is None:
                raise _rejected(rejected, renewable=bool(inputs.refresh_token)) from None
            self.reporter.info(
                f"Last9 refused the access token ({rejected.answer.error}); "
                "retrying once with a new one."
            )
            try:
                client.send_event(inputs.org, renewed.value, payload)
            except TokenRejectedError as again:
                raise _rejected(again, renewable=True) from None
            return renewed
        return token

    def _masked(self, token: AccessToken) -> AccessToken:
        self.reporter.mask(token.value)
        return token

    def _show_payloads(self, plan: Plan) -> None:
        with self.reporter.group("Change event payload"):
            for payload in plan.payloads:
                self.reporter.info(json.dumps(payload, indent=2, ensure_ascii=False))

    def _finish(self, inputs: Inputs, plan: Plan, status: str, token: AccessToken | None) -> Result:
        outputs = _plan_outputs(plan)
        outputs["status"] = status
        if token is not None:
            outputs["access-token"] = token.value
            expires_at = _rfc3339(token.expires_at)
            if expires_at is not None:
                outputs["access-token-expires-at"] = expires_at
        for name, value in outputs.items():
            self.reporter.set_output(name, value)
        if inputs.event_state == "start" and plan.deployment_id:
            self.reporter.export_env(deployment.ID_VARIABLE, plan.deployment_id)
            self.reporter.export_env(deployment.STARTED_AT_VARIABLE, f"{plan.epoch:.3f}")
        if inputs.auto_stop:
            self._arm_post_step(plan, token)
        self.reporter.summary(
            render(
                status=status,
                org=inputs.org,
                payloads=plan.payloads,
                deployment_id=plan.deployment_id,
            )
        )
        return Result(0, outputs)

    def _arm_post_step(self, plan: Plan, token: AccessToken | None) -> None:
        self.reporter.save_state(STATE_ARMED, "true")
        self.reporter.save_state(STATE_STARTED_AT, f"{plan.epoch:.3f}")
        if plan.deployment_id:
            self.reporter.save_state(STATE_DEPLOYMENT_ID, plan.deployment_id)
        if token is not None:
            self.reporter.save_state(STATE_ACCESS_TOKEN, token.value)

    def failed(self, error: ActionError, fail_on: FailOn) -> Result:
        fails = fails_step(error, fail_on)
        status = "skipped" if isinstance(error, MissingTokenError) and not fails else "failed"
        if fails:
            self.reporter.error(error.title, error.describe())
        else:
            self.reporter.warning(
                error.title, f"{error.describe()} (not failing the step: `fail-on: {fail_on}`)"
            )
        outputs = _plan_outputs(self.plan) if self.plan else {}
        outputs["status"] = status
        for name, value in outputs.items():
            self.reporter.set_output(name, value)
        self.reporter.summary(
            render(
                status=status,
                org=self.org,
                payloads=self.plan.payloads if self.plan else (),
                deployment_id=self.plan.deployment_id if self.plan else None,
                problem=(error.title, error.describe()),
            )
        )
        return Result(1 if fails else 0, outputs)


def _plan_outputs(plan: Plan) -> dict[str, str]:
    payload: Any = plan.payloads[0] if len(plan.payloads) == 1 else list(plan.payloads)
    return {
        "timestamp": plan.timestamp,
        "deployment-id": plan.deployment_id or "",
        "payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
    }


def _rejected(rejected: TokenRejectedError, *, renewable: bool) -> AuthError:
    if renewable:
        remedy = "Last9 refused a freshly exchanged token too: regenerate the tokens."
    else:
        remedy = "Pass `refresh-token` so the action can renew the access token."
    return AuthError(
        f"Last9 refused the access token (401: {rejected.answer.error}).",
        remedy=remedy,
        title="Last9: access token rejected",
    )


def _rfc3339(epoch: int | None) -> str | None:
    """The time as RFC 3339; ``None`` when unknown or not a date (a token's `exp` in year 10000)."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
