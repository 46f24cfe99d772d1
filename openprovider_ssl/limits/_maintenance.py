"""The client-wide maintenance pause.

One maintenance answer is a sign that every other request would meet the same, so instead of
each call spending its own retries, every call of the client waits here. One call at a time,
the probe, is let through: the first at once, the next after ``FIRST_PROBE_INTERVAL``, then at
intervals that double up to ``probe_interval``, so a short window ends quickly and a long one
costs few calls. The first answer to a probe that is not maintenance ends the pause for
everyone.

Logged once per pause, not per caller: a WARNING when a pause begins and an INFO with its
length when it ends (each call's own retries are at DEBUG). A pause that begins within
``QUIET_AFTER`` seconds of the end of the last one (maintenance that comes and goes, or a probe
that ended a pause by meeting another error) continues the same episode: it is logged at
DEBUG, unless it lasts ``QUIET_AFTER`` seconds itself.
"""

from __future__ import annotations

import asyncio
import logging
import math

from ..errors import MaintenanceError
from ._pacing import Clock, Sleep
from ._rules import PROBE_LEASE, MaintenanceDeadline, timed_out

__all__ = ["FIRST_PROBE_INTERVAL", "QUIET_AFTER", "MaintenancePause"]

logger = logging.getLogger("openprovider_ssl")

#: The spacing of the first probes of a pause; it doubles up to the configured interval.
FIRST_PROBE_INTERVAL = 1.0
#: A pause beginning this soon after the last one ended is not warned about again.
QUIET_AFTER = 60.0


class MaintenancePause:
    """Holds every call while Openprovider is in maintenance; one probe at a time goes on.

    Waiters sleep on an event. Exactly one of them, the timer, also sleeps until the next
    probe is due; it then becomes the probe itself and wakes the others so that one of them
    takes over the timer. A waiter gives up at its call's ``MaintenanceDeadline`` with the
    pause's ``MaintenanceError``, marked not to be retried.
    """

    def __init__(self, probe_interval: float, clock: Clock, sleep: Sleep) -> None:
        self.probe_interval = probe_interval
        self.active = False
        self.error: MaintenanceError | None = None
        self.since = 0.0
        self.pauses = 0
        self._clock = clock
        self._sleep = sleep
        self._next_probe = 0.0
        self._interval = probe_interval
        self._probe: asyncio.Task[object] | None = None
        self._probe_since = -math.inf
        self._event: asyncio.Event | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._timer = False
        self._warned = False
        self._last_end = -math.inf

    def begin(self, error: MaintenanceError, now: float) -> None:
        """Start a pause; the first probe may go at once (a lone maintenance answer is cheap)."""
        if self.active:
            return
        self.active = True
        self.error = error
        self.since = now
        self.pauses += 1
        self._next_probe = now
        self._interval = min(FIRST_PROBE_INTERVAL, self.probe_interval)
        self._set_probe(None)
        self._warned = now - self._last_end > QUIET_AFTER
        if self._warned:
            logger.warning(
                "Openprovider is in maintenance (%s): every call of this client waits; one "
                "probe at a time, at most every %g s, checks whether it has ended",
                error.desc or error.code,
                self.probe_interval,
            )
        else:
            logger.debug(
                "Openprovider answered with maintenance again, %.1f s after the last pause "
                "ended: every call of this client waits",
                now - self._last_end,
            )

    def end(self, now: float) -> None:
        """The pause is over (a probe met no maintenance, or the client stopped)."""
        if not self.active:
            return
        self.active = False
        self._last_end = now
        self._set_probe(None)
        logger.log(
            logging.INFO if self._warned else logging.DEBUG,
            "Openprovider maintenance ended after %.1f s; calls resume",
            now - self.since,
        )
        self._notify()

    def is_probe(self, task: asyncio.Task[object] | None) -> bool:
        return task is not None and task is self._probe

    def probe_failed(self, now: float) -> None:
        """The probe met maintenance again: the next one goes at the next (doubling) interval."""
        self._set_probe(None)
        if not self._warned and now - self.since >= QUIET_AFTER:
            self._warned = True
            logger.warning(
                "Openprovider is still in maintenance after %.0f s: every call of this client "
                "waits; one probe at a time, at most every %g s, checks whether it has ended",
                now - self.since,
                self.probe_interval,
            )
        else:
            logger.debug("a maintenance probe met maintenance again; calls keep waiting")
        self._notify()

    def release(self, task: asyncio.Task[object] | None) -> None:
        """``task`` will not send after all: let another probe go."""
        if task is not None and task is self._probe:
            self._set_probe(None)
            self._next_probe = min(self._next_probe, self._clock())
            self._notify()

    def _set_probe(self, task: asyncio.Task[object] | None) -> None:
        old, self._probe = self._probe, task
        if old is not None:
            old.remove_done_callback(self._probe_ended)
        if task is not None:
            task.add_done_callback(self._probe_ended)

    def _probe_ended(self, task: asyncio.Task[object]) -> None:
        # The probe's task ended (cancelled, most likely) without an answer: let another go.
        if task is self._probe:
            self._probe = None
            self._notify()

    async def wait(self, patience: MaintenanceDeadline | None) -> None:
        """Return once the caller may send: the pause is over, or it is now the probe; raise
        the pause's error, not to be retried, once ``patience`` runs out (None: never)."""
        me = asyncio.current_task()
        deadline = math.inf if patience is None else patience.start(self._clock())
        while self.active:
            now = self._clock()
            probe = self._probe
            if probe is not None and (
                probe is me or probe.done() or now >= self._probe_since + PROBE_LEASE
            ):
                # Abandoned (cancelled, or this task comes back without having answered).
                self._set_probe(None)
                probe = None
            if probe is None and now >= self._next_probe:
                self._set_probe(me)
                self._probe_since = now
                self._next_probe = now + self._interval
                self._interval = min(self._interval * 2, self.probe_interval)
                return
            if now >= deadline:
                assert self.error is not None and patience is not None
                raise timed_out(self.error, patience.timeout)
            due = self._next_probe if probe is None else self._probe_since + PROBE_LEASE
            await self._wait(min(due, deadline) - now)

    async def _wait(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        if self._event is None or self._event_loop is not loop:
            self._event, self._event_loop = asyncio.Event(), loop
        event = self._event
        if self._timer:
            await event.wait()
            return
        self._timer = True
        try:
            sleeper = asyncio.ensure_future(self._sleep(delay))
            woken = asyncio.ensure_future(event.wait())
            try:
                await asyncio.wait((sleeper, woken), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                woken.cancel()
                await asyncio.wait((sleeper, woken))
        finally:
            self._timer = False
            # Whoever wakes next takes over the timer (and the deadlines get checked).
            self._notify()

    def _notify(self) -> None:
        event, self._event = self._event, None
        if event is not None:
            event.set()
