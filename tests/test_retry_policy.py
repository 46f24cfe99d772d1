"""``RetryPolicy`` and ``Retry-After`` as pure values: how long to wait after which failure,
and when not to wait at all. No event loop: ``wait_for`` is a plain function of the error.

The policy applied to real calls (attempt counts, maintenance timeout, logging) is tested
through the client in ``tests/test_retry.py``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import openprovider_ssl as op
from openprovider_ssl._protocol.messages import retry_after


def policy(random: float = 0.0, **kwargs: float) -> op.RetryPolicy:
    return op.RetryPolicy(random=lambda: random, **kwargs)  # type: ignore[arg-type]


def server_error() -> op.ServerError:
    return op.ServerError(1, "Bad gateway", http_status=502)


def rate_limited(seconds: float | None) -> op.RateLimitError:
    return op.RateLimitError(4007, "Excessive use", http_status=429, retry_after=seconds)


def maintenance() -> op.MaintenanceError:
    return op.MaintenanceError(4005, "Disabled for maintenance", http_status=503, maintenance=True)


# --- backoff -----------------------------------------------------------------------------


def test_backoff_is_exponential() -> None:
    slowest = policy(random=1.0, initial_wait=0.5, multiplier=2.0, max_wait=100.0)
    assert [slowest.wait_for(server_error(), n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_backoff_has_equal_jitter_between_half_and_all_of_the_base() -> None:
    assert policy(random=0.0, initial_wait=4.0).wait_for(server_error(), 1) == 2.0
    assert policy(random=0.5, initial_wait=4.0).wait_for(server_error(), 1) == 3.0
    assert policy(random=1.0, initial_wait=4.0).wait_for(server_error(), 1) == 4.0


@given(failures=st.integers(1, 200), r=st.floats(0.0, 1.0))
def test_no_wait_is_ever_above_max_wait(failures: int, r: float) -> None:
    capped = policy(random=r, initial_wait=0.5, multiplier=3.0, max_wait=7.0)
    wait = capped.wait_for(server_error(), failures)
    assert wait is not None
    assert 0.0 <= wait <= 7.0


def test_maintenance_waits_maintenance_wait() -> None:
    slow = policy(random=1.0, maintenance_wait=10.0, max_wait=30.0)
    assert slow.wait_for(maintenance(), 1) == 10.0
    assert slow.wait_for(maintenance(), 5) == 10.0  # no growth: maintenance is waited out


def test_maintenance_wait_is_capped_by_max_wait_too() -> None:
    assert policy(random=1.0, maintenance_wait=60.0, max_wait=5.0).wait_for(maintenance(), 1) == 5.0


# --- Retry-After ------------------------------------------------------------------------


def test_retry_after_is_honoured_plus_a_little_jitter() -> None:
    assert policy(random=0.0).wait_for(rate_limited(7.0), 1) == 7.0
    jittered = policy(random=1.0, initial_wait=0.5).wait_for(rate_limited(7.0), 3)
    assert jittered == 7.5  # never less than asked, at most min(1, initial_wait) more


def test_retry_after_above_max_wait_is_not_waited_for() -> None:
    assert policy(max_wait=30.0).wait_for(rate_limited(31.0), 1) is None
    assert policy(max_wait=30.0).wait_for(rate_limited(math.inf), 1) is None
    assert policy(max_wait=30.0).wait_for(rate_limited(30.0), 1) == 30.0


def test_a_rate_limit_without_retry_after_backs_off() -> None:
    assert policy(random=1.0, initial_wait=0.5).wait_for(rate_limited(None), 3) == 2.0


# --- the policy object --------------------------------------------------------------------


def test_defaults_are_small_and_sane() -> None:
    default = op.RetryPolicy()
    assert default.attempts == 4
    assert default.max_wait == 30.0
    assert default.maintenance_timeout == 600.0


def test_never_makes_one_attempt() -> None:
    never = op.RetryPolicy.never()
    assert never.attempts == 1
    assert never.maintenance_timeout == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"initial_wait": -1.0},
        {"initial_wait": math.nan},
        {"max_wait": math.inf},
        {"max_wait": -0.1},
        {"multiplier": 0.5},
        {"maintenance_wait": math.nan},
        {"maintenance_timeout": -5.0},
        {"readback_delay": math.inf},
    ],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        op.RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_policy_is_frozen_and_its_repr_shows_settings_only() -> None:
    def my_random() -> float:
        return 0.5

    custom = op.RetryPolicy(attempts=2, random=my_random)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        custom.attempts = 5  # type: ignore[misc]
    assert "attempts=2" in repr(custom)
    assert "my_random" not in repr(custom) and "random=" not in repr(custom)
    assert op.RetryPolicy(attempts=2) == custom  # the jitter does not take part in equality


def test_the_policy_is_configuration_only_its_time_is_the_clients() -> None:
    async def my_sleep(seconds: float) -> None: ...

    # The sleep moved to Client(sleep=...): a policy holds no time and can be shared.
    with pytest.raises(TypeError, match="sleep"):
        op.RetryPolicy(sleep=my_sleep)  # type: ignore[call-arg]


# --- parsing Retry-After -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("-3", 0.0),
        ("-inf", 0.0),
        ("1e999", math.inf),
        ("inf", math.inf),
        ("99999999999999999999", 1e20),
    ],
)
def test_retry_after_in_seconds(raw: str, seconds: float) -> None:
    assert retry_after({"Retry-After": raw}) == seconds


@pytest.mark.parametrize(
    "raw", ["nan", "NaN", "soon", "", "5 seconds", "Fri, 31 Dec 99999 23:59:59 GMT"]
)
def test_unreadable_retry_after_is_none(raw: str) -> None:
    assert retry_after({"Retry-After": raw}) is None


def test_no_retry_after_is_none() -> None:
    assert retry_after({}) is None
    assert retry_after({"Content-Type": "application/json"}) is None


def test_retry_after_as_an_http_date_in_the_future() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    seconds = retry_after({"Retry-After": format_datetime(when, usegmt=True)})
    assert seconds is not None
    assert 115.0 <= seconds <= 121.0


@pytest.mark.parametrize(
    "raw",
    [
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 -0000",
        "Mon, 1 Jan 1900 00:00:00 +0100",
    ],
)
def test_retry_after_as_an_http_date_in_the_past_is_zero(raw: str) -> None:
    assert retry_after({"Retry-After": raw}) == 0.0


def test_retry_after_header_name_ignores_case_even_in_a_plain_dict() -> None:
    assert retry_after({"retry-after": "9"}) == 9.0


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_is_never_negative_or_nan(raw: str) -> None:
    seconds = retry_after({"Retry-After": raw})
    assert seconds is None or seconds >= 0.0
