"""The world the step runs in, read once at the edge and passed down frozen.

``Context`` holds what the CI says about this run (``CiRun``), what an earlier start of the job
exported (``LAST9_DEPLOYMENT_*``), what an armed start left for the post step (``STATE_*``),
and the switches the runner sets. Only the edge (``edge.process``) builds it from the environment;
everything below reads its fields.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from last9_change_event.ci import CiRun
from last9_change_event.ci._model import NONE

#: Exported by a start through ``$GITHUB_ENV`` for the stop steps after it.
ID_VARIABLE = "LAST9_DEPLOYMENT_ID"
STARTED_AT_VARIABLE = "LAST9_DEPLOYMENT_STARTED_AT"

#: What an armed start saves in ``$GITHUB_STATE``; the post step reads ``STATE_<name>``.
#: ``ran`` is saved first thing by every main step, armed or not: a post step that sees no
#: ``STATE_*`` at all knows its runner drops saved state (act, Gitea, Forgejo).
STATE_RAN = "ran"
STATE_ARMED = "auto_stop"
STATE_DEPLOYMENT_ID = "deployment_id"
STATE_STARTED_AT = "started_at"
STATE_ACCESS_TOKEN = "access_token"  # noqa: S105 - a state name, not a secret
STATE_SERVICES = "services"

#: An armed start also exports what its stop needs (never a token) under a name of its own
#: step, ``LAST9_AUTO_STOP_<step>``: a runner that drops the post step's state still passes the
#: job's exports, and the step's id (``GITHUB_ACTION``) is the same in its main and post steps.
AUTO_STOP_PREFIX = "LAST9_AUTO_STOP_"


def auto_stop_variable(step: str) -> str:
    """The export that arms the post step of the step whose ``GITHUB_ACTION`` is ``step``.

    Step ids hold letters, digits, ``-`` and ``_``; the name keeps them readable (``-`` as ``_``)
    and adds a digest of the exact id, so that ``a-b`` and ``a_b`` never share one.
    """
    digest = hashlib.sha256(step.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    readable = re.sub(r"[^A-Za-z0-9_]", "_", step)[:64]
    return f"{AUTO_STOP_PREFIX}{readable}_{digest}"


class Armed(NamedTuple):
    """What a start left for its post step: whether it armed it, and for what."""

    armed: bool = False
    deployment_id: str | None = None
    started_at: float | None = None
    access_token: str | None = None
    #: The services whose start may have landed; ``None`` when the state did not say.
    services: tuple[str | None, ...] | None = None
    #: Read from this step's export, not from ``STATE_*``: the runner dropped the saved state
    #: (the token did not travel, so it is exchanged again).
    from_export: bool = False


class Context(NamedTuple):
    """Everything the step knows besides its inputs and the time."""

    ci: CiRun = NONE
    exported_id: str | None = None
    exported_started_at: float | None = None
    armed: Armed = Armed()
    #: The runner's id of this step (``GITHUB_ACTION``): names the step's auto-stop export.
    step: str | None = None
    #: Step debugging is on (``ACTIONS_STEP_DEBUG``/``RUNNER_DEBUG``): tracebacks are shown.
    debug: bool = False
