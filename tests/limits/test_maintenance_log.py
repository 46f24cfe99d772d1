"""When the shared maintenance pause logs at WARNING, INFO and DEBUG (virtual clock)."""

from __future__ import annotations

import logging

import pytest

import openprovider_ssl as op
from openprovider_ssl.limits._maintenance import QUIET_AFTER, MaintenancePause


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def no_sleep(seconds: float) -> None:
    raise AssertionError("not waited in these tests")


def levels(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.levelname for r in caplog.records if r.name == "openprovider_ssl"]


ERROR = op.MaintenanceError(4005, "Disabled for maintenance", http_status=503, maintenance=True)


def test_a_pause_warns_when_it_begins_and_tells_its_length_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    clock = Clock()
    pause = MaintenancePause(5.0, clock, no_sleep)
    pause.begin(ERROR, clock.now)
    pause.begin(ERROR, clock.now)  # other callers meeting it: nothing more
    for _ in range(5):
        clock.now += 5
        pause.probe_failed(clock.now)
    pause.end(clock.now)
    assert levels(caplog) == ["WARNING", *["DEBUG"] * 5, "INFO"]
    assert "ended after 25.0 s" in caplog.records[-1].getMessage()


def test_a_pause_soon_after_the_last_one_is_not_warned_about_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    clock = Clock()
    pause = MaintenancePause(5.0, clock, no_sleep)
    for _ in range(5):
        pause.begin(ERROR, clock.now)
        clock.now += 0.5
        pause.end(clock.now)
        clock.now += 0.1
    assert levels(caplog) == ["WARNING", "INFO", *["DEBUG"] * 8]
    # Long after: a new episode, warned about again.
    clock.now += QUIET_AFTER + 1
    pause.begin(ERROR, clock.now)
    pause.end(clock.now + 1)
    assert levels(caplog)[-2:] == ["WARNING", "INFO"]


def test_a_quiet_pause_that_lasts_is_warned_about_after_all(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    clock = Clock()
    pause = MaintenancePause(5.0, clock, no_sleep)
    pause.begin(ERROR, clock.now)
    pause.end(clock.now + 1)
    clock.now += 2
    pause.begin(ERROR, clock.now)  # DEBUG: the same episode
    for _ in range(15):
        clock.now += 5
        pause.probe_failed(clock.now)
    pause.end(clock.now)
    found = levels(caplog)
    assert found.count("WARNING") == 2
    assert found[-1] == "INFO"
    assert "still in maintenance after 60 s" in caplog.text
