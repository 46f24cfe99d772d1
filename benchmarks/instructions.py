"""1b. Overhead in instructions: what the SDK adds per ``orders.renew``, counted, not timed.

Wall and CPU time on shared cores move by 10-30% between rounds, more than the SDK costs.
Callgrind counts the instructions the client process executes, whatever else the machine
does, so the same code gives the same count to within a fraction of a percent. Each side
runs in its own client process under valgrind, with a fixed hash seed: start-up and the
warm-up run uninstrumented; instrumentation goes on (``callgrind_control -i on``) for the
measured renews only, and their count is dumped (``callgrind_control -d``) before shutdown.
The fake server runs natively beside it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._raw import RawClient, run_pool
from ._server import FakeServer, child_env
from ._table import Metric

SIDES = ("sdk", "raw")
_TOTALS = re.compile(r"^totals: (\d+)", re.MULTILINE)
#: Far above what a run takes; a stuck child is killed rather than waited for.
TIMEOUT = 900.0


def available() -> str | None:
    """None if callgrind can run here, else why not."""
    missing = [tool for tool in ("valgrind", "callgrind_control") if not shutil.which(tool)]
    return f"{' and '.join(missing)} not found" if missing else None


def orders_needed(*, warmup: int, calls: int) -> int:
    return len(SIDES) * (warmup + calls)


def run(server: FakeServer, *, warmup: int, calls: int, concurrency: int) -> Metric:
    counts = {
        side: _count(server, side, warmup=warmup, calls=calls, concurrency=concurrency)
        for side in SIDES
    }
    sdk, raw = counts["sdk"] / calls, counts["raw"] / calls
    return Metric(
        key="overhead_instructions",
        name=f"overhead: instructions per renew @{concurrency} (callgrind)",
        unit="k",
        sdk=sdk / 1000,
        baseline=raw / 1000,
        ratio=sdk / raw,
        note=f"client process under callgrind, {calls:,} renews per side after {warmup:,} "
        "uninstrumented ones; repeatable to a fraction of a percent, unlike the wall times",
    )


def _count(server: FakeServer, side: str, *, warmup: int, calls: int, concurrency: int) -> int:
    """Instructions the client process ran for ``calls`` renews after ``warmup`` others."""
    ids = server.take(warmup + calls)
    with tempfile.TemporaryDirectory(prefix="op-callgrind-") as folder:
        steps = Path(folder)
        env = dict(child_env(), PYTHONHASHSEED="0", BENCH_URL=server.url, BENCH_TOKEN=server.token)
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={steps / 'callgrind.out'}",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            *(str(v) for v in (side, ids.start, warmup, calls, concurrency, steps)),
        ]
        log = steps / "valgrind.log"
        with log.open("w") as stderr:
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                _wait_for(steps / "warm", child, log)
                _callgrind_control("-i", "on", child.pid)
                (steps / "go").touch()
                _wait_for(steps / "measured", child, log)
                _callgrind_control("-d", child.pid)
                (steps / "end").touch()
                child.wait(TIMEOUT)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        if child.returncode != 0:
            raise RuntimeError(f"the {side} client failed:\n{log.read_text()[-2000:]}")
        dumps = sorted(steps.glob("callgrind.out.*"))
        found = _TOTALS.search(dumps[0].read_text()) if dumps else None
        if found is None:
            raise RuntimeError(f"no callgrind dump for {side}:\n{log.read_text()[-2000:]}")
        return int(found.group(1))


def _wait_for(step: Path, child: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not step.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"the client did not reach {step.name!r}:\n{tail}")
        time.sleep(0.05)


def _callgrind_control(*args: str | int) -> None:
    subprocess.run(
        ["callgrind_control", *(str(a) for a in args)],
        check=True,
        capture_output=True,
        timeout=120,
    )


async def _client(
    side: str, first: int, warmup: int, calls: int, concurrency: int, steps: Path
) -> None:
    """What runs under valgrind: ``warmup`` renews, a pause while instrumentation goes on,
    ``calls`` renews, and a pause while their count is dumped."""
    from openprovider_ssl import Client  # noqa: PLC0415 (imported by the child only)

    url, token = os.environ["BENCH_URL"], os.environ["BENCH_TOKEN"]
    async with (
        Client(token=token, base_url=url, max_connections=concurrency) as client,
        RawClient(url, token, max_connections=concurrency) as raw,
    ):
        call: Any = client.orders.renew if side == "sdk" else raw.renew
        await run_pool(range(first, first + warmup), concurrency, call)
        await _step(steps, "warm", "go")
        done = await run_pool(range(first + warmup, first + warmup + calls), concurrency, call)
        await _step(steps, "measured", "end")
        assert done == calls


async def _step(steps: Path, reached: str, wait_for: str) -> None:
    (steps / reached).touch()
    # Polled (not a blocking read) so that callgrind_control's requests are served meanwhile.
    # (Another process creates the file: there is no event to wait on.)
    while not (steps / wait_for).exists():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    side, first, warmup, calls, concurrency, steps = sys.argv[1:7]
    asyncio.run(_client(side, int(first), int(warmup), int(calls), int(concurrency), Path(steps)))
