"""``python -m benchmarks --quick`` runs end to end and reports every metric.

Nothing here asserts on speed: machines differ and are noisy. The point is that the benchmarks
never rot.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parent.parent
#: Far above what --quick takes (about half a minute on two busy cores): a hang, not a speed check.
TIMEOUT = 300

EXPECTED = {
    "overhead_0ms",
    "overhead_0ms_cpu",
    "overhead_0ms_gc",
    "overhead_20ms",
    "overhead_20ms_cpu",
    "overhead_20ms_gc",
    "overhead_20ms_vs_bound",
    "rate_50_achieved",
    "rate_50_max_second",
    "rate_50_max_sliding",
    "rate_200_achieved",
    "rate_200_max_second",
    "rate_200_max_sliding",
    "memory_peak_small",
    "memory_peak_large",
    "memory_growth",
    "memory_per_in_flight",
    "maintenance_sent_per_second",
    "maintenance_sent_in_window",
    "maintenance_received",
    "maintenance_wall",
    "structure_get",
    "structure_list",
    "journal_sqlite_20ms",
    "journal_memory_flat",
    "journal_memory_flat_default",
    "journal_memory_per_order",
}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def test_quick_run_reports_every_metric(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    # Its own process group, so that a hung run takes its fake servers down with it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(f"--quick took over {TIMEOUT} s:\n{stderr[-4000:]}") from None
    assert proc.returncode == 0, stderr[-4000:]
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["quick"] is True
    assert document["errors"] == {}
    assert document["machine"]["nproc"] >= 1
    metrics = {m["key"]: m for m in document["metrics"]}
    # The Redis limiter row comes only where a Redis server is at hand (CI starts one), the
    # instruction count only where valgrind is, the PostgreSQL journal's row only where a
    # PostgreSQL server is (always where one is named, as CI does).
    expected = EXPECTED | ({"overhead_instructions"} if shutil.which("valgrind") else set())
    if os.environ.get("OPENPROVIDER_TEST_POSTGRES_URL"):
        expected.add("journal_postgres_20ms")
    assert expected <= set(metrics) <= expected | {"redis_limiter", "journal_postgres_20ms"}
    for key, metric in metrics.items():
        assert _number(metric["sdk"]), key
        assert metric["baseline"] is None or _number(metric["baseline"]), key
        # A ratio is left out only where there is nothing to compare with.
        assert _number(metric["ratio"]) or metric["baseline"] is None, key
        if metric["target"] is not None:
            assert _number(metric["ratio"]), key
            assert metric["met"] in (True, False), key
    # The printed table names every metric too.
    for metric in metrics.values():
        assert metric["name"] in stdout
