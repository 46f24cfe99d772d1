"""How a command of the command line runs: where its calls go, its event loop, its exit code.

``_options`` turns the global options into a ``Target``; every command hands ``run_command``
a job that gets a ``Session`` (the client, the consoles, the fake server if any) and returns an
exit code. SIGINT and SIGTERM cancel the job (``_signals``): a bulk renewal then reports what
was in flight; any other command exits with 130 or 143.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import click
from rich.console import Console

from ..client import PRODUCTION_URL, SANDBOX_URL, Client
from ..errors import AuthenticationError, OpenproviderError, ValidationError
from ..journal import MemoryJournal, RenewalJournal, SqliteJournal
from ..limits._front import Limits
from ..retry import RetryPolicy
from . import _output as out
from ._logging import client_gone, logging_to, note
from ._signals import EXIT_SIGINT, EXIT_SIGTERM, Stop, stopped_by_signals

if TYPE_CHECKING:
    from ..testing import FakeOpenprovider

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PENDING = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = EXIT_SIGINT, EXIT_SIGTERM  # 130, 143
# Waits sized for the in-process fake, whose faults last milliseconds, not minutes.
FAKE_RETRY = RetryPolicy(initial_wait=0.05, max_wait=2.0, maintenance_wait=0.2, readback_delay=0.05)
NO_CREDENTIALS = (
    "no Openprovider credentials: set OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and "
    "OPENPROVIDER_PASSWORD (or OPENPROVIDER_TOKEN_FILE / OPENPROVIDER_PASSWORD_FILE naming a "
    "file that holds it; OPENPROVIDER_BASE_URL optional; --sandbox for the CTE test "
    "environment). To try the tool without an account: 'openprovider-ssl demo', or add "
    "--fake to any command."
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON on stdout (for scripts) instead of tables."
)


@attrs.frozen
class Target:
    """Where commands send their calls, from the group's options."""

    sandbox: bool
    fake: bool
    fake_orders: int
    fake_latency: float
    fake_maintenance_rate: float
    fake_seed: int
    fake_renew_settles_after: float
    journal: str | None
    verbose: int
    timeout: float | None = None
    rate: float | None = None
    redis: str | None = None
    redis_prefix: str = "openprovider-ssl:"
    login_ip: str | None = None
    renewal_window_days: int | None = None
    log_format: str = "text"

    def client_options(self) -> dict[str, Any]:
        """The ``Client`` keyword arguments the options set (those not given are left out)."""
        given = {
            "timeout": self.timeout,
            "login_ip": self.login_ip,
            "renewal_window_days": self.renewal_window_days,
        }
        return {name: value for name, value in given.items() if value is not None}


@attrs.frozen
class Session:
    """What one command works with: the client, the consoles, the fake server if any.

    ``json_lines`` (``--json-lines``): outcomes are written one JSON object a line as they
    happen. ``stop`` says which signal stopped the command, if one did.
    """

    client: Client
    stdout: Console
    stderr: Console
    json: bool
    fake: FakeOpenprovider | None = None
    json_lines: bool = False
    stop: Stop = attrs.Factory(Stop)

    @property
    def journal(self) -> RenewalJournal:
        return self.client.journal


def journal_for(target: Target) -> RenewalJournal:
    """The journal the command's client uses: ``--journal`` (a SQLite path or a PostgreSQL
    URL), else a SQLite file in the user's state directory; with ``--fake``, whose orders live
    only as long as the process, a journal in memory unless ``--journal`` is given."""
    where = target.journal
    if where is None:
        return MemoryJournal() if target.fake else SqliteJournal(default_journal_path())
    if where.startswith(("postgresql://", "postgres://")) or "dbname=" in where:
        # psycopg is an optional extra: imported only for a PostgreSQL journal.
        from ..journal._postgres import PostgresJournal  # noqa: PLC0415

        return PostgresJournal(where)
    return SqliteJournal(Path(where).expanduser())


def default_journal_path() -> Path:
    """``$XDG_STATE_HOME/openprovider-ssl/renewals.sqlite3`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "openprovider-ssl" / "renewals.sqlite3"


@contextlib.asynccontextmanager
async def _shared_limits(target: Target) -> AsyncIterator[Any]:
    """The ``--redis`` backend of the client's limits (closed after the command), or None."""
    if target.redis is None:
        yield None
        return
    # redis is an optional extra: imported only for --redis.
    try:
        from ..limits._redis.backend import RedisLimits  # noqa: PLC0415

        backend = RedisLimits(target.redis, prefix=target.redis_prefix)
    except ModuleNotFoundError as exc:
        raise ValidationError(
            "redis", f"--redis needs the 'redis' extra ({exc.name} is not installed): "
            "pip install 'openprovider-ssl[redis]'",
        ) from None  # fmt: skip
    except ValueError as exc:  # the URL may hold a password: never shown
        problem = str(exc).replace(target.redis, "URL")
        raise ValidationError("redis", f"--redis: {problem}") from None
    async with backend:
        yield backend


def _limits(target: Target, base_url: str, backend: Any, **options: Any) -> Limits | None:
    """The client's limits with ``--rate`` and ``--redis``; None (the client's own default)
    when neither is given and nothing else is asked."""
    if target.rate is None and backend is None and not options:
        return None
    options.setdefault("max_hold", RetryPolicy().max_wait)  # as the client's default limits
    return Limits.for_base_url(base_url, rate=target.rate, backend=backend, **options)


@contextlib.asynccontextmanager
async def _connect(
    target: Target, max_connections: int
) -> AsyncIterator[tuple[Client, FakeOpenprovider | None]]:
    async with journal_for(target) as journal, _shared_limits(target) as backend:
        options = target.client_options()
        if not target.fake:
            if target.sandbox:
                options["base_url"] = SANDBOX_URL
            base_url = options.get("base_url") or os.environ.get("OPENPROVIDER_BASE_URL")
            limits = _limits(target, base_url or PRODUCTION_URL, backend)
            if limits is not None:
                options["limits"] = limits
            async with Client.from_env(
                max_connections=max_connections, journal=journal, **options
            ) as client:
                yield client, None
            return
        options.pop("login_ip", None)  # the fake takes a token
        async with _fake(target) as fake:
            limits = _limits(target, fake.url, backend, maintenance_probe_interval=0.1)
            client = Client(
                fake.token, base_url=fake.url, retry=FAKE_RETRY, limits=limits,
                max_connections=max_connections, journal=journal, **options,
            )  # fmt: skip
            async with client:
                yield client, fake


@contextlib.asynccontextmanager
async def _fake(target: Target) -> AsyncIterator[FakeOpenprovider]:
    # Imported only for --fake and demo: the fake pulls in aiohttp.web.
    from ..testing import FakeOpenprovider  # noqa: PLC0415

    server_log = logging.getLogger("aiohttp.server")
    server_log.addFilter(client_gone)
    window: dict[str, Any] = {}
    if target.renewal_window_days is not None:
        window["renewal_window_days"] = target.renewal_window_days
    try:
        async with FakeOpenprovider(
            orders=target.fake_orders,
            seed=target.fake_seed,
            latency=target.fake_latency,
            maintenance_rate=target.fake_maintenance_rate,
            renew_settles_after=target.fake_renew_settles_after,
            **window,
        ) as fake:
            yield fake
    finally:
        server_log.removeFilter(client_gone)


def run_command(
    target: Target,
    job: Callable[[Session], Awaitable[int]],
    *,
    as_json: bool,
    json_lines: bool = False,
    max_connections: int = 100,
    quiet: bool = False,
) -> NoReturn:
    """Run ``job`` in a fresh event loop and exit with its code, or with the failure's code.

    SIGINT and SIGTERM cancel the job; one that does not report the stop itself (a bulk
    renewal does) ends with "Interrupted" and 130 (SIGINT) or 143 (SIGTERM).
    """
    stdout, stderr = out.consoles()
    stop = Stop()

    async def main() -> int:
        with stopped_by_signals(stop):
            async with _connect(target, max_connections) as (client, fake):
                session = Session(client, stdout, stderr, as_json, fake, json_lines, stop)
                return await job(session)

    def failed(error: Exception, message: str, code: int) -> int:
        return out.show_error(stderr, error, as_json, message, code, lines=json_lines)

    with logging_to(stderr, target.verbose, quiet=quiet, log_format=target.log_format):
        try:
            code = asyncio.run(main())
        except (KeyboardInterrupt, asyncio.CancelledError):
            note(stderr, f"[yellow]Interrupted{f' by {stop.signal}' if stop.signal else ''}.[/]")
            code = stop.exit_code
        except ValidationError as error:
            message = NO_CREDENTIALS if error.argument == "credentials" else str(error)
            code = failed(error, message, EXIT_USAGE)
        except AuthenticationError as error:
            code = failed(error, str(error), EXIT_USAGE)
        except OpenproviderError as error:
            code = failed(error, out.cli_message(error), EXIT_FAILED)
    raise SystemExit(code)
