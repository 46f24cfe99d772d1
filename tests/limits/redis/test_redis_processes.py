"""Four processes, each with its own client, share one rate and one identical-call budget
through Redis against one fake Openprovider with a rate limit: the fake's own counters must
show the combined rate never exceeded and no identical-call budget crossed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.process]

RATE = 20
WORKERS = 4
IDENTICAL_LIMIT = 10
REPEAT = 6  # identical reads per worker: 24 in all, 10 allowed
WORKER = Path(__file__).with_name("_redis_worker.py")


@pytest.fixture
def fake() -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openprovider_ssl.testing",
            "--port",
            "0",
            "--orders",
            "200",
            "--seed",
            "11",
            "--expiring-share",
            "0.5",
            "--rate-limit",
            str(RATE),
            "--identical-limit",
            str(IDENTICAL_LIMIT),
            "--identical-window",
            "60",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        info: dict[str, Any] = json.loads(process.stdout.readline())
        yield info
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def control(info: dict[str, Any], path: str) -> Any:
    with urllib.request.urlopen(info["base_url"] + path, timeout=10) as answer:
        return json.loads(answer.read())


def test_four_processes_share_one_rate_and_one_identical_budget(
    redis_url: str, prefix: str, fake: dict[str, Any]
) -> None:
    ids: list[int] = control(fake, "/_fake/renewable")["ids"]
    assert len(ids) >= 80
    common = {
        "url": fake["url"],
        "token": fake["token"],
        "redis": redis_url,
        "prefix": prefix,
        "rate": RATE,
        "identical_limit": IDENTICAL_LIMIT,
        "identical_window": 60.0,
        "workers": WORKERS,
        "same": ids[0],
        "repeat": REPEAT,
    }
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps({**common, "ids": ids[i::WORKERS]})],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WORKERS)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    stats = control(fake, "/_fake/stats")

    # The work finished: every order renewed exactly once, by exactly one worker.
    assert [r["failed"] for r in results] == [[]] * WORKERS
    renewed = sorted(i for r in results for i in r["renewed"])
    assert renewed == sorted(ids)
    assert all(stats["renewals"][str(i)] == 1 for i in ids)
    # The combined rate never went over RATE in any second the fake counted, and no 429.
    per_second = stats["per_second"]
    assert max(per_second.values()) <= RATE, per_second
    assert "rate_limited" not in stats["faults"] and "blacklisted" not in stats["faults"]
    # They did run together, at the shared rate (not one after another at a quarter of it).
    assert max(per_second.values()) >= 0.75 * RATE, per_second
    assert min(r["elapsed"] for r in results) >= (len(ids) - 2 * RATE) / RATE
    # One identical-call budget for all four: 10 reads went out, the other 14 were refused.
    assert sum(r["allowed"] for r in results) == IDENTICAL_LIMIT
    assert sum(r["refused"] for r in results) == WORKERS * REPEAT - IDENTICAL_LIMIT
    assert stats["identical_max"] <= IDENTICAL_LIMIT
    print(
        f"\n{WORKERS} processes, rate {RATE}/s: {len(ids)} renewals, max {max(per_second.values())}"
        f" requests in one second, identical_max {stats['identical_max']}"
    )
