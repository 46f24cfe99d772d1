"""Helpers the journal's tests share: a clock to move by hand, and journals to test."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openprovider_ssl
from openprovider_ssl.journal import MemoryJournal, RenewalJournal, SqliteJournal

#: A whole second: MemoryJournal keeps a renewal's times in whole seconds.
T0 = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)
KINDS = ("memory", "sqlite")


class Clock:
    """An injectable ``clock``: aware UTC datetimes that move only when told."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


def make_journal(kind: str, tmp_path: Path, **options: Any) -> RenewalJournal:
    if kind == "memory":
        return MemoryJournal(**options)
    if kind == "sqlite":
        return SqliteJournal(tmp_path / "journal.sqlite3", **options)
    raise AssertionError(kind)


# -- separate processes (``_journal_worker.py``) ---------------------------------------------

WORKER = Path(__file__).with_name("_journal_worker.py")
#: The package the test imported, for the workers too (a checkout, or a copy of it).
PACKAGE_ROOT = Path(openprovider_ssl.__file__).resolve().parents[1]


def spawn(*args: object) -> subprocess.Popen[str]:
    """A worker process on a shared journal (see ``_journal_worker.py`` for the arguments)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return subprocess.Popen(
        [sys.executable, str(WORKER), *map(str, args)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"the worker said nothing within {timeout} s; stderr:\n{err}")
    return line.strip()


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.communicate(timeout=10)
