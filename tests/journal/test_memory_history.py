"""``MemoryJournal`` keeps the last ``history`` events for ``entries()``: their seq, values and
order survive the oldest being dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openprovider_ssl.journal import MemoryJournal

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _clock() -> tuple[list[datetime], MemoryJournal]:
    times = [T0]

    def now() -> datetime:
        times[0] += timedelta(seconds=1)
        return times[0]

    return times, MemoryJournal(history=3, clock=now)


async def test_the_history_keeps_the_last_events_with_their_seq_and_values() -> None:
    _, journal = _clock()
    expiration = T0 + timedelta(days=10)
    first = await journal.claim(1, expiration)
    await journal.settle(first, "renewed")
    second = await journal.claim(2)
    await journal.settle(second, "not_applied", error="HTTP 503")
    await journal.claim(3)
    entries = await journal.entries()
    assert [(e.seq, e.order_id, e.event, e.error) for e in entries] == [
        (3, 2, "claimed", ""),
        (4, 2, "not_applied", "HTTP 503"),
        (5, 3, "claimed", ""),
    ]
    assert [e.at for e in entries] == [T0 + timedelta(seconds=s) for s in (3, 4, 5)]
    assert {(e.claim_id, e.run) for e in entries[:2]} == {(second.claim_id, journal.origin.run)}
    assert [e.seq for e in await journal.entries(order_id=2)] == [3, 4]
    assert await journal.entries(order_id=1) == []


@pytest.mark.parametrize("history", [0, 1, 2, 10])
async def test_a_history_of_any_length_keeps_that_many_events(history: int) -> None:
    journal = MemoryJournal(history=history)
    for order_id in range(1, 5):
        await journal.settle(await journal.claim(order_id), "renewed")
    entries = await journal.entries()
    assert [e.seq for e in entries] == list(range(9 - min(history, 8), 9))
    assert all(e.event == ("claimed" if e.seq % 2 else "renewed") for e in entries)


def test_a_negative_history_is_refused() -> None:
    with pytest.raises(ValueError, match="maxlen"):
        MemoryJournal(history=-1)
