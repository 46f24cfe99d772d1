"""Waiting for a command line process's first renew."""

from __future__ import annotations

import subprocess
import time


def wait_for_renews(proc: subprocess.Popen[str]) -> str:
    """Read a command line process's stderr (``-vv`` logs every request) until its first renew
    has gone out; what was read."""
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if "RenewOrder" in line or not line:
            break
    assert any("RenewOrder" in line for line in seen), "".join(seen)
    return "".join(seen)
