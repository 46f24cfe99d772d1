"""Kill the nightly job and start it again, over and over: nothing is charged twice.

The command line's ``renew-expiring`` runs against a fake Openprovider in its own process,
with a few thousand expiring orders, and is SIGKILLed at random points (10 to 90 % of what was
left) at least ten times, then run to the end, then ``journal reconcile``. Under each renew
model of BEHAVIOUR.md, judged by the fake's own charge counter: no order charged twice, and
every order renewable at the start either charged once and recorded, or reported pending.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ORDERS = 4_000
EXPIRING_SHARE = 0.6  # 2,400 renewable orders
CYCLES = 10

pytestmark = [
    pytest.mark.integration,
    pytest.mark.process,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]


@pytest.fixture(
    params=[pytest.param(0.0, id="immediate"), pytest.param(86_400.0, id="settles-later")]
)
def fake_process(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    args = [
        sys.executable, "-m", "openprovider_ssl.testing", "--port", "0", "--json",
        "--orders", str(ORDERS), "--expiring-share", str(EXPIRING_SHARE), "--seed", "41",
        "--latency-ms", "3", "--renew-settles-after", str(request.param),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        info: dict[str, Any] = json.loads(proc.stdout.readline())
        info["settles_after"] = request.param
        yield info
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def control(info: dict[str, Any], path: str) -> Any:
    with urllib.request.urlopen(f"{info['base_url']}/_fake/{path}", timeout=10) as answer:
        return json.loads(answer.read())


def charges(info: dict[str, Any]) -> dict[int, int]:
    return {int(k): v for k, v in control(info, "stats")["renewals"].items()}


def cli(info: dict[str, Any], journal: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "openprovider_ssl", "--journal", str(journal), *args
    ]  # fmt: skip


def env_for(info: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OPENPROVIDER_TOKEN=info["token"],
        OPENPROVIDER_BASE_URL=info["url"],
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    env.pop("OPENPROVIDER_JOURNAL", None)
    return env


def kill_at(info: dict[str, Any], command: list[str], env: dict[str, str], target: int) -> int:
    """Start ``command``; SIGKILL it once ``target`` orders were charged in all."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if sum(charges(info).values()) >= target:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    return proc.wait(30)


def test_renew_expiring_killed_and_restarted_charges_no_order_twice(
    fake_process: dict[str, Any], tmp_path: Path
) -> None:
    info = fake_process
    renewable = set(control(info, "renewable")["ids"])
    assert len(renewable) >= 2_000
    journal = tmp_path / "renewals.sqlite3"
    env = env_for(info, tmp_path)
    rng = random.Random(2026)
    # Killed when the whole job is 10 to 90 % done, at ten random points, in order.
    points = sorted(rng.uniform(0.1, 0.9) for _ in range(CYCLES))
    killed = 0
    for point in points:
        target = max(int(point * len(renewable)), sum(charges(info).values()) + 5)
        code = kill_at(
            info, cli(info, journal, "renew-expiring", "--json", "--concurrency", "40"), env,
            target,
        )  # fmt: skip
        killed += code == -signal.SIGKILL
        assert code in (-signal.SIGKILL, 0, 3), code
        assert all(n == 1 for n in charges(info).values()), "an order was charged twice"
    assert killed >= CYCLES - 1  # the last point may come after the run's own end
    # The last run goes to the end: what an earlier run left pending is reported, not resent.
    last = subprocess.run(
        cli(info, journal, "renew-expiring", "--json"), env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert last.returncode in (0, 3), last.stderr
    report = json.loads(last.stdout)
    assert report["counts"]["unknown"] == 0 and report["failed"] == []
    if info["settles_after"]:
        # Nothing moved yet: every order the killed runs charged is still renewable, and each
        # is refused before sending (renewed or pending in the journal).
        earlier = {p["order_id"] for p in report["pending"] + report["already_renewed"]}
        assert set(charges(info)) - set(report["renewed"]) <= earlier
    reconcile = subprocess.run(
        cli(info, journal, "journal", "reconcile", "--json"), env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert reconcile.returncode in (0, 3), reconcile.stderr
    listed = subprocess.run(
        cli(info, journal, "journal", "list", "--json"), env=env, capture_output=True,
        text=True, timeout=60, check=True,
    )  # fmt: skip
    records = {r["order_id"]: r["state"] for r in json.loads(listed.stdout)["records"]}

    charged = charges(info)
    assert [i for i, n in charged.items() if n > 1] == []  # 0 orders charged twice
    pending = {i for i, state in records.items() if state == "pending"}
    renewed = {i for i, state in records.items() if state == "renewed"}
    assert renewable == set(charged) | pending, "a renewable order was neither renewed nor reported"
    assert set(charged) <= renewed | pending, "charged, but not in the journal"
    assert renewed <= set(charged), "recorded renewed, never charged"
    reconciled = json.loads(reconcile.stdout)
    assert {p["order_id"] for p in reconciled["pending"]} == pending
    print(
        f"\ncrash/restart (settles after {info['settles_after']:g} s): {killed} runs killed, "
        f"{len(charged)} of {len(renewable)} renewable orders charged once, 0 twice, "
        f"{len(pending)} reported pending, {len(reconciled['confirmed'])} confirmed by reconcile"
    )
