"""A token the exchange hands back is checked like one given as an input: its organization and
its scopes are read before the first event is sent, from a fake whose exchange mints foreign and
read-only tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_last9 import FakeLast9
from tests.runner import Job, step_inputs


def _puts(fake: FakeLast9) -> int:
    return sum(1 for received in fake.received if received.method == "PUT")


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "entrypoint"])
def test_an_exchanged_token_of_another_organization_is_warned_of(
    fake: FakeLast9, tmp_path: Path, process: bool
) -> None:
    """The exchange hands back a token of `globex` for `org: acme`: the mismatch warning."""
    fake.mint_from_exchange(org="globex")
    result = Job(tmp_path).run(step_inputs(fake, fail_on="any"), process=process)
    warnings = result.annotations("warning")
    assert [title for title, _ in warnings] == ["Last9: organization mismatch"], result.log
    assert "`globex`" in warnings[0][1]
    assert "`acme`" in warnings[0][1]
    # Warned before the event went: the warning is logged before Last9's refusal.
    assert result.stdout.index("organization mismatch") < result.stdout.index("::error")


@pytest.mark.parametrize(
    "scopes", [("read",), (), ("read", "admin")], ids=["read", "none", "read-admin"]
)
def test_an_exchanged_token_without_write_is_a_configuration_error(
    fake: FakeLast9, tmp_path: Path, scopes: tuple[str, ...]
) -> None:
    """A read-only token from the exchange: a configuration error, and no event is sent."""
    fake.mint_from_exchange(scopes=scopes)
    result = Job(tmp_path).run(step_inputs(fake, fail_on="config"))
    assert result.returncode == 1
    assert result.titles() == ["Last9: token lacks write scope"], result.log
    assert result.outputs["status"] == "failed"
    assert fake.exchanges() == 1
    assert _puts(fake) == 0


def test_scopes_only_in_the_exchange_answer_are_read(fake: FakeLast9, tmp_path: Path) -> None:
    """A token without a `scopes` claim, whose exchange answer says `read`: refused early."""
    fake.mint_from_exchange(scopes=("read",), scopes_claim=False)
    result = Job(tmp_path).run(step_inputs(fake))
    assert result.titles() == ["Last9: token lacks write scope"], result.log
    assert _puts(fake) == 0


def test_a_foreign_read_only_exchanged_token_is_refused_before_sending(
    fake: FakeLast9, tmp_path: Path
) -> None:
    """Both at once: warned of the organization, refused for the scope, nothing sent."""
    fake.mint_from_exchange(org="globex", scopes=("read",))
    result = Job(tmp_path).run(step_inputs(fake))
    assert result.titles("warning") == ["Last9: organization mismatch"]
    assert result.titles() == ["Last9: token lacks write scope"]
    assert _puts(fake) == 0


def test_a_renewed_token_of_another_organization_is_warned_of(
    fake: FakeLast9, tmp_path: Path
) -> None:
    """After a 401, the renewed token is read the same way before the one more try."""
    given = fake.mint("access")
    fake.revoke(given)
    fake.mint_from_exchange(org="globex")
    result = Job(tmp_path).run(step_inputs(fake, access_token=given))
    assert result.titles("warning") == ["Last9: organization mismatch"], result.log
