"""The renewal window setting: its checks (typed errors, before anything is sent) and where it
is read from (the constructor, the environment, ``Order.can_renew``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider
from openprovider_ssl.testing.__main__ import build, parse_args

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def order(expires_in_days: float) -> op.Order:
    return op.Order(
        id=1, status=op.OrderStatus.ACT, expiration_date=NOW + timedelta(days=expires_in_days)
    )


def test_the_default_is_30_days_and_renew_window_stays_exported() -> None:
    client = op.Client(token="t0ken")
    assert client.renewal_window == op.RENEW_WINDOW == timedelta(days=30)
    assert client.renewal_window_days == 30
    assert client.orders.renewal_window_days == 30


@pytest.mark.parametrize("days", [1, 30, 60, 90])
def test_any_window_from_1_to_90_days(days: int) -> None:
    client = op.Client(token="t0ken", renewal_window_days=days)
    assert client.renewal_window == timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 91, 365, 30.0, "30", True, None])
def test_other_windows_are_a_validation_error(days: Any) -> None:
    with pytest.raises(op.ValidationError, match="renewal_window_days") as bad:
        op.Client(token="t0ken", renewal_window_days=days)
    assert "1 to 90" in str(bad.value)


def test_the_window_from_the_environment() -> None:
    env = {"OPENPROVIDER_TOKEN": "t0ken", "OPENPROVIDER_RENEWAL_WINDOW_DAYS": "90"}
    assert op.Client.from_env(env).renewal_window_days == 90
    # A keyword argument wins.
    assert op.Client.from_env(env, renewal_window_days=45).renewal_window_days == 45
    assert op.Client.from_env({"OPENPROVIDER_TOKEN": "t0ken"}).renewal_window_days == 30


@pytest.mark.parametrize("value", ["0", "91", "thirty", "30.5"])
def test_a_bad_window_in_the_environment_names_the_variable(value: str) -> None:
    env = {"OPENPROVIDER_TOKEN": "t0ken", "OPENPROVIDER_RENEWAL_WINDOW_DAYS": value}
    with pytest.raises(op.ValidationError, match="OPENPROVIDER_RENEWAL_WINDOW_DAYS"):
        op.Client.from_env(env)


def test_can_renew_takes_a_window() -> None:
    assert not order(60).can_renew(NOW)
    assert order(60).can_renew(NOW, window_days=90)
    assert order(90).can_renew(NOW, window_days=90)  # the far edge is inclusive
    assert not order(90.001).can_renew(NOW, window_days=90)
    assert not order(-1).can_renew(NOW, window_days=90)
    assert order(1).can_renew(NOW, window_days=1)
    assert not order(2).can_renew(NOW, window_days=1)


@pytest.mark.parametrize("days", [0, 91, "90", 30.0])
def test_can_renew_refuses_a_bad_window(days: Any) -> None:
    with pytest.raises(op.ValidationError, match="window_days"):
        order(10).can_renew(NOW, window_days=days)


@pytest.mark.parametrize("days", [0, 91, "30", 30.0])
def test_the_fake_refuses_a_bad_window(days: Any) -> None:
    with pytest.raises(ValueError, match="renewal_window_days"):
        FakeOpenprovider(orders=0, renewal_window_days=days)
    fake = FakeOpenprovider(orders=0)
    with pytest.raises(ValueError, match="renewal_window_days"):
        fake.renewal_window_days = days


def test_the_fakes_command_line_sets_the_window() -> None:
    assert build(parse_args(["--orders", "0"])).renewal_window_days == 30
    assert (
        build(parse_args(["--orders", "0", "--renewal-window-days", "90"])).renewal_window_days
        == 90
    )
    with pytest.raises(SystemExit):
        parse_args(["--renewal-window-days", "91"])
