"""The world the step runs in, read once at the edge and passed down frozen.

``Context`` holds what the CI says about this run (``CiRun``), what an earlier start of the job
exported (``LAST9_DEPLOYMENT_*``), what an armed start left for the post step (``STATE_*``),
and the switches the runner sets. Only the edge (``edge.py``) builds it from the environment;
everything below reads its fields.
"""

from __future__ import annotations

from typing import NamedTuple

from last9_change_event.ci import CiRun
from last9_change_event.ci._model import NONE

#: Exported by a start through ``$GITHUB_ENV`` for the stop steps after it.
ID_VARIABLE = "LAST9_DEPLOYMENT_ID"
STARTED_AT_VARIABLE = "LAST9_DEPLOYMENT_STARTED_AT"

#: What an armed start saves in ``$GITHUB_STATE``; the post step reads ``STATE_<name>``.
STATE_ARMED = "auto_stop"
STATE_DEPLOYMENT_ID = "deployment_id"
STATE_STARTED_AT = "started_at"
STATE_ACCESS_TOKEN = "access_token"  # noqa: S105 - a state name, not a secret
STATE_SERVICES = "services"


class Armed(NamedTuple):
    """What a start left for its post step: whether it armed it, and for what."""

    armed: bool = False
    deployment_id: str | None = None
    started_at: float | None = None
    access_token: str | None = None
    #: The services whose start may have landed; ``None`` when the state did not say.
    services: tuple[str | None, ...] | None = None


class Context(NamedTuple):
    """Everything the step knows besides its inputs and the time."""

    ci: CiRun = NONE
    exported_id: str | None = None
    exported_started_at: float | None = None
    armed: Armed = Armed()
    #: Step debugging is on (``ACTIONS_STEP_DEBUG``/``RUNNER_DEBUG``): tracebacks are shown.
    debug: bool = False
