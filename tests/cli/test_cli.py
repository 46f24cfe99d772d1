"""The ``openprovider-ssl`` command line, driven with click's CliRunner and in subprocesses.

Most tests use ``--fake`` (a fake server inside the command). Tests that must see the server's
state afterwards run a fake of their own in a background thread and point the command at it
through the same environment variables a real account uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from openprovider_ssl.cli import cli
from tests._support.cli_process import wait_for_renews
from tests._support.threaded_fake import ThreadedFake

pytestmark = [pytest.mark.integration, pytest.mark.process]

ENV_NAMES = ("OPENPROVIDER_TOKEN", "OPENPROVIDER_USERNAME", "OPENPROVIDER_PASSWORD")


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in (*ENV_NAMES, "OPENPROVIDER_BASE_URL", "OPENPROVIDER_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    # The default journal lives in the state directory: one of the test's own.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def run_json(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = run(*args, "--json", env=env)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


@pytest.fixture
def served() -> Iterator[ThreadedFake]:
    server = ThreadedFake(orders=60, seed=11)
    yield server
    server.close()


# --- the group, usage and credentials --------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("demo", "orders", "renew-expiring"):
        assert command in result.output
    result = run("orders", "--help")
    for command in ("list", "get", "update", "renew"):
        assert command in result.output


def test_missing_credentials_exit_2_with_the_variable_names() -> None:
    result = run("orders", "list")
    assert result.exit_code == 2
    assert "OPENPROVIDER_TOKEN" in result.stderr
    assert "OPENPROVIDER_USERNAME" in result.stderr
    assert "--fake" in result.stderr
    assert "Traceback" not in result.output


def test_missing_credentials_json_is_an_error_document() -> None:
    data = run_json("orders", "get", "100001", code=2)
    assert data["exit_code"] == 2
    assert data["error"]["type"] == "ValidationError"


def test_refused_token_exit_2_and_the_token_is_never_printed(served: ThreadedFake) -> None:
    secret = "wrong-token-s3cr3t"
    result = run("-vv", "orders", "get", "100001", env=served.env(secret))
    assert result.exit_code == 2
    assert "refused" in result.stderr
    assert secret not in result.output


def test_insecure_base_url_is_refused_with_exit_2() -> None:
    env = {"OPENPROVIDER_TOKEN": "t", "OPENPROVIDER_BASE_URL": "http://api.example.com/v1beta"}
    result = run("orders", "list", env=env)
    assert result.exit_code == 2
    assert "https://" in result.stderr


def test_sandbox_and_fake_together_is_a_usage_error() -> None:
    result = run("--sandbox", "--fake", "orders", "list")
    assert result.exit_code == 2
    assert "exclude each other" in result.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    result = run("--fake", "orders", "list", "--status", "NOPE")
    assert result.exit_code == 2


# --- orders list / get / update ---------------------------------------------------------------


def test_orders_list_json() -> None:
    orders = run_json("--fake", "--fake-orders", "40", "orders", "list")
    assert len(orders) == 40
    assert sorted(o["id"] for o in orders) == list(range(100001, 100041))
    assert {"id", "status", "common_name", "expiration_date"} <= set(orders[0])


def test_json_output_is_stable() -> None:
    def undated(text: str) -> dict[str, Any]:
        # The fake dates its orders from "now", so only the dates may differ between runs.
        data: dict[str, Any] = json.loads(text)
        assert list(data) == sorted(data)
        return {k: v for k, v in data.items() if not k.endswith(("_date", "_at"))}

    first = run("--fake", "--fake-orders", "10", "orders", "get", "100003", "--json").stdout
    again = run("--fake", "--fake-orders", "10", "orders", "get", "100003", "--json").stdout
    assert undated(first) == undated(again)


def test_orders_list_filters() -> None:
    active = run_json("--fake", "--fake-orders", "40", "orders", "list", "--status", "act")
    assert active and {o["status"] for o in active} == {"ACT"}
    expiring = run_json("--fake", "--fake-orders", "40", "orders", "list", "--expiring")
    assert 0 < len(expiring) < len(active)
    limited = run_json("--fake", "--fake-orders", "40", "orders", "list", "--limit", "5")
    assert len(limited) == 5


def test_orders_list_table() -> None:
    result = run("--fake", "--fake-orders", "30", "orders", "list", "--limit", "3")
    assert result.exit_code == 0
    assert "3 of 30 orders" in result.stdout
    assert "1000" in result.stdout  # order ids (newest first, as the API lists by default)


def test_orders_get(served: ThreadedFake) -> None:
    order_id = served.fake.renewable_ids()[0]
    data = run_json("orders", "get", str(order_id), env=served.env())
    assert data["id"] == order_id
    assert data["status"] == "ACT"
    result = run("-vv", "orders", "get", str(order_id), env=served.env())
    assert result.exit_code == 0
    assert served.fake.order(order_id).common_name in result.stdout
    assert f"GetOrder GET /ssl/orders/{order_id}" in result.stderr  # -vv: every request
    assert served.fake.token not in result.output
    assert "Renewable now" in result.stdout


def test_orders_get_unknown_order_exit_1() -> None:
    data = run_json("--fake", "--fake-orders", "5", "orders", "get", "999999", code=1)
    assert data["error"]["code"] == 10001
    result = run("--fake", "--fake-orders", "5", "orders", "get", "999999")
    assert result.exit_code == 1
    assert "10001" in result.stderr


def test_orders_update_autorenew(served: ThreadedFake) -> None:
    order_id = served.fake.order_ids("ACT")[0]
    before = served.fake.order(order_id).autorenew
    after = "off" if before == "on" else "on"
    data = run_json("orders", "update", str(order_id), "--autorenew", after, env=served.env())
    assert data == {"id": order_id, "warnings": []}
    assert served.fake.order(order_id).autorenew == after
    result = run("orders", "update", str(order_id), "--autorenew", before, env=served.env())
    assert result.exit_code == 0
    assert f"Order {order_id} updated" in result.stdout


def test_orders_update_validation_methods_on_a_req_order(served: ThreadedFake) -> None:
    order_id = served.fake.order_ids("REQ")[0]
    host = served.fake.order(order_id).common_name
    data = run_json(
        "orders", "update", str(order_id), "--validation", f"{host}=dns", env=served.env()
    )
    assert data["id"] == order_id
    assert served.fake.order(order_id).domain_validation_methods == ((host, "dns"),)


def test_orders_update_a_paid_order_and_send_it_to_the_ca(served: ThreadedFake) -> None:
    order_id = served.fake.order_ids("PAI")[0]
    domain = ".".join(served.fake.order(order_id).common_name.split(".")[-2:])
    result = run(
        "orders", "update", str(order_id), "--approver-email", f"admin@{domain}",
        "--software", "windows", "--start-provision", env=served.env(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    order = served.fake.order(order_id)
    assert (order.status, order.software_id, order.approver_email) == (
        "REQ", "windows", f"admin@{domain}"
    )  # fmt: skip


def test_orders_update_refused_in_status_exit_1(served: ThreadedFake) -> None:
    order_id = served.fake.order_ids("ACT")[0]
    data = run_json(
        "orders", "update", str(order_id), "--software", "windows", code=1, env=served.env()
    )
    assert data["error"]["code"] == 10002


def test_orders_update_needs_a_field_and_good_values() -> None:
    assert run("--fake", "orders", "update", "100001").exit_code == 2
    result = run("--fake", "orders", "update", "100001", "--validation", "nohost")
    assert result.exit_code == 2
    assert "HOST=METHOD" in result.stderr


# --- renewals ------------------------------------------------------------------------------------


def test_orders_renew_some_fail(served: ThreadedFake) -> None:
    good = served.fake.renewable_ids()[:2]
    bad = served.fake.order_ids("EXP")[0]
    ids = [str(i) for i in (*good, bad)]
    data = run_json("orders", "renew", *ids, code=1, env=served.env())
    assert data["renewed"] == sorted(good)
    assert [f["order_id"] for f in data["failed"]] == [bad]
    assert data["counts"] == {
        "renewed": 2, "would_renew": 0, "skipped": 0, "failed": 1, "unknown": 0, "pending": 0,
        "already_renewed": 0, "in_flight": 0,
    }  # fmt: skip
    assert data["failed"][0]["reason"].startswith("10004 ")
    assert all(served.fake.stats.renewals[i] == 1 for i in good)
    assert served.fake.stats.renewals[bad] == 0


def test_renew_expiring_renews_each_expiring_order_once(served: ThreadedFake) -> None:
    expiring = served.fake.renewable_ids()
    data = run_json("renew-expiring", "--concurrency", "8", env=served.env())
    assert data["renewed"] == sorted(expiring)
    assert data["failed"] == []
    assert data["interrupted"] is False
    assert data["requests"] >= len(expiring)
    assert dict(served.fake.stats.renewals) == dict.fromkeys(expiring, 1)
    assert served.fake.renewable_ids() == []


def test_renew_expiring_dry_run_renews_nothing(served: ThreadedFake) -> None:
    expiring = served.fake.renewable_ids()
    data = run_json("renew-expiring", "--dry-run", env=served.env())
    assert data["dry_run"] is True
    assert data["would_renew"] == sorted(expiring)
    assert data["renewed"] == []
    assert served.fake.stats.renewals.total() == 0


def test_renew_expiring_dry_run_human_lists_the_orders() -> None:
    result = run("--fake", "--fake-orders", "30", "renew-expiring", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would renew" in result.stdout
    assert "would renew" in result.stdout


def test_renew_expiring_human_output_and_verbose_retries() -> None:
    result = run(
        "-v", "--fake", "--fake-orders", "80", "--fake-latency", "0",
        "--fake-maintenance-rate", "0.3", "renew-expiring",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "renewed" in result.stdout
    assert "requests per second" in result.stdout
    assert "retrying in" in result.stderr
    assert "RenewOrder POST" not in result.stderr  # -v hides the per-request lines


def test_demo_small_json() -> None:
    data = run_json("demo", "--orders", "200", "--latency", "0", "--maintenance-rate", "0.1")
    assert data["counts"]["renewed"] > 0
    assert data["failed"] == []
    assert data["retries"] > 0
    assert data["requests"] > data["counts"]["renewed"]
    assert data["requests_per_second"] > 0


def test_demo_small_human() -> None:
    result = run("demo", "--orders", "150", "--latency", "0")
    assert result.exit_code == 0, result.output
    assert "Fake Openprovider at http://127.0.0.1" in result.stderr
    for label in ("renewed", "failed", "requests", "retries", "wall time"):
        assert label in result.stdout


# --- subprocesses: python -m, the missing extra, Ctrl-C --------------------------------------


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENPROVIDER_")}
    env["COLUMNS"] = "120"
    return env


def python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], check=False, capture_output=True, text=True, env=_env(),
        timeout=60,
    )  # fmt: skip


def test_python_m_runs_the_cli() -> None:
    proc = python("-m", "openprovider_ssl", "--version")
    assert proc.returncode == 0
    assert "openprovider-ssl" in proc.stdout


def test_without_the_cli_extra_the_sdk_imports_and_the_cli_explains() -> None:
    block = "import sys; sys.modules['click'] = None; sys.modules['rich'] = None; "
    sdk = python("-c", block + "import openprovider_ssl as op; print(op.Client)")
    assert sdk.returncode == 0, sdk.stderr
    proc = python(
        "-c", block + "import runpy; runpy.run_module('openprovider_ssl', run_name='__main__')"
    )
    assert proc.returncode == 2
    assert "pip install 'openprovider-ssl[cli]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def interrupt_renew_expiring(*extra: str) -> tuple[int, str, str]:
    """Run renew-expiring against a slow --fake, press Ctrl-C once renewals are in flight."""
    # Slow answers and few workers, so renewals are certainly in flight when SIGINT lands;
    # -vv logs every request, which tells us when the first renew has gone out.
    args = [
        sys.executable, "-m", "openprovider_ssl", "-vv", "--fake", "--fake-orders", "300",
        "--fake-latency", "0.4", "renew-expiring", "--concurrency", "4", *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    seen = wait_for_renews(proc)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, rest = proc.communicate(timeout=30)
    return proc.returncode, stdout, seen + rest


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT differs on Windows")


@posix_only
def test_ctrl_c_during_renew_expiring_stops_cleanly_and_lists_in_flight() -> None:
    code, stdout, stderr = interrupt_renew_expiring()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted by SIGINT: stopped cleanly" in stderr
    listed = stderr.split("journal reconcile):")[1].split()
    assert listed and all(word.isdigit() for word in listed[:4])
    assert "in flight when interrupted" in stdout


@posix_only
def test_ctrl_c_with_json_reports_the_orders_in_flight() -> None:
    code, stdout, stderr = interrupt_renew_expiring("--json")
    assert code == 130, stderr
    assert "Traceback" not in stderr
    data = json.loads(stdout)
    assert data["interrupted"] is True
    assert 0 < len(data["in_flight"]) <= 4
    assert not set(data["in_flight"]) & set(data["renewed"])
    assert data["counts"]["in_flight"] == len(data["in_flight"])
