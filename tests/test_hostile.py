"""Hostile and odd inputs, as properties: whatever a workflow passes, the step ends in `sent` or
`dry-run`, or in a configuration error that names the input; never in an unexpected exception,
never with a request built from an unvalidated value, never with text that the runner would read
as a workflow command.

The steps run in-process (``main.run`` with a ``GitHubReporter`` writing to a buffer and to real
file-command files) against one fake Last9, so that hypothesis can try many examples quickly.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from last9_change_event.attributes import MAX_VALUE_CHARS, label_key
from last9_change_event.core.inputs import (
    MAX_USER_ATTRIBUTES,
    SECRET_INPUTS,
    SPECS,
    parse_api_url,
)
from last9_change_event.edge.workflow import Reporter
from last9_change_event.errors import InputError
from tests.fake_last9 import EXCHANGE_PATH, FakeLast9, validate_event
from tests.leaks import WATCH
from tests.runner import Job, StepResult

OTHER_KEY = "a key that is not the fake's, long enough for HS256"
NAMES = tuple(spec.name for spec in SPECS)
#: Titles of errors about a token, besides `Last9: invalid <input>`: all say which token and why.
TOKEN_TITLES = frozenset(
    {
        "Last9: no token",
        "Last9: refresh token expired",
        "Last9: refresh token rejected",
        "Last9: token lacks write scope",
        "Last9: access token expired",
        "Last9: access token rejected",
        "Last9: token rejected",
    }
)
OUR_COMMANDS = frozenset({"add-mask", "debug", "warning", "error", "group", "endgroup"})
_TOKEN_HEADER = re.compile(r"Bearer [A-Za-z0-9._~+/=-]+")
_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")

#: 200 examples per property: about 1700 hostile inputs in all, within the suite's 30 s budget.
FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies ------------------------------------------------------------------------------

#: Text as a workflow could pass it: anything, with the odd values people (and attackers) use.
odd_text = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\n",
            "TRUE",
            "None",
            "null",
            "0",
            "-1",
            "1e309",
            "nan",
            "../../../etc/passwd",
            "%2e%2e%2f",
            "acme/../admin",
            "acme?x=1#y",
            "${{ secrets.LAST9_REFRESH_TOKEN }}",
            "x\n::error title=pwned::injected",
            "::add-mask::x",
            "##[set-output name=status;]sent",
            "a\u2028b",
            "a\x85b",
            "\u202eevil",
            "bad\udcffbyte",  # an environment variable that was not UTF-8
            "\ud800",
            "x" * 5000,
        ]
    ),
)


def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value: nested, arrays, numbers, null, unicode, newlines."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
        st.sampled_from(["line one\nline two", "tab\there", "x" * 10_000, "ключ", "🚀", "\ud800"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


attribute_keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["team", "team.name", "1st", "__name__", "event_name", "EVENT-STATE", "ключ", "a b", ""]
    ),
)
attribute_objects = st.dictionaries(attribute_keys, json_values(4), max_size=8)

# -- running a step in-process ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLast9]:
    """One fake Last9 for the module; each example resets it."""
    with FakeLast9(org="acme") as fake:
        yield fake


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the examples' file-command files go."""
    return tmp_path_factory.mktemp("hostile")


def step(raw: Mapping[str, str], folder: Path) -> StepResult:
    """Run the main step in-process, as the runner would, with instant retries."""
    stepped = Job(folder / uuid.uuid4().hex, event=None, merge_defaults=False).run(raw)
    secrets = Reporter()
    for name in SECRET_INPUTS:
        secrets.mask(raw.get(name, "").strip())
    assert stepped.outputs == {
        name: value if name == "access-token" else secrets.redact(value)
        for name, value in stepped.outputs.items()
    }, "no output but the access token holds a secret"
    assert stepped.outputs["status"] in ("sent", "dry-run", "failed", "skipped")
    return stepped


def inputs(fake: FakeLast9, **overrides: str) -> dict[str, str]:
    """Valid inputs for the fake, as the runner passes them (with action.yml defaults)."""
    raw = {spec.name: spec.default for spec in SPECS}
    raw.update(
        {"org": "acme", "refresh-token": fake.mint("refresh", ttl=None), "api-url": fake.url}
    )
    raw.update(overrides)
    return raw


# -- what every example owes -----------------------------------------------------------------


def ends_well_or_names(result: StepResult, names: set[str]) -> None:
    """`sent`/`dry-run`, or one error (or warning, by `fail-on`) that names one of ``names``."""
    status = result.outputs["status"]
    annotations = result.annotations("error") + result.annotations("warning")
    problems = [(t, m) for t, m in annotations if t != "Last9: organization mismatch"]
    if status in ("sent", "dry-run"):
        assert result.annotations("error") == []
        assert result.returncode == 0
        return
    [(title, message)] = problems
    # A configuration error: it fails the step, unless `fail-on: never` made it a warning.
    failed = result.annotations("error") != []
    assert result.returncode == (1 if failed else 0)
    assert failed or message.endswith("(not failing the step: `fail-on: never`)"), message
    if title in TOKEN_TITLES:  # these name the token (or the pair) in the title already
        assert names & {"refresh-token", "access-token"}, (title, message)
        return
    assert title in {f"Last9: invalid {name}" for name in names}, (title, message)
    assert any(f"`{name}`" in message or name.replace("-", " ") in message for name in names)


def requests_were_valid(fake: FakeLast9) -> None:
    """Everything the fake received was built from validated values, under ``/api/v4/``."""
    for request in fake.received:
        assert request.path.startswith("/api/v4/")
        if request.method == "POST":
            assert request.path == EXCHANGE_PATH
            assert isinstance(request.json, dict)
            assert set(request.json) == {"refresh_token"}
        else:
            assert request.method == "PUT"
            match = re.fullmatch(r"/api/v4/organizations/([^/]+)/change_events", request.path)
            assert match is not None
            assert _ORG.fullmatch(match.group(1))
            assert _TOKEN_HEADER.fullmatch(request.headers["x-last9-api-token"])
            assert validate_event(request.json) is None, request.body[:200]
            assert request.status in (200, 401, 403), request.body[:200]  # never 400: invalid


def no_command_injection(stdout: str) -> None:
    """Read stdout as the runner does: only this action's own commands are ever processed."""
    paused_until: str | None = None
    for line in stdout.splitlines():
        if paused_until is not None:
            if line == f"::{paused_until}::":
                paused_until = None
            continue
        command = re.match(r"::([^ :]+)(?: [^:]*)?::(.*)", line.lstrip())
        if command is None:
            assert "##[" not in line, line  # the legacy form is read anywhere in a line
        elif command.group(1) == "stop-commands":
            paused_until = command.group(2)
            assert re.fullmatch(r"[0-9a-f]{32}", paused_until)
        else:
            assert command.group(1) in OUR_COMMANDS, line
    assert paused_until is None


def check(result: StepResult, fake: FakeLast9, names: set[str]) -> None:
    """The whole contract for one example."""
    ends_well_or_names(result, names)
    requests_were_valid(fake)
    no_command_injection(result.stdout)
    assert len(fake.events()) == (
        len(payloads(result)) if result.outputs["status"] == "sent" else 0
    )
    WATCH.tally("hostile input")


def payloads(result: StepResult) -> list[dict[str, Any]]:
    """The bodies the step reported, one per service."""
    payload = json.loads(result.outputs["payload"])
    return payload if isinstance(payload, list) else [payload]


# -- properties ------------------------------------------------------------------------------


@FAST
@given(
    changed=st.dictionaries(
        st.sampled_from([n for n in NAMES if n != "dry-run"]), odd_text, min_size=1
    )
)
def test_any_text_in_any_input_in_a_dry_run(
    server: FakeLast9, folder: Path, changed: dict[str, str]
) -> None:
    """Any text in any input (a dry run): a result, or an error naming one of the inputs."""
    server.reset()
    result = step({**inputs(server, **{"dry-run": "true"}), **changed}, folder)
    check(result, server, set(changed))
    assert server.received == []


@FAST
@given(
    changed=st.dictionaries(
        st.sampled_from([n for n in NAMES if n not in ("api-url", "timeout")]),
        odd_text,
        min_size=1,
    )
)
def test_any_text_in_the_inputs_of_a_real_send(
    server: FakeLast9, folder: Path, changed: dict[str, str]
) -> None:
    """Any text in the inputs of a real send (`api-url` is the fake): the fake receives only
    valid bodies, under `/api/v4/`, or nothing at all."""
    server.reset()
    org = changed.get("org", "").strip()
    raw = inputs(server, **changed)
    if "refresh-token" not in changed and _ORG.fullmatch(org):
        raw["refresh-token"] = server.mint("refresh", ttl=None, org=org)
    result = step(raw, folder)
    check(result, server, set(changed))


@FAST
@given(attributes=st.one_of(attribute_objects, json_values()))
@example(attributes={f"key_{n}": n for n in range(MAX_USER_ATTRIBUTES + 1)})
@example(attributes={"deep": json.loads("[" * 50 + "]" * 50)})
@example(attributes={"huge": "x" * 1_000_000, "lines": "a\nb\r\nc\u2028d"})
def test_attributes_json_of_every_shape(server: FakeLast9, folder: Path, attributes: Any) -> None:
    """Attributes JSON of any shape is sent as flat one-line labels, or named as invalid."""
    server.reset()
    result = step(inputs(server, attributes=json.dumps(attributes)), folder)
    check(result, server, {"attributes"})
    if not isinstance(attributes, dict | list):
        return  # a bare JSON string, number or null is read as `key=value` text
    flat = isinstance(attributes, dict) and all(
        value is None or isinstance(value, str | int | float) for value in attributes.values()
    )
    keys = [label_key(key) for key in attributes] if isinstance(attributes, dict) else []
    acceptable = (
        flat
        and len(attributes) <= MAX_USER_ATTRIBUTES
        and None not in keys
        and not {"event_name", "event_state"} & set(keys)
    )
    assert (result.outputs["status"] == "sent") == acceptable
    if acceptable:
        [event] = server.events()
        for key, value in event["attributes"].items():
            assert "\n" not in value, key
            assert len(value) <= MAX_VALUE_CHARS, key


@FAST
@given(
    text=st.one_of(
        odd_text,
        st.lists(st.tuples(attribute_keys, st.text(max_size=20)), max_size=5).map(
            lambda pairs: "\n".join(f"{k}={v}" for k, v in pairs)
        ),
    )
)
def test_attributes_as_any_text(server: FakeLast9, folder: Path, text: str) -> None:
    """Attributes as `key=value` lines or any other text: sent, or named as invalid."""
    server.reset()
    result = step(inputs(server, attributes=text), folder)
    check(result, server, {"attributes"})


odd_timestamps = st.one_of(
    odd_text,
    st.builds(
        lambda moment, sep, offset, digits: (
            moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
            + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "")
            + offset
        ),
        st.datetimes(),
        st.sampled_from(["T", "t", " ", "_", ""]),
        st.sampled_from(
            ["Z", "z", "+05:30", "-00:00", "+14:00", "-23:59", "+24:00", "+0530", "", "UTC"]
        ),
        st.integers(0, 6),
    ),
    st.sampled_from(
        [
            "2024-01-15T17:57:22+05:30",
            "2024-02-30T00:00:00Z",
            "2024-01-15T23:59:60Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+14:00",
            "\uff12\uff10\uff12\uff14-01-15T17:57:22Z",  # full-width digits
            "2024-01-15T17:57:22.123456789Z",
            "1705321642",
            "now",
        ]
    ),
)


@FAST
@given(timestamp=odd_timestamps)
def test_timestamps_in_odd_forms(server: FakeLast9, folder: Path, timestamp: str) -> None:
    """A timestamp in any form is sent as RFC 3339 with an offset, or named as invalid."""
    server.reset()
    result = step(inputs(server, timestamp=timestamp), folder)
    check(result, server, {"timestamp"})
    if result.outputs["status"] == "sent":
        [event] = server.events()
        assert event["timestamp"] == result.outputs["timestamp"]


claims = st.fixed_dictionaries(
    {},
    optional={
        "exp": st.one_of(
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=10),
            st.booleans(),
            st.lists(st.integers(), max_size=2),
        ),
        "scopes": st.one_of(
            st.lists(st.sampled_from(["write", "read", "admin"]), max_size=3),
            st.text(max_size=6),
            st.integers(),
        ),
        "organization_slug": st.one_of(st.just("acme"), st.text(max_size=10), st.integers()),
        "type": st.sampled_from(["access", "refresh", "Bearer"]),
    },
)


@FAST
@given(
    which=st.sampled_from(["refresh-token", "access-token"]),
    token=st.one_of(
        odd_text,
        claims.map(lambda c: jwt.encode(c, OTHER_KEY, algorithm="HS256")),
        st.just("a.b.c"),
        st.just("eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0."),
    ),
    signed=st.one_of(st.none(), claims),
)
def test_tokens_that_are_not_jwts_or_have_odd_claims(
    server: FakeLast9, folder: Path, which: str, token: str, signed: dict[str, Any] | None
) -> None:
    """A token that is not a JWT, or whose claims are odd: sent, or an error naming the token."""
    server.reset()
    if signed is not None:
        token = jwt.encode(signed, server.key, algorithm="HS256")
        WATCH.track(token)
    result = step(inputs(server, **{which: token}), folder)
    check(result, server, {which})


# -- where a request can go ------------------------------------------------------------------

url_parts = st.fixed_dictionaries(
    {
        "scheme": st.sampled_from(
            ["https", "http", "HTTPS", "ftp", "file", "javascript", "", "https:"]
        ),
        "userinfo": st.sampled_from(["", "user@", "user:pass@", "app.last9.io@", ":@"]),
        "host": st.sampled_from(
            [
                "app.last9.io",
                "APP.LAST9.IO",
                "127.0.0.1",
                "localhost",
                "[::1]",
                "0x7f.1",
                "2130706433",
                "127.0.0.1.nip.io",
                "evil.com\\@app.last9.io",
                "app.last9.io.evil.com",
                "exa mple.com",
                "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # full-width letters
                "xn--e1afmkfd.xn--p1ai",
                "",
            ]
        ),
        "port": st.sampled_from(["", ":443", ":0", ":65536", ":-1", ":abc", ":"]),
        "rest": st.sampled_from(
            ["", "/", "/api", "/..", "/%2e%2e/", "?x=1", "#frag", "#@evil.com", "\\evil.com", "/ "]
        ),
    }
).map(lambda p: f"{p['scheme']}://{p['userinfo']}{p['host']}{p['port']}{p['rest']}")


def accepted_api_url(url: str) -> str | None:
    """``url`` as `api-url` accepts it, or ``None`` when refused with an error naming it."""
    try:
        return parse_api_url(url.strip())
    except InputError as error:
        if error.input_name != "api-url":
            raise
        return None


@settings(max_examples=300, deadline=None)
@given(
    url=st.one_of(url_parts, st.text(), st.from_regex(r"\Ahttps?://[^/]*\Z")),
    org=st.one_of(st.just("acme"), st.text()),
)
def test_api_url_and_org_never_steer_a_request_elsewhere(url: str, org: str) -> None:
    """`api-url` and `org` can only ever give `{api-url}/api/v4/...`: same host, no other scheme,
    no path of their own; plain http only to loopback."""
    base = accepted_api_url(url)
    WATCH.tally("hostile input")
    if base is None:
        return
    prepared = requests.Request("PUT", f"{base}/api/v4/organizations/acme/change_events").prepare()
    assert prepared.url is not None
    sent_to = urlsplit(prepared.url)
    given_host = urlsplit(base)
    assert sent_to.scheme in ("https", "http")
    assert (sent_to.hostname, sent_to.port) == (given_host.hostname, given_host.port)
    assert sent_to.path == "/api/v4/organizations/acme/change_events"
    assert sent_to.username is None
    assert sent_to.password is None
    assert not sent_to.query
    assert not sent_to.fragment
    if sent_to.scheme == "http":
        assert sent_to.hostname in ("127.0.0.1", "::1", "localhost")
    if _ORG.fullmatch(org):
        path = requests.Request("PUT", f"{base}/api/v4/organizations/{org}/change_events")
        assert path.prepare().path_url == f"/api/v4/organizations/{org}/change_events"


@pytest.mark.parametrize(
    "name",
    [
        "##[set-output name=status;]hacked",
        "##[stop-commands]token",
        "::error title=Deploy::failed",
        "v2\n::add-mask::everything",
    ],
    ids=["legacy-set-output", "legacy-stop-commands", "error-command", "new-line-then-command"],
)
def test_text_from_the_event_cannot_inject_workflow_commands(
    fake: FakeLast9, job: Job, name: str
) -> None:
    """A release named like a workflow command (whoever publishes a release names it) is
    printed with command processing paused, so the runner reads no command from it."""
    job.event = {"release": {"tag_name": "v2", "name": name, "html_url": "https://example.com"}}
    result = job.run(
        {"org": "acme", "refresh-token": fake.mint("refresh", ttl=None), "api-url": fake.url}
    )
    assert result.returncode == 0, result.log
    assert " ".join(name.split()) in result.stdout  # printed (on one line), not dropped
    no_command_injection(result.stdout)
    assert result.outputs["status"] == "sent"
