"""The command line as a cron job or a Kubernetes CronJob runs it, each test through the real
command line (``python -m openprovider_ssl`` in a subprocess): signals, machine-readable output,
options before or after the command, the spending cap, output in logs and every exit code.

Commands run against ``--fake`` (a fake server inside the command), or against a fake served
by the test in a background thread (``ThreadedFake``), whose counters then say what was sent.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests._support.cli_process import wait_for_renews
from tests._support.threaded_fake import ThreadedFake

pytestmark = [pytest.mark.integration, pytest.mark.process]

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
PYTHON_M = [sys.executable, "-m", "openprovider_ssl"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No credentials, no COLUMNS and buffered output (as under cron), the default journal in
    the test's dir."""
    unset = ("COLUMNS", "PYTHONUNBUFFERED")
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENPROVIDER_")}
    base = {k: v for k, v in base.items() if k not in unset}
    base["XDG_STATE_HOME"] = str(tmp_path / "state")
    return base


@pytest.fixture
def served() -> Iterator[ThreadedFake]:
    server = ThreadedFake(orders=60, seed=11)
    yield server
    server.close()


def cli(
    *args: str, env: dict[str, str], code: int | None = 0, stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    proc = subprocess.run(
        [*PYTHON_M, *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if code is not None:
        assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def fake_env(env: dict[str, str], served: ThreadedFake, **more: str) -> dict[str, str]:
    return env | served.env() | more


# --- 1. signals ------------------------------------------------------------------------------


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PYTHON_M, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def renew_and_signal(
    sig: signal.Signals, env: dict[str, str], journal: Path, output: str = "--json"
) -> tuple[int, str]:
    proc = start(
        "renew-expiring", output, "-vv", "--concurrency", "8", "--fake", "--fake-orders",
        "3000", "--fake-latency", "0.05", "--journal", str(journal), env=env,
    )  # fmt: skip
    seen = wait_for_renews(proc)
    time.sleep(0.2)  # a few batches of renewals answered, others in flight
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert "Traceback" not in stderr, seen + stderr
    assert f"Interrupted by {sig.name}: stopped cleanly" in stderr
    return proc.returncode, stdout


def pending_in(journal: Path, env: dict[str, str]) -> set[int]:
    listed = cli("journal", "list", "--pending", "--json", "--journal", str(journal), env=env)
    return {r["order_id"] for r in json.loads(listed.stdout)["records"]}


@posix_only
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_run_stops_cleanly_with_the_json_document_and_the_in_flight_orders(
    sig: signal.Signals, code: int, env: dict[str, str], tmp_path: Path
) -> None:
    journal = tmp_path / "renewals.sqlite3"
    returncode, stdout = renew_and_signal(sig, env, journal)
    data = json.loads(stdout)
    assert returncode == code
    assert data["interrupted"] is True
    assert data["signal"] == sig.name
    assert 0 < len(data["in_flight"]) <= 8
    assert data["counts"]["in_flight"] == len(data["in_flight"])
    assert not set(data["in_flight"]) & set(data["renewed"])
    # The in-flight renewals are pending in the journal: never sent again until reconciled.
    assert set(data["in_flight"]) <= pending_in(journal, env)


@posix_only
def test_sigterm_with_json_lines_ends_with_in_flight_lines_and_the_summary(
    env: dict[str, str], tmp_path: Path
) -> None:
    journal = tmp_path / "renewals.sqlite3"
    returncode, stdout = renew_and_signal(signal.SIGTERM, env, journal, "--json-lines")
    assert returncode == 143
    *events, summary = [json.loads(line) for line in stdout.splitlines()]
    assert summary["event"] == "summary" and summary["exit_code"] == 143
    assert summary["signal"] == "SIGTERM" and summary["interrupted"] is True
    in_flight = [e["order_id"] for e in events if e["event"] == "in_flight"]
    assert 0 < len(in_flight) == summary["counts"]["in_flight"]
    ids = [e["order_id"] for e in events]
    assert len(ids) == len(set(ids))
    assert set(in_flight) <= pending_in(journal, env)


@posix_only
def test_sigterm_stops_any_other_command_with_143(env: dict[str, str]) -> None:
    proc = start("orders", "list", "-vv", "--fake", "--fake-latency", "5", env=env)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # the first request is out, its answer 5 s away
    assert "ListOrders" in line, line
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert "Interrupted by SIGTERM" in stderr
    assert "Traceback" not in stderr


# --- 2. machine-readable output ----------------------------------------------------------------


def test_json_failures_carry_type_api_code_http_status_and_may_have_been_applied(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    good = served.fake.renewable_ids()[0]
    expired = served.fake.order_ids("EXP")[0]
    proc = cli("orders", "renew", str(good), str(expired), "--json", env=fake_env(env, served),
               code=1)  # fmt: skip
    failed = json.loads(proc.stdout)["failed"]
    assert failed == [
        {
            "order_id": expired, "reason": failed[0]["reason"], "message": failed[0]["message"],
            "error_type": "APIError", "api_code": 10004, "http_status": failed[0]["http_status"],
            "may_have_been_applied": False,
        }
    ]  # fmt: skip
    assert isinstance(failed[0]["http_status"], int)
    assert failed[0]["reason"].startswith("10004 ") and failed[0]["message"]


def test_an_unknown_outcome_names_the_commands_to_check_it(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    order_id = served.fake.renewable_ids()[0]
    served.call(lambda: served.fake.faults.update(drop_after_rate=1.0))
    proc = cli("orders", "renew", str(order_id), "--json", env=fake_env(env, served), code=3)
    [unknown] = json.loads(proc.stdout)["unknown"]
    assert unknown["order_id"] == order_id
    assert unknown["error_type"] == "OutcomeUnknownError"
    assert unknown["may_have_been_applied"] is True
    assert f"openprovider-ssl orders get {order_id}" in unknown["message"]
    assert "openprovider-ssl journal reconcile" in unknown["message"]
    assert "orders.get(" not in unknown["message"]
    human = cli("orders", "renew", str(order_id), env=fake_env(env, served), code=3)
    assert "orders.get(" not in human.stdout + human.stderr


def test_json_lines_one_event_per_outcome_then_a_summary(env: dict[str, str]) -> None:
    proc = cli(
        "renew-expiring", "--json-lines", "--fake", "--fake-orders", "60", "--fake-latency",
        "0", env=env,
    )  # fmt: skip
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    *outcomes, summary = events
    assert summary["event"] == "summary" and summary["exit_code"] == 0
    assert {e["event"] for e in outcomes} == {"renewed"}
    ids = [e["order_id"] for e in outcomes]
    assert len(ids) == len(set(ids)) == summary["counts"]["renewed"] > 0
    assert all(datetime.fromisoformat(e["time"]).tzinfo is not None for e in events)


def test_demo_json_lines_on_stdout_and_nothing_on_stderr(env: dict[str, str]) -> None:
    args = ("demo", "--orders", "100", "--latency", "0", "--maintenance-rate", "0.3")
    proc = cli(*args, "--json-lines", env=env)
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["event"] == "summary" and summary["fake"]["maintenance_answers"] > 0
    assert proc.stderr == ""  # demo is quiet: not even the maintenance warnings


def test_json_and_json_lines_exclude_each_other(env: dict[str, str]) -> None:
    proc = cli("renew-expiring", "--fake", "--json", "--json-lines", env=env, code=2)
    assert "exclude each other" in proc.stderr


@posix_only
def test_json_lines_survive_a_sigkill_up_to_the_last_complete_line(env: dict[str, str]) -> None:
    proc = start(
        "renew-expiring", "--json-lines", "--concurrency", "10", "--fake", "--fake-orders",
        "3000", "--fake-latency", "0.01", env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    first = [proc.stdout.readline() for _ in range(20)]  # 20 outcomes written so far
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    lines = "".join(first) + rest
    complete = lines.split("\n")[:-1]  # whatever follows the last newline may be cut
    events = [json.loads(line) for line in complete]
    assert len(events) >= 20
    assert all(e["event"] != "summary" for e in events)
    ids = [e["order_id"] for e in events]
    assert len(ids) == len(set(ids)), "an order appears twice"


@posix_only
def test_json_lines_are_written_as_the_outcomes_arrive(env: dict[str, str]) -> None:
    # One renew at a time, 0.3 s each: the whole output is far below a pipe's buffer, so a
    # line seen while the run goes on was flushed at once, not at the end.
    proc = start(
        "renew-expiring", "--json-lines", "--concurrency", "1", "--fake", "--fake-orders", "40",
        "--fake-latency", "0.3", env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)  # killed as soon as the first line is seen
    rest = proc.stdout.read()  # what the reader holds already, then the pipe up to its end
    proc.communicate(timeout=30)
    events = [json.loads(line) for line in (first + rest).split("\n")[:-1]]
    assert events[0]["event"] == "renewed"
    assert all(e["event"] != "summary" for e in events), "the lines came only at the end"


def test_log_format_json_lines_have_full_timestamps(env: dict[str, str]) -> None:
    proc = cli(
        "renew-expiring", "-v", "--log-format", "json", "--json", "--fake", "--fake-orders",
        "80", "--fake-latency", "0", "--fake-maintenance-rate", "0.3", env=env,
    )  # fmt: skip
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert records and any("retrying in" in r["message"] for r in records)
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        when = datetime.fromisoformat(record["time"])
        assert when.tzinfo is not None and when.year >= 2024


def test_log_format_json_makes_the_command_lines_own_words_json_too(env: dict[str, str]) -> None:
    proc = cli("orders", "list", "--log-format", "json", env=env, code=2)  # no credentials
    [record] = [json.loads(line) for line in proc.stderr.splitlines()]
    assert record["level"] == "ERROR" and "OPENPROVIDER_TOKEN" in record["message"]


def test_text_log_lines_have_the_date_and_offset(env: dict[str, str]) -> None:
    proc = cli(
        "-v", "renew-expiring", "--json", "--fake", "--fake-orders", "80", "--fake-latency",
        "0", "--fake-maintenance-rate", "0.3", env=env,
    )  # fmt: skip
    lines = proc.stderr.splitlines()
    assert lines
    for line in lines:
        when = datetime.fromisoformat(line.split(" ", 1)[0])
        assert when.tzinfo is not None


def test_vv_shows_every_request_and_v_does_not(served: ThreadedFake, env: dict[str, str]) -> None:
    order_id = served.fake.renewable_ids()[0]
    verbose = cli("orders", "get", str(order_id), "-vv", env=fake_env(env, served))
    # Every request with its answer's status and how long it took.
    assert re.search(rf"GetOrder GET /ssl/orders/{order_id} -> 200 in [0-9.]+ ms", verbose.stderr)
    quieter = cli("orders", "get", str(order_id), "-v", env=fake_env(env, served))
    assert "GetOrder GET" not in quieter.stderr
    counted = cli("-v", "orders", "get", str(order_id), "-v", env=fake_env(env, served))
    assert "GetOrder GET" in counted.stderr  # -v before and after the command: -vv
    assert served.fake.token not in verbose.stdout + verbose.stderr


# --- 3. options where an operator expects them -------------------------------------------------


def test_global_options_are_accepted_after_the_command(env: dict[str, str]) -> None:
    dry = cli("renew-expiring", "--dry-run", "--json", "--fake", "--fake-orders", "30", env=env)
    data = json.loads(dry.stdout)
    assert data["dry_run"] is True and data["would_renew"]
    listed = cli("orders", "list", "--json", "--fake", "--fake-orders", "12", env=env)
    assert len(json.loads(listed.stdout)) == 12
    # Given on both sides, the value after the command wins.
    both = cli("--fake", "--fake-orders", "5", "orders", "list", "--json", "--fake-orders",
               "9", env=env)  # fmt: skip
    assert len(json.loads(both.stdout)) == 9
    assert (
        "Global options (before or after the command)"
        in cli("orders", "list", "--help", env=env).stdout
    )


def test_sandbox_and_fake_on_either_side_still_exclude_each_other(env: dict[str, str]) -> None:
    proc = cli("--sandbox", "orders", "list", "--fake", env=env, code=2)
    assert "exclude each other" in proc.stderr


def test_journal_after_the_command(env: dict[str, str], tmp_path: Path) -> None:
    journal = tmp_path / "elsewhere.sqlite3"
    proc = cli("journal", "list", "--json", "--journal", str(journal), env=env)
    assert json.loads(proc.stdout)["journal"] == str(journal)


def test_timeout_gives_up_on_a_server_that_never_answers(env: dict[str, str]) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        where = {
            "OPENPROVIDER_TOKEN": "t0ken",
            "OPENPROVIDER_BASE_URL": f"https://127.0.0.1:{port}",
        }
        # Without --timeout each of the attempts waits 30 s: far beyond this test's 25 s.
        proc = cli("orders", "get", "100001", "--timeout", "0.2", "--json", env=env | where,
                   code=1, timeout=25)  # fmt: skip
    error = json.loads(proc.stdout)["error"]
    assert error["type"] == "TransportError"
    assert "t0ken" not in proc.stdout + proc.stderr


def test_rate_caps_the_requests_per_second(env: dict[str, str]) -> None:
    args = ("renew-expiring", "--json", "--rate", "20", "--fake", "--fake-orders", "60")
    data = json.loads(cli(*args, "--fake-latency", "0", env=env).stdout)
    burst = 5  # Limits' default burst
    assert data["requests"] > burst + 5
    # No faster than the rate allows (a lower bound only: a slow machine cannot break it).
    assert data["wall_time_seconds"] >= (data["requests"] - burst) / 20 * 0.9


def test_bad_option_values_are_usage_errors_before_anything_is_sent(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    where = fake_env(env, served)
    for args in (
        ("orders", "list", "--timeout", "0"),
        ("orders", "list", "--rate", "-1"),
        ("orders", "list", "--login-ip", "not-an-ip"),
        ("renew-expiring", "--renewal-window-days", "91"),
        ("renew-expiring", "--within-days", "45"),  # beyond the default window of 30
    ):
        cli(*args, env=where, code=2)
    assert served.fake.stats.requests.total() == 0


def test_within_days_up_to_a_wider_renewal_window(env: dict[str, str]) -> None:
    args = ("renew-expiring", "--dry-run", "--json", "--fake", "--fake-orders", "200")
    narrow = json.loads(cli(*args, env=env).stdout)
    wide = json.loads(
        cli(*args, "--renewal-window-days", "90", "--within-days", "60", env=env).stdout
    )
    assert set(narrow["would_renew"]) < set(wide["would_renew"])
    by_env = env | {"OPENPROVIDER_RENEWAL_WINDOW_DAYS": "90"}
    from_env = json.loads(cli(*args, "--within-days", "60", env=by_env).stdout)
    assert from_env["would_renew"] == wide["would_renew"]
    cli(*args, env=env | {"OPENPROVIDER_RENEWAL_WINDOW_DAYS": "91"}, code=2)


def test_order_ids_from_standard_input(served: ThreadedFake, env: dict[str, str]) -> None:
    ids = served.fake.renewable_ids()[:3]
    stdin = f"{ids[0]}\n{ids[1]} {ids[2]}\n"
    data = json.loads(
        cli("orders", "renew", "-", "--json", env=fake_env(env, served), stdin=stdin).stdout
    )
    assert data["renewed"] == sorted(ids)
    assert dict(served.fake.stats.renewals) == dict.fromkeys(ids, 1)


def test_bad_ids_on_standard_input_exit_2_and_send_nothing(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    good = served.fake.renewable_ids()[0]
    for stdin in (f"{good}\nabc\n", f"{good} -5", ""):
        proc = cli("orders", "renew", "-", env=fake_env(env, served), stdin=stdin, code=2)
        assert "order id" in proc.stderr
    assert served.fake.stats.requests.total() == 0


def test_login_ip_is_sent_with_the_login(served: ThreadedFake, env: dict[str, str]) -> None:
    login = env | {
        "OPENPROVIDER_USERNAME": served.fake.username,
        "OPENPROVIDER_PASSWORD": served.fake.password,
        "OPENPROVIDER_BASE_URL": served.fake.url,
    }
    order_id = str(served.fake.renewable_ids()[0])
    cli("orders", "get", order_id, "--login-ip", "127.0.0.1", env=login)
    # A token bound to another address is refused for calls from this one: the IP was sent.
    proc = cli("orders", "get", order_id, "--login-ip", "192.0.2.7", env=login, code=None)
    assert proc.returncode in (1, 2)
    assert served.fake.password not in proc.stdout + proc.stderr


@pytest.mark.parametrize("output", ["--json", "--json-lines"])
def test_max_renewals_stops_at_n_renewals_as_the_fake_counts_them(
    output: str, served: ThreadedFake, env: dict[str, str]
) -> None:
    renewable = served.fake.renewable_ids()
    assert len(renewable) > 6
    proc = cli("renew-expiring", output, "--max-renewals", "3", "--concurrency", "8",
               env=fake_env(env, served), code=1)  # fmt: skip
    assert served.fake.stats.renewals.total() == 3  # charged, as the fake counts them
    assert len(served.fake.stats.renewals) == 3
    if output == "--json":
        data = json.loads(proc.stdout)
    else:
        *events, data = [json.loads(line) for line in proc.stdout.splitlines()]
        assert data["event"] == "summary" and data["exit_code"] == 1
        assert sorted(e["order_id"] for e in events if e["event"] == "renewed") == sorted(
            served.fake.stats.renewals
        )
    assert data["cap_reached"] is True and data["max_renewals"] == 3
    assert data["counts"]["renewed"] == 3 and data["counts"]["failed"] == 0
    assert "--max-renewals" in proc.stderr


def test_max_renewals_not_reached_exits_0(served: ThreadedFake, env: dict[str, str]) -> None:
    ids = [str(i) for i in served.fake.renewable_ids()[:2]]
    data = json.loads(
        cli(
            "orders", "renew", *ids, "--max-renewals", "5", "--json", env=fake_env(env, served)
        ).stdout
    )
    assert data["cap_reached"] is False and len(data["renewed"]) == 2


# --- 4. output an operator reads in logs -------------------------------------------------------


def test_tables_do_not_wrap_when_stdout_is_not_a_terminal(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    order = max(
        (served.fake.order(i) for i in served.fake.order_ids("ACT")),
        key=lambda o: len(", ".join(o.host_names)),
    )
    hosts = ", ".join(order.host_names)
    assert len(hosts) > 60  # with the other columns, wider than 80
    proc = cli("orders", "get", str(order.id), env=fake_env(env, served))
    assert hosts in proc.stdout  # on one line, whole


def stderr_on_a_terminal(*args: str, env: dict[str, str], code: int = 0) -> str:
    """Run the command with its stderr on a pseudo-terminal; what it drew there."""
    import pty  # noqa: PLC0415  (POSIX only)

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*PYTHON_M, *args], env=env | {"TERM": "xterm", "NO_COLOR": "1"},
        stdout=subprocess.DEVNULL, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(30) == code
    return shown.decode(errors="replace")


@posix_only
def test_orders_list_shows_progress_on_a_terminal_only(env: dict[str, str]) -> None:
    args = ("orders", "list", "--fake", "--fake-orders", "600", "--fake-latency", "0.05")
    plain = cli(*args, env=env)
    assert plain.stderr == ""  # nothing extra in a log
    assert "Reading orders" in stderr_on_a_terminal(*args, env=env)


@posix_only
def test_the_live_bar_does_not_count_orders_held_back_by_the_cap_as_failed(
    served: ThreadedFake, env: dict[str, str]
) -> None:
    args = ("renew-expiring", "--max-renewals", "3", "--concurrency", "8")
    drawn = stderr_on_a_terminal(*args, env=fake_env(env, served), code=1)
    assert "3 ok 0 failed" in drawn


# --- 5. exit codes -------------------------------------------------------------------------------


def test_exit_codes_0_1_2_3(served: ThreadedFake, env: dict[str, str]) -> None:
    where = fake_env(env, served)
    renewable = served.fake.renewable_ids()
    cli("orders", "renew", str(renewable[0]), env=where, code=0)
    cli("orders", "renew", str(served.fake.order_ids("EXP")[0]), env=where, code=1)
    cli("orders", "list", env=env, code=2)  # no credentials
    cli("orders", "renew", "x", env=where, code=2)
    served.call(lambda: served.fake.faults.update(drop_after_rate=1.0))
    cli("orders", "renew", str(renewable[1]), env=where, code=3)


def test_exit_codes_are_documented_in_the_help(env: dict[str, str]) -> None:
    text = " ".join(cli("--help", env=env).stdout.split())
    for code, meaning in (("0", "done"), ("1", "failed"), ("2", "usage"), ("3", "pending"),
                          ("130", "SIGINT"), ("143", "SIGTERM")):  # fmt: skip
        assert f"{code} " in text and meaning in text
    assert "OPENPROVIDER_PASSWORD_FILE" in text and "OPENPROVIDER_TOKEN_FILE" in text


# --- --redis: limits shared through Redis -----------------------------------------------------


# (``redis_url``: the fixture of tests/_support/redis_server.py, finds or starts a server.)


def test_redis_unreachable_refuses_every_call(env: dict[str, str]) -> None:
    pytest.importorskip("redis.asyncio", reason="the redis package is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # nothing listens once the socket is closed
    proc = cli(
        "orders", "list", "--json", "--fake", "--fake-orders", "5",
        "--redis", f"redis://127.0.0.1:{closed}/0", env=env, code=1,
    )  # fmt: skip
    assert json.loads(proc.stdout)["error"]["error_type"] == "LimiterUnavailableError"


def test_a_bad_redis_url_is_a_usage_error_that_hides_its_password(env: dict[str, str]) -> None:
    pytest.importorskip("redis.asyncio", reason="the redis package is not installed")
    url = "http://user:s3cret-pw@redis.internal/0"
    proc = cli("orders", "list", "--fake", "--redis", url, env=env, code=2)
    assert "redis://" in proc.stderr
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_redis_shares_the_limits(redis_url: str, env: dict[str, str]) -> None:
    import redis  # noqa: PLC0415

    prefix = f"opssl-cli-test-{os.getpid()}-{time.monotonic_ns()}:"
    args = ("renew-expiring", "--json", "--fake", "--fake-orders", "30", "--fake-latency", "0")
    data = json.loads(cli(*args, "--redis", redis_url, "--redis-prefix", prefix, env=env).stdout)
    assert data["renewed"]
    client = redis.Redis.from_url(redis_url)
    try:
        keys = client.keys(prefix + "*")
        assert keys, "nothing was counted in Redis"
        client.delete(*keys)
    finally:
        client.close()


# --- credentials from files (mounted secrets) --------------------------------------------------


def test_token_and_password_from_files(
    served: ThreadedFake, env: dict[str, str], tmp_path: Path
) -> None:
    order_id = str(served.fake.renewable_ids()[0])
    token_file = tmp_path / "token"
    token_file.write_text(served.fake.token + "\n")
    by_token = env | {
        "OPENPROVIDER_TOKEN_FILE": str(token_file), "OPENPROVIDER_BASE_URL": served.fake.url,
    }  # fmt: skip
    proc = cli("orders", "get", order_id, "-vv", "--json", env=by_token)
    assert json.loads(proc.stdout)["id"] == int(order_id)
    assert served.fake.token not in proc.stdout + proc.stderr
    password_file = tmp_path / "password"
    password_file.write_text(served.fake.password + "\n")
    by_login = env | {
        "OPENPROVIDER_USERNAME": served.fake.username,
        "OPENPROVIDER_PASSWORD_FILE": str(password_file),
        "OPENPROVIDER_BASE_URL": served.fake.url,
    }
    proc = cli("orders", "get", order_id, "-vv", "--json", env=by_login)
    assert json.loads(proc.stdout)["id"] == int(order_id)
    for secret in (served.fake.token, served.fake.password):
        assert secret not in proc.stdout + proc.stderr


def test_an_unreadable_secret_file_exits_2_naming_it(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-token"
    proc = cli("orders", "list", env=env | {"OPENPROVIDER_TOKEN_FILE": str(missing)}, code=2)
    assert "OPENPROVIDER_TOKEN_FILE" in proc.stderr and str(missing) in proc.stderr
