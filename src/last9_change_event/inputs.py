"""Parse the action's inputs, once, into a frozen and typed ``Inputs``.

The raw values come from ``INPUT_*`` variables (the runner) or from command-line flags; both give
a mapping of kebab-case input names to strings. Every invalid value raises an ``InputError`` that
names the input and says how to fix it, before anything is sent.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, NamedTuple, cast
from urllib.parse import urlsplit

from last9_change_event.attributes import Attributes, clean_value, label_key
from last9_change_event.errors import FailOn, InputError
from last9_change_event.redact import LOOKS_LIKE_JWT

EventState = Literal["start", "stop", "auto"]


class InputSpec(NamedTuple):
    """One input of action.yml: its name and the default the runner would merge in."""

    name: str
    default: str = ""
    secret: bool = False


SPECS: tuple[InputSpec, ...] = (
    InputSpec("org"),
    InputSpec("refresh-token", secret=True),
    InputSpec("access-token", secret=True),
    InputSpec("event-name", "deployment"),
    InputSpec("event-state", "start"),
    InputSpec("attributes"),
    InputSpec("github-attributes", "true"),
    InputSpec("workflow-dispatch-inputs", "false"),
    InputSpec("service-name"),
    InputSpec("environment"),
    InputSpec("outcome"),
    InputSpec("deployment-id"),
    InputSpec("data-source"),
    InputSpec("timestamp"),
    InputSpec("api-url", "https://app.last9.io"),
    InputSpec("fail-on", "config"),
    InputSpec("dry-run", "false"),
    InputSpec("auto-stop", "false"),
    InputSpec("timeout", "60"),
)
DEFAULTS: Mapping[str, str] = {spec.name: spec.default for spec in SPECS}
SECRET_INPUTS: tuple[str, ...] = tuple(spec.name for spec in SPECS if spec.secret)

MAX_TIMEOUT_SECONDS = 3600.0
MAX_USER_ATTRIBUTES = 100
MAX_NAME_CHARS = 256
MAX_SERVICES = 20
_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # controls and line separators


class Inputs(NamedTuple):
    """Every input, validated and typed."""

    org: str
    refresh_token: str | None
    access_token: str | None
    event_name: str
    event_state: EventState
    attributes: Attributes
    github_attributes: bool
    workflow_dispatch_inputs: bool
    service_names: tuple[str, ...]
    environment: str | None
    outcome: str | None
    deployment_id: str | None
    data_source: str | None
    timestamp: datetime | None
    api_url: str
    fail_on: FailOn
    dry_run: bool
    auto_stop: bool
    timeout: float


def fail_on_of(raw: Mapping[str, str]) -> FailOn:
    """The failure policy, or ``config`` when it is itself invalid (used to report input errors)."""
    value = _value(raw, "fail-on").lower()
    return cast(FailOn, value) if value in ("any", "config", "never") else "config"


def parse_inputs(raw: Mapping[str, str]) -> Inputs:
    """Validate the raw input strings; missing or empty values take the action.yml default."""
    if _value(raw, "event-state").lower() == "both":
        raise InputError(
            "event-state",
            "`both` (of last9/deployment-marker-action) sends a start and a stop at one instant: "
            "a window of no length, which says no more than a stop alone.",
            remedy="For one marker after the deploy, set `event-state: stop`; for the deploy's "
            "real window, send `start` before it with `auto-stop: true` (README: Moving from "
            "last9/deployment-marker-action).",
        )
    state = _choice(raw, "event-state", ("start", "stop", "auto"))
    auto_stop = _boolean(raw, "auto-stop")
    if auto_stop and state != "start":
        raise InputError(
            "auto-stop",
            "`auto-stop: true` sends the stop event itself, so it belongs on a `start` step.",
            remedy="Set `event-state: start` on this step, or drop `auto-stop`.",
        )
    return Inputs(
        org=_org(raw),
        refresh_token=_token(raw, "refresh-token"),
        access_token=_token(raw, "access-token"),
        event_name=_single_line(raw, "event-name", required=True) or "",
        event_state=cast(EventState, state),
        attributes=parse_attributes(_value(raw, "attributes")),
        github_attributes=_boolean(raw, "github-attributes"),
        workflow_dispatch_inputs=_boolean(raw, "workflow-dispatch-inputs"),
        service_names=_service_names(raw),
        environment=_single_line(raw, "environment"),
        outcome=_single_line(raw, "outcome"),
        deployment_id=_single_line(raw, "deployment-id"),
        data_source=_single_line(raw, "data-source"),
        timestamp=_timestamp(raw),
        api_url=parse_api_url(_value(raw, "api-url")),
        fail_on=cast(FailOn, _choice(raw, "fail-on", ("any", "config", "never"))),
        dry_run=_boolean(raw, "dry-run"),
        auto_stop=auto_stop,
        timeout=_timeout(raw),
    )


def _value(raw: Mapping[str, str], name: str) -> str:
    value = raw.get(name, "").strip()
    return value or DEFAULTS[name]


def _choice(raw: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = _value(raw, name).lower()
    if value not in allowed:
        choices = ", ".join(f"`{a}`" for a in allowed)
        raise InputError(
            name,
            f"{_shown(value)} is not one of {choices}.",
            remedy=f"Set `{name}` to one of {choices}.",
        )
    return value


def _boolean(raw: Mapping[str, str], name: str) -> bool:
    value = _value(raw, name).lower()
    if value not in ("true", "false"):
        raise InputError(
            name, f"{_shown(value)} is not a boolean.", remedy=f"Set `{name}` to `true` or `false`."
        )
    return value == "true"


def _org(raw: Mapping[str, str]) -> str:
    value = _value(raw, "org")
    if not value:
        raise InputError(
            "org",
            "the Last9 organization slug is required.",
            remedy="Set `org` to the slug in your API base URL: "
            "https://app.last9.io/api/v4/organizations/<org>/...",
        )
    if not _ORG.fullmatch(value):
        raise InputError(
            "org",
            f"{_shown(value)} is not an organization slug (letters, digits, `-` and `_`).",
            remedy="Copy the slug from the base URL on Last9's API Access page.",
        )
    return value


def _token(raw: Mapping[str, str], name: str) -> str | None:
    value = raw.get(name, "").strip()
    if not value:
        return None
    if not _TOKEN.fullmatch(value):
        raise InputError(
            name,
            "the token contains characters no Last9 token has (spaces, line breaks or quotes).",
            remedy="Store the token in the secret exactly as Last9 shows it, on one line.",
        )
    return value


def _single_line(raw: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    value = _value(raw, name)
    if not value:
        if required:
            raise InputError(name, "must not be empty.", remedy=f"Set `{name}` or leave it out.")
        return None
    if _CONTROL.search(value):
        raise InputError(
            name, "must be a single line of text.", remedy=f"Remove the line breaks from `{name}`."
        )
    if len(value) > MAX_NAME_CHARS:
        raise InputError(
            name,
            f"is {len(value)} characters long; at most {MAX_NAME_CHARS} are accepted.",
            remedy=f"Shorten `{name}`.",
        )
    return value


def _service_names(raw: Mapping[str, str]) -> tuple[str, ...]:
    names: list[str] = []
    for line in _value(raw, "service-name").splitlines():
        name = line.strip()
        if not name:
            continue
        if len(name) > MAX_NAME_CHARS or _CONTROL.search(name):
            raise InputError(
                "service-name",
                f"{_shown(name)} is not a service name.",
                remedy="Give one service name per line, as your APM reports it.",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_SERVICES:
        raise InputError(
            "service-name",
            f"names {len(names)} services; at most {MAX_SERVICES} are accepted in one step.",
            remedy="Split the services over several steps.",
        )
    return tuple(names)


def _timestamp(raw: Mapping[str, str]) -> datetime | None:
    value = _value(raw, "timestamp")
    if not value:
        return None
    remedy = (
        "Use RFC 3339 with an offset, e.g. `2024-01-15T17:57:22+05:30`, or leave it out for now."
    )
    if not _RFC3339.fullmatch(value):
        raise InputError(
            "timestamp", f"{_shown(value)} is not an RFC 3339 time with an offset.", remedy=remedy
        )
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InputError(
            "timestamp", f"{_shown(value)} is not a valid time.", remedy=remedy
        ) from None
    if parsed.year < 1971:
        raise InputError("timestamp", f"{_shown(value)} is before 1971.", remedy=remedy)
    return parsed


def _timeout(raw: Mapping[str, str]) -> float:
    value = _value(raw, "timeout")
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= MAX_TIMEOUT_SECONDS):
        raise InputError(
            "timeout",
            f"{_shown(value)} is not a number of seconds between 0 and {MAX_TIMEOUT_SECONDS:g}.",
            remedy="Set `timeout` to the seconds the step may spend talking to Last9, e.g. `60`.",
        )
    return seconds


def parse_api_url(value: str) -> str:
    """``scheme://host[:port]`` of the API; https, or plain http to a loopback host only."""
    remedy = "Set `api-url` to the scheme and host only, e.g. `https://app.last9.io`."
    if _CONTROL.search(value) or any(char.isspace() for char in value):
        raise InputError("api-url", "holds white space or control characters.", remedy=remedy)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InputError("api-url", f"{_shown(value)} is not a URL.", remedy=remedy) from None
    if port == 0:
        raise InputError("api-url", f"{_shown(value)} names port 0.", remedy=remedy)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not _valid_host(host):
        raise InputError("api-url", f"{_shown(value)} is not an https URL.", remedy=remedy)
    if parts.username is not None or parts.password is not None:
        raise InputError("api-url", "must not hold credentials.", remedy=remedy)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(
            "api-url",
            f"{_shown(value)} has a path; the action adds `/api/v4/...` itself.",
            remedy=remedy,
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise InputError(
            "api-url",
            "plain http would send the token unencrypted; it is allowed only to a loopback host.",
            remedy="Use `https://`.",
        )
    shown_host = f"[{host}]" if ":" in host else host.lower()
    return f"{parts.scheme}://{shown_host}" + (f":{port}" if port is not None else "")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host))
    return True


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_attributes(text: str) -> Attributes:
    """A JSON object or ``key=value`` lines, as label-safe keys and single-line values.

    A JSON ``null`` (or ``key=`` with nothing after it) removes an automatic attribute.
    """
    text = text.strip()
    if not text:
        return ()
    pairs = _json_pairs(text) if text[0] in "{[" else _line_pairs(text)
    if len(pairs) > MAX_USER_ATTRIBUTES:
        raise InputError(
            "attributes",
            f"has {len(pairs)} attributes; at most {MAX_USER_ATTRIBUTES} are accepted.",
            remedy="Keep the attributes that identify the change; each becomes a label in Last9.",
        )
    result: dict[str, str | None] = {}
    for key, value in pairs:
        safe = label_key(key)
        if safe is None:
            raise InputError(
                "attributes",
                f"the key {_shown(key)} cannot be a label name.",
                remedy="Use keys made of letters, digits and `_`.",
            )
        if safe in ("event_name", "event_state"):
            raise InputError(
                "attributes",
                f"`{safe}` is set by Last9 itself and cannot be an attribute.",
                remedy="Use the `event-name` and `event-state` inputs instead.",
            )
        if value is not None and LOOKS_LIKE_JWT.search(value):
            raise InputError(
                "attributes",
                f"the value of `{safe}` looks like a token; it is not shown, and not sent.",
                remedy="Attributes become labels anyone in Last9 can read: never put a token in "
                "one.",
            )
        result[safe] = None if value is None else clean_value(value)
    return tuple(result.items())


def _json_pairs(text: str) -> list[tuple[str, str | None]]:
    remedy = 'Give a JSON object of strings, e.g. `{"team": "payments"}`, or `key=value` lines.'
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError("attributes", "is not valid JSON.", remedy=remedy) from None
    if not isinstance(data, dict):
        raise InputError("attributes", "must be a JSON object.", remedy=remedy)
    pairs: list[tuple[str, str | None]] = []
    for key, value in data.items():
        if value is None or isinstance(value, str):
            pairs.append((key, value))
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, int):
            pairs.append((key, str(value)))
        elif isinstance(value, float) and math.isfinite(value):
            pairs.append((key, json.dumps(value)))
        else:
            raise InputError(
                "attributes",
                f"the value of {_shown(key)} is not a string, number, boolean or null.",
                remedy="Labels hold flat text: turn nested values into strings.",
            )
    return pairs


def _line_pairs(text: str) -> list[tuple[str, str | None]]:
    pairs: list[tuple[str, str | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep or not key.strip():
            raise InputError(
                "attributes",
                f"line {number} is not `key=value`.",
                remedy="Write one `key=value` per line, or a JSON object.",
            )
        value = value.strip()
        pairs.append((key.strip(), value or None))
    return pairs


def _shown(value: str) -> str:
    """A user's value, quoted and shortened for an error message; never one that looks like a
    token (a JWT), which is named, not shown."""
    if LOOKS_LIKE_JWT.search(value):
        return "(a value that looks like a token, not shown)"
    text = value if len(value) <= 60 else value[:57] + "..."
    return json.dumps(text, ensure_ascii=False)
