"""Inputs: every invalid value is an error that names the input; valid ones parse as documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from last9_change_event.attributes import (
    COMMIT_MESSAGE_CHARS,
    MAX_VALUE_CHARS,
    clean_value,
    first_line,
    label_key,
)
from last9_change_event.core.inputs import DEFAULTS, parse_api_url, parse_attributes, parse_inputs
from last9_change_event.errors import InputError

VALID = {"org": "acme", "refresh-token": "a.b.c"}


def parsed(**overrides: str) -> object:
    return parse_inputs({**VALID, **{k.replace("_", "-"): v for k, v in overrides.items()}})


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("org", "", "required"),
        ("org", "acme/../admin", "not an organization slug"),
        ("org", "acme?x=1", "not an organization slug"),
        ("event-state", "finish", "not one of"),
        ("fail-on", "sometimes", "not one of"),
        ("dry-run", "yes", "not a boolean"),
        ("auto-stop", "1", "not a boolean"),
        ("github-attributes", "on", "not a boolean"),
        ("timestamp", "2024-01-15 17:57:22", "RFC 3339"),
        ("timestamp", "2024-01-15T17:57:22", "RFC 3339"),
        ("timestamp", "2024-02-30T10:00:00Z", "not a valid time"),
        ("timestamp", "1700000000", "RFC 3339"),
        ("timeout", "0", "above 0 and at most"),
        ("timeout", "-5", "above 0 and at most"),
        ("timeout", "nan", "above 0 and at most"),
        ("timeout", "soon", "above 0 and at most"),
        ("api-url", "ftp://app.last9.io", "not an https URL"),
        ("api-url", "http://app.last9.io", "plain http"),
        ("api-url", "https://app.last9.io/api/v4", "has a path"),
        ("api-url", "https://user:pw@app.last9.io", "credentials"),
        ("api-url", "https://app.last9.io?x=1", "has a path"),
        ("api-url", "https://app.last9.io:99999", "not a URL"),
        ("api-url", "app.last9.io", "not an https URL"),
        ("attributes", "{not json", "not valid JSON"),
        ("attributes", "[1, 2]", "must be a JSON object"),
        ("attributes", '{"a": {"b": 1}}', "not a string, number, boolean or null"),
        ("attributes", '{"a": [1]}', "not a string, number, boolean or null"),
        ("attributes", '{"event_state": "x"}', "set by Last9 itself"),
        ("attributes", "event-name=x", "set by Last9 itself"),
        ("attributes", "just words", "not `key=value`"),
        ("attributes", '{"": "x"}', "cannot be a label name"),
        ("event-name", "two\nlines", "single line"),
        ("environment", "x" * 300, "at most"),
        ("refresh-token", "has space", "characters no Last9 token has"),
        ("access-token", 'quote"d', "characters no Last9 token has"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_invalid_input_names_the_input(name: str, value: str, fragment: str) -> None:
    """Each invalid value raises an InputError naming the input, with a remedy."""
    with pytest.raises(InputError) as raised:
        parse_inputs({**VALID, name: value})
    error = raised.value
    assert error.input_name == name
    assert f"`{name}`" in error.message
    assert fragment in error.message
    assert error.remedy


def test_auto_stop_belongs_on_a_start_step() -> None:
    """`auto-stop` on a stop step is a configuration error."""
    with pytest.raises(InputError, match="belongs on a `start` step"):
        parse_inputs({**VALID, "event-state": "stop", "auto-stop": "true"})


@pytest.mark.parametrize("value", ["both", "Both"])
def test_both_says_what_stands_for_it(value: str) -> None:
    """`event-state: both` (last9/deployment-marker-action's) is refused with its replacements:
    `stop` for a point marker, a start with `auto-stop` for the deploy's window."""
    with pytest.raises(InputError) as raised:
        parse_inputs({**VALID, "event-state": value})
    assert raised.value.input_name == "event-state"
    assert "`event-state: stop`" in raised.value.remedy
    assert "`auto-stop: true`" in raised.value.remedy


def test_defaults_apply_to_missing_and_empty_values() -> None:
    """A missing or empty value takes the action.yml default."""
    inputs = parse_inputs({"org": "acme", "event-name": "", "timeout": " "})
    assert inputs.event_name == DEFAULTS["event-name"] == "deployment"
    assert inputs.event_state == "start"
    assert inputs.timeout == 60
    assert inputs.api_url == "https://app.last9.io"
    assert inputs.fail_on == "config"
    assert inputs.github_attributes is True
    assert (inputs.dry_run, inputs.auto_stop) == (False, False)
    assert inputs.refresh_token is None


@pytest.mark.parametrize("value", ["true", "True", "TRUE", " true "], ids=str.strip)
def test_booleans_accept_any_case(value: str) -> None:
    """Booleans are `true`/`false` in any case."""
    assert parse_inputs({**VALID, "dry-run": value}).dry_run is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2024-01-15T17:57:22+05:30",
            datetime(2024, 1, 15, 17, 57, 22, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2024-01-15T12:27:22Z", datetime(2024, 1, 15, 12, 27, 22, tzinfo=UTC)),
        ("2024-01-15t12:27:22.250z", datetime(2024, 1, 15, 12, 27, 22, 250000, tzinfo=UTC)),
    ],
    ids=["offset", "zulu", "fraction-lowercase"],
)
def test_timestamps_in_rfc3339(text: str, expected: datetime) -> None:
    """RFC 3339 timestamps with an offset or Z parse to aware datetimes."""
    assert parse_inputs({**VALID, "timestamp": text}).timestamp == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.last9.io/", "https://app.last9.io"),
        ("HTTPS://App.Last9.io", "https://app.last9.io"),
        ("https://last9.example.com:8443", "https://last9.example.com:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
    ids=["trailing-slash", "case", "port", "loopback-v4", "localhost", "loopback-v6"],
)
def test_api_url_is_normalised(url: str, expected: str) -> None:
    """`api-url` keeps only scheme, host and port."""
    assert parse_api_url(url) == expected


def test_service_names_one_per_line_without_duplicates() -> None:
    """`service-name` lists services one per line; blanks and repeats are dropped."""
    assert parsed(service_name="api\n\n worker \napi").service_names == ("api", "worker")  # type: ignore[attr-defined]


def test_json_attributes_keep_scalars_as_text() -> None:
    """Numbers and booleans become text; null removes; order is kept."""
    assert parse_attributes('{"replicas": 3, "canary": true, "ratio": 0.5, "actor": null}') == (
        ("replicas", "3"),
        ("canary", "true"),
        ("ratio", "0.5"),
        ("actor", None),
    )


def test_key_value_lines_trim_and_allow_removal() -> None:
    """`key=value` lines: spaces trimmed, `=` in values kept, empty value removes."""
    assert parse_attributes(" team = pay=ments \nactor=\n") == (
        ("team", "pay=ments"),
        ("actor", None),
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("team", "team"),
        ("team.name", "team_name"),
        ("k8s-cluster", "k8s_cluster"),
        ("9lives", "_9lives"),
        ("__reserved", "_reserved"),
        ("équipe", "_quipe"),
        ("---", None),
        ("", None),
    ],
    ids=[
        "plain",
        "dot",
        "dash",
        "digit-first",
        "double-underscore",
        "unicode",
        "only-dashes",
        "empty",
    ],
)
def test_label_keys(key: str, expected: str | None) -> None:
    """Keys become Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`, never `__`-prefixed."""
    assert label_key(key) == expected


def test_values_are_single_line_and_bounded() -> None:
    """Values lose line breaks and control characters, and are cut to a bounded length."""
    assert clean_value("line one\r\nline\ttwo\x00") == "line one line two"
    long = clean_value("x" * 10_000)
    assert len(long) == MAX_VALUE_CHARS
    assert long.endswith("…")


def test_too_many_attributes_are_refused() -> None:
    """More than 100 user attributes is a configuration error."""
    text = "\n".join(f"k{i}=v" for i in range(101))
    with pytest.raises(InputError, match="at most 100"):
        parse_attributes(text)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Fix it\n\nbody", "Fix it"),
        ("\n  \n\tFix\tit  \r\nbody", "Fix it"),
        ("", ""),
        (" \n ", ""),
        ("x" * COMMIT_MESSAGE_CHARS, "x" * COMMIT_MESSAGE_CHARS),
        ("x" * (COMMIT_MESSAGE_CHARS + 1), "x" * (COMMIT_MESSAGE_CHARS - 1) + "…"),
    ],
    ids=["subject", "leading-blank-lines", "empty", "blank", "at-bound", "over-bound"],
)
def test_first_line(text: str, line: str) -> None:
    """A commit message's first non-blank line, white space folded, at most 100 characters."""
    assert first_line(text) == line
