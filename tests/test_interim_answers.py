"""Interim answers (1xx other than 101) before the real one are skipped, as HTTP requires
(RFC 9110, section 15.2): on the token exchange and on the event, from a raw-socket server that
writes them exactly as a proxy or Last9 might."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rawserver import Play, RawLast9, answer, interim
from tests.runner import Job

INTERIM: dict[str, bytes] = {
    "103-early-hints": interim(103, "Link: </app.css>; rel=preload; as=style"),
    "102-processing": interim(102),
    "100-continue-unasked": interim(100),
    "several": interim(102) + interim(103, "Link: </a.js>; rel=preload") + interim(199, "X: y"),
}


@pytest.fixture
def raw() -> Iterator[RawLast9]:
    """A raw-socket Last9 lookalike."""
    with RawLast9() as server:
        yield server


@pytest.mark.parametrize("route", ["event", "exchange"])
@pytest.mark.parametrize("before", INTERIM.values(), ids=INTERIM.keys())
def test_interim_answers_before_the_answer_are_skipped(
    raw: RawLast9, tmp_path: Path, route: str, before: bytes
) -> None:
    """A 1xx before the 200 is not the answer: the step ends `sent`, the event went once."""
    raw.script(route, Play(before + raw.success(route)))
    inputs = {
        "org": "acme",
        "refresh-token": raw.minter.mint("refresh", ttl=None),
        "api-url": raw.url,
        "fail-on": "any",
    }
    result = Job(tmp_path).run(inputs)
    assert result.returncode == 0, result.log
    assert result.outputs["status"] == "sent", result.log
    assert result.annotations("warning") == []
    assert len(raw.puts()) == 1


def test_an_interim_answer_then_an_error_is_the_error(raw: RawLast9, tmp_path: Path) -> None:
    """What follows the interim answer is judged: a 404 after a 103 is a 404."""
    raw.script("event", Play(interim(103) + answer(404, b'{"error": "not found"}')))
    inputs = {"org": "acme", "refresh-token": raw.minter.mint("refresh", ttl=None)}
    result = Job(tmp_path).run({**inputs, "api-url": raw.url, "fail-on": "any"})
    assert result.titles() == ["Last9: not found"]
