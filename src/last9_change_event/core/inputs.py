"""The action's inputs, once: one table, and the parser that turns raw text into ``Inputs``.

``Inputs`` is the table. Each field is one input, annotated with its ``Row``: the parser from
raw text to the field's type, the default action.yml declares, whether it is a secret, and how
the command line takes it (its flag, its variable, or why it has none) with its help. The
action's parser (``parse_inputs``), the command line's argparse parsers, and the tests that keep
action.yml and the README in step all read this one table. Adding an input is one field here,
plus action.yml and the README, which a test keeps in step.

Raw values come from ``INPUT_*`` variables (the runner), as strings; the command line gives
typed values for the flags it parses itself (switches, repeated flags). Every invalid value
raises an ``InputError`` that names the input, before anything is sent.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, cast, get_type_hints
from urllib.parse import urlsplit

from last9_change_event.attributes import Attributes, clean_value, label_key
from last9_change_event.errors import FailOn, InputError, Voice
from last9_change_event.redact import LOOKS_LIKE_JWT, TOKEN_CHARS

EventState = Literal["start", "stop", "auto"]
#: Raw text (the default applied, white space trimmed) to a typed value, for the named input.
Parse = Callable[[str, str], Any]
#: How the command line takes an input: a flag with a value parsed by the row (``text``), a
#: flag without one (``switch``), ``true|false`` (``bool``), a flag given once per value
#: (``many``), or no flag at all (``none``: ``why_no_flag`` says why).
CliKind = Literal["text", "switch", "bool", "many", "none"]


class Row(NamedTuple):
    """One input: how it is parsed, its default, and how the command line takes it."""

    parse: Parse
    default: str = ""
    secret: bool = False
    cli: CliKind = "text"
    #: The flag's name at the command line, when it is not ``--<name>``; other names it takes.
    flag: str = ""
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    #: The variable that stands in for it at the command line.
    env: str | None = None
    #: Whether ``wrap`` takes the flag too (it sets the state, outcome and time itself).
    wrap: bool = True
    why_no_flag: str = ""
    #: The command line's help for the flag, or for the variable.
    help: str = ""
    #: For ``many``: the parser of the values given one per flag.
    parse_many: Callable[[str, Sequence[str]], Any] | None = None


class Spec(NamedTuple):
    """A row of the table with its input's name and ``Inputs`` field."""

    name: str
    field: str
    row: Row

    @property
    def default(self) -> str:
        """The action.yml default."""
        return self.row.default

    @property
    def secret(self) -> bool:
        """Whether the value is a secret (masked, never shown)."""
        return self.row.secret

    @property
    def flag(self) -> str | None:
        """The command line's flag, if it has one."""
        if self.row.cli == "none":
            return None
        return self.row.flag or f"--{self.name}"


MAX_TIMEOUT_SECONDS = 3600.0
MAX_USER_ATTRIBUTES = 100
MAX_NAME_CHARS = 256
MAX_SERVICES = 20
_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # controls and line separators
_TOKENS_ONLY_IN_ENV = "tokens are read from {} only: shells keep flags in their history"


class Inputs(NamedTuple):
    """Every input, validated and typed: the table (see the module's docstring)."""

    org: Annotated[
        str,
        Row(
            lambda _n, text: _org(text),
            env="LAST9_ORG",
            metavar="ORG",
            help="Last9 organization slug, the {org} in .../api/v4/organizations/{org}/",
        ),
    ]
    refresh_token: Annotated[
        str | None,
        Row(
            _token,
            secret=True,
            cli="none",
            env="LAST9_REFRESH_TOKEN",
            why_no_flag=_TOKENS_ONLY_IN_ENV.format("LAST9_REFRESH_TOKEN"),
            help="the write pair's refresh token (Last9 -> Settings -> API Access)",
        ),
    ]
    access_token: Annotated[
        str | None,
        Row(
            _token,
            secret=True,
            cli="none",
            env="LAST9_ACCESS_TOKEN",
            why_no_flag=_TOKENS_ONLY_IN_ENV.format("LAST9_ACCESS_TOKEN"),
            help="a write access token, used as is while valid (optional)",
        ),
    ]
    event_name: Annotated[
        str,
        Row(
            lambda name, text: _single_line(name, text, required=True),
            "deployment",
            metavar="NAME",
            help="the event's name (default: deployment)",
        ),
    ]
    event_state: Annotated[
        EventState,
        Row(
            _event_state,
            "start",
            metavar="start|stop|auto",
            wrap=False,
            help="start or stop; auto reads it from a GitHub deployment_status event "
            "(in_progress starts; success, failure and error stop, with that outcome; other "
            "states send nothing)",
        ),
    ]
    attributes: Annotated[
        Attributes,
        Row(
            lambda _n, text: parse_attributes(text),
            metavar="TEXT",
            help="extra attributes as a JSON object or KEY=VALUE lines (--attribute wins)",
        ),
    ]
    github_attributes: Annotated[
        bool,
        Row(
            _boolean,
            "true",
            cli="bool",
            flag="--ci-attributes",
            aliases=("--github-attributes",),
            metavar="true|false",
            help="add the attributes read from the CI or the git checkout (default: true)",
        ),
    ]
    workflow_dispatch_inputs: Annotated[
        bool,
        Row(
            _boolean,
            "false",
            cli="switch",
            help="on a GitHub workflow_dispatch run, add its inputs as input_<name> attributes",
        ),
    ]
    service_names: Annotated[
        tuple[str, ...],
        Row(
            lambda name, text: parse_service_names(name, text.splitlines()),
            cli="many",
            metavar="NAME",
            help="attribute service_name, as your APM names the service; repeat it for several "
            "services, one event each (default: the repository's name)",
            parse_many=parse_service_names,
        ),
    ]
    environment: Annotated[
        str | None,
        Row(
            _single_line,
            metavar="ENV",
            help="attributes deployment_environment and env, e.g. production (default: the CI's)",
        ),
    ]
    outcome: Annotated[
        str | None,
        Row(
            _single_line,
            metavar="OUTCOME",
            wrap=False,
            help="attribute outcome on a stop: success or failure, as wrap sends it",
        ),
    ]
    deployment_id: Annotated[
        str | None,
        Row(
            _single_line,
            metavar="ID",
            help="attribute deployment_id, shared by a start and its stop (default: from the "
            "CI run, e.g. GitLab's pipeline id)",
        ),
    ]
    data_source: Annotated[
        str | None,
        Row(
            _single_line,
            metavar="NAME",
            help="the Last9 cluster (data source) to store the event in",
        ),
    ]
    timestamp: Annotated[
        datetime | None,
        Row(
            lambda _n, text: _timestamp(text),
            metavar="TIME",
            wrap=False,
            help="RFC 3339 time of the event, with an offset (default: now)",
        ),
    ]
    api_url: Annotated[
        str,
        Row(
            lambda _n, text: parse_api_url(text),
            "https://app.last9.io",
            env="LAST9_API_URL",
            metavar="URL",
            help="scheme and host of the Last9 API (default: https://app.last9.io)",
        ),
    ]
    fail_on: Annotated[
        FailOn,
        Row(
            lambda name, text: _choice(name, text, ("any", "config", "never")),
            "config",
            metavar="any|config|never",
            help="which failures are errors (exit 1) rather than warnings: any; config (the "
            "default: configuration and token errors; a Last9 outage only warns); never",
        ),
    ]
    dry_run: Annotated[
        bool,
        Row(
            _boolean,
            "false",
            cli="switch",
            help="check the flags, print the payload, send nothing; needs no token",
        ),
    ]
    auto_stop: Annotated[
        bool,
        Row(
            _boolean,
            "false",
            cli="none",
            why_no_flag="the action's post step sends the stop at the end of a GitHub job; here "
            "use `wrap -- COMMAND`, which sends the stop when COMMAND ends",
        ),
    ]
    timeout: Annotated[
        float,
        Row(
            lambda _n, text: _timeout(text),
            "60",
            metavar="SECONDS",
            help="seconds each event may spend talking to Last9, retries included (default: 60)",
        ),
    ]


def _table() -> tuple[Spec, ...]:
    """The rows of ``Inputs``, in its order; the input's name is the field's, kebab-cased."""
    # The module as globals: the parsers in the rows are looked up there when they are called.
    hints = get_type_hints(Inputs, globalns=globals(), include_extras=True)
    specs = []
    for field in Inputs._fields:
        [row] = [meta for meta in hints[field].__metadata__ if isinstance(meta, Row)]
        name = "service-name" if field == "service_names" else field.replace("_", "-")
        specs.append(Spec(name, field, row))
    return tuple(specs)


def fail_on_of(raw: Mapping[str, str]) -> FailOn:
    """The failure policy, or ``config`` when it is itself invalid (used to report input errors)."""
    value = (raw.get("fail-on", "").strip() or DEFAULTS["fail-on"]).lower()
    return cast(FailOn, value) if value in ("any", "config", "never") else "config"


def parse_inputs(raw: Mapping[str, str], typed: Mapping[str, object] | None = None) -> Inputs:
    """Validate the raw input strings (a missing or empty one takes the action.yml default);
    ``typed`` holds values a front-end has already typed, by input name, parsed no further."""
    typed = typed or {}
    values = [
        typed[spec.name]
        if spec.name in typed
        else spec.row.parse(spec.name, raw.get(spec.name, "").strip() or spec.default)
        for spec in SPECS
    ]
    inputs = Inputs._make(values)
    if inputs.auto_stop and inputs.event_state != "start":
        raise InputError(
            "auto-stop",
            lambda v: (
                f"{v.setting('auto-stop', 'true')} sends the stop event itself, so it "
                "belongs on a `start` step."
            ),
            remedy=lambda v: (
                f"Set {v.setting('event-state', 'start')} on this step, or drop "
                f"{v.name('auto-stop')}."
            ),
        )
    return inputs


def _choice(name: str, text: str, allowed: tuple[str, ...]) -> str:
    value = text.lower()
    if value not in allowed:
        choices = ", ".join(f"`{a}`" for a in allowed)
        raise InputError(
            name,
            f"{shown(value)} is not one of {choices}.",
            remedy=lambda v: f"Set {v.name(name)} to one of {choices}.",
        )
    return value


def _event_state(name: str, text: str) -> str:
    if text.lower() == "both":
        raise InputError(
            name,
            "`both` (of last9/deployment-marker-action) sends a start and a stop at one instant: "
            "a window of no length, which says no more than a stop alone.",
            remedy=lambda v: (
                f"For one marker after the deploy, set {v.setting(name, 'stop')}; "
                f"for the deploy's real window, send `start` before it with "
                f"{v.setting('auto-stop', 'true')} (README: Moving from "
                "last9/deployment-marker-action)."
            ),
        )
    return _choice(name, text, ("start", "stop", "auto"))


def _boolean(name: str, text: str) -> bool:
    value = text.lower()
    if value not in ("true", "false"):
        raise InputError(
            name,
            f"{shown(value)} is not a boolean.",
            remedy=lambda v: f"Set {v.name(name)} to `true` or `false`.",
        )
    return value == "true"


def _org(value: str) -> str:
    if not value:
        raise InputError(
            "org",
            "the Last9 organization slug is required.",
            remedy=lambda v: (
                f"Set {v.name('org')} to the slug in your API base URL: "
                "https://app.last9.io/api/v4/organizations/<org>/..."
            ),
            kind="missing",
        )
    if not _ORG.fullmatch(value):
        raise InputError(
            "org",
            f"{shown(value)} is not an organization slug (letters, digits, `-` and `_`).",
            remedy="Copy the slug from the base URL on Last9's API Access page.",
        )
    return value


def _token(name: str, value: str) -> str | None:
    if not value:
        return None
    if not TOKEN_CHARS.fullmatch(value):
        raise InputError(
            name,
            "the token contains characters no Last9 token has (spaces, line breaks or quotes).",
            remedy="Store the token in the secret exactly as Last9 shows it, on one line.",
        )
    return value


def _single_line(name: str, value: str, *, required: bool = False) -> str | None:
    if not value:
        if required:
            raise InputError(
                name,
                "must not be empty.",
                remedy=lambda v: f"Set {v.name(name)} or leave it out.",
                kind="missing",
            )
        return None
    if _CONTROL.search(value):
        raise InputError(
            name,
            "must be a single line of text.",
            remedy=lambda v: f"Remove the line breaks from {v.name(name)}.",
        )
    if len(value) > MAX_NAME_CHARS:
        raise InputError(
            name,
            f"is {len(value)} characters long; at most {MAX_NAME_CHARS} are accepted.",
            remedy=lambda v: f"Shorten {v.name(name)}.",
        )
    return value


def parse_service_names(name: str, values: Iterable[str]) -> tuple[str, ...]:
    """The service names, each on its own (a line of the input, or a flag's value)."""
    names: list[str] = []
    for value in values:
        service = value.strip()
        if not service:
            continue
        if len(service) > MAX_NAME_CHARS or _CONTROL.search(service):
            raise InputError(
                name,
                f"{shown(service)} is not a service name.",
                remedy="Give one service name per line, as your APM reports it.",
            )
        if service not in names:
            names.append(service)
    if len(names) > MAX_SERVICES:
        raise InputError(
            name,
            f"names {len(names)} services; at most {MAX_SERVICES} are accepted in one step.",
            remedy="Split the services over several steps.",
        )
    return tuple(names)


def _timestamp(value: str) -> datetime | None:
    if not value:
        return None
    remedy = (
        "Use RFC 3339 with an offset, e.g. `2024-01-15T17:57:22+05:30`, or leave it out for now."
    )
    if not _RFC3339.fullmatch(value):
        raise InputError(
            "timestamp", f"{shown(value)} is not an RFC 3339 time with an offset.", remedy=remedy
        )
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InputError(
            "timestamp", f"{shown(value)} is not a valid time.", remedy=remedy
        ) from None
    if parsed.year < 1971:
        raise InputError("timestamp", f"{shown(value)} is before 1971.", remedy=remedy)
    return parsed


def _timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= MAX_TIMEOUT_SECONDS):
        raise InputError(
            "timeout",
            f"{shown(value)} is not a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT_SECONDS:g}.",
            remedy=lambda v: (
                f"Set {v.name('timeout')} to the seconds the {v.step} may spend "
                f"talking to Last9, e.g. {v.setting('timeout', '60')}."
            ),
        )
    return seconds


def parse_api_url(value: str) -> str:
    """``scheme://host[:port]`` of the API; https, or plain http to a loopback host only."""

    def remedy(v: Voice) -> str:
        return f"Set {v.name('api-url')} to the scheme and host only, e.g. `https://app.last9.io`."

    if _CONTROL.search(value) or any(char.isspace() for char in value):
        raise InputError("api-url", "holds white space or control characters.", remedy=remedy)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InputError("api-url", f"{shown(value)} is not a URL.", remedy=remedy) from None
    if port == 0:
        raise InputError("api-url", f"{shown(value)} names port 0.", remedy=remedy)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not _valid_host(host):
        raise InputError("api-url", f"{shown(value)} is not an https URL.", remedy=remedy)
    if parts.username is not None or parts.password is not None:
        raise InputError("api-url", "must not hold credentials.", remedy=remedy)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(
            "api-url",
            f"{shown(value)} has a path; the action adds `/api/v4/...` itself.",
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
    return attribute_pairs(text_pairs(text))


def text_pairs(text: str) -> list[tuple[str, str | None]]:
    """The key and value pairs of a JSON object or of ``key=value`` lines, as written."""
    text = text.strip()
    if not text:
        return []
    return _json_pairs(text) if text[0] in "{[" else _line_pairs(text)


def attribute_pairs(pairs: Sequence[tuple[str, str | None]]) -> Attributes:
    """Key and value pairs as attributes: label-safe keys, single-line values, no token; a
    later pair wins, and a ``None`` value removes an automatic attribute."""
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
                f"the key {shown(key)} cannot be a label name.",
                remedy="Use keys made of letters, digits and `_`.",
            )
        if safe in ("event_name", "event_state"):
            raise InputError(
                "attributes",
                f"`{safe}` is set by Last9 itself and cannot be an attribute.",
                remedy=lambda v: f"Use {v.name('event-name')} and {v.name('event-state')} instead.",
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
                f"the value of {shown(key)} is not a string, number, boolean or null.",
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


def shown(value: str) -> str:
    """A user's value, quoted and shortened for an error message; never one that looks like a
    token (a JWT), which is named, not shown."""
    if LOOKS_LIKE_JWT.search(value):
        return "(a value that looks like a token, not shown)"
    text = value if len(value) <= 60 else value[:57] + "..."
    return json.dumps(text, ensure_ascii=False)


SPECS: tuple[Spec, ...] = _table()
DEFAULTS: Mapping[str, str] = {spec.name: spec.default for spec in SPECS}
SECRET_INPUTS: tuple[str, ...] = tuple(spec.name for spec in SPECS if spec.secret)
BY_NAME: Mapping[str, Spec] = {spec.name: spec for spec in SPECS}
