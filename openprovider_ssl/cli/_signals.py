"""SIGINT and SIGTERM stop a command the same clean way: its task is cancelled.

SIGTERM is what Kubernetes, systemd and ``timeout`` send, SIGINT what Ctrl-C sends. While a
command runs, the first of either cancels its task (a bulk renewal then stops sending, lists
what was in flight and writes its report) and is remembered in ``Stop.signal``; the handlers are
then removed (those the process had before come back), so a second signal stops the process at
once. Exit codes follow
the shell's convention, 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

import attrs

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM


@attrs.define
class Stop:
    """Which signal stopped the command, if one did (its name: ``"SIGTERM"``)."""

    signal: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_SIGTERM if self.signal == "SIGTERM" else EXIT_SIGINT


@contextlib.contextmanager
def stopped_by_signals(stop: Stop) -> Iterator[None]:
    """Cancel the current task on SIGINT or SIGTERM (first one only), recording it in ``stop``.

    Where the loop cannot take signal handlers (Windows, a thread), signals keep their default
    behaviour: Ctrl-C still cancels through ``asyncio.run``.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    installed: list[tuple[signal.Signals, Any]] = []

    def remove() -> None:
        # The handlers the process had before (a test runner's, asyncio.run's) come back.
        while installed:
            signum, before = installed.pop()
            loop.remove_signal_handler(signum)
            if before is not None:
                signal.signal(signum, before)

    def received(signum: signal.Signals) -> None:
        remove()  # a second signal gets the default treatment: stop at once
        stop.signal = signum.name
        if task is not None:
            task.cancel(f"stopped by {signum.name}")

    try:
        for signum in SIGNALS:
            before = signal.getsignal(signum)
            loop.add_signal_handler(signum, received, signum)
            installed.append((signum, before))
    except (NotImplementedError, RuntimeError, ValueError):
        remove()
    try:
        yield
    finally:
        remove()
