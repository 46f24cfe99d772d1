"""How a command of the command line runs: where its calls go, its event loop, its exit code.

``cli`` turns the group's options into a ``Target``; every command hands ``run_command`` a job that
gets a ``Session`` (the client, the consoles, the fake server if any) and returns an exit code.
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

from . import _cli_output as out
from ._limits import Limits
from .client import SANDBOX_URL, Client
from .errors import AuthenticationError, OpenproviderError, ValidationError
from .journal import MemoryJournal, RenewalJournal, SqliteJournal
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .testing import FakeOpenprovider

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PENDING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# Waits sized for the in-process fake, whose faults last milliseconds, not minutes.
FAKE_RETRY = RetryPolicy(initial_wait=0.05, max_wait=2.0, maintenance_wait=0.2, readback_delay=0.05)
NO_CREDENTIALS = (
    "no Openprovider credentials: set OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and "
    "OPENPROVIDER_PASSWORD (OPENPROVIDER_BASE_URL optional; --sandbox for the CTE test "
    "environment). To try the tool without an account: 'openprovider-ssl demo', or add "
    "--fake before any command."
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


@attrs.frozen
class Session:
    """What one command works with: the client, the consoles, the fake server if any."""

    client: Client
    stdout: Console
    stderr: Console
    json: bool
    fake: FakeOpenprovider | None = None

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
        from .journal._postgres import PostgresJournal  # noqa: PLC0415

        return PostgresJournal(where)
    return SqliteJournal(Path(where).expanduser())


def default_journal_path() -> Path:
    """``$XDG_STATE_HOME/openprovider-ssl/renewals.sqlite3`` (``~/.local/state`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "openprovider-ssl" / "renewals.sqlite3"


@contextlib.asynccontextmanager
async def _connect(
    target: Target, max_connections: int
) -> AsyncIterator[tuple[Client, FakeOpenprovider | None]]:
    async with journal_for(target) as journal:
        if not target.fake:
            extra: dict[str, Any] = {"base_url": SANDBOX_URL} if target.sandbox else {}
            async with Client.from_env(
                max_connections=max_connections, journal=journal, **extra
            ) as client:
                yield client, None
            return
        async with _fake(target) as fake:
            limits = Limits.for_base_url(fake.url, maintenance_probe_interval=0.1)
            client = Client(
                fake.token, base_url=fake.url, retry=FAKE_RETRY, limits=limits,
                max_connections=max_connections, journal=journal,
            )  # fmt: skip
            async with client:
                yield client, fake


@contextlib.asynccontextmanager
async def _fake(target: Target) -> AsyncIterator[FakeOpenprovider]:
    # Imported only for --fake and demo: the fake pulls in aiohttp.web.
    from .testing import FakeOpenprovider  # noqa: PLC0415

    server_log = logging.getLogger("aiohttp.server")
    server_log.addFilter(out.client_gone)
    try:
        async with FakeOpenprovider(
            orders=target.fake_orders,
            seed=target.fake_seed,
            latency=target.fake_latency,
            maintenance_rate=target.fake_maintenance_rate,
            renew_settles_after=target.fake_renew_settles_after,
        ) as fake:
            yield fake
    finally:
        server_log.removeFilter(out.client_gone)


def run_command(
    target: Target,
    job: Callable[[Session], Awaitable[int]],
    *,
    as_json: bool,
    max_connections: int = 100,
    quiet: bool = False,
) -> NoReturn:
    """Run ``job`` in a fresh event loop and exit with its code, or with the failure's code."""
    stdout, stderr = out.consoles()

    async def main() -> int:
        async with _connect(target, max_connections) as (client, fake):
            return await job(Session(client, stdout, stderr, as_json, fake))

    try:
        with out.logging_to(stderr, target.verbose, quiet=quiet):
            code = asyncio.run(main())
    except KeyboardInterrupt:
        stderr.print("[yellow]Interrupted.[/]")
        code = EXIT_INTERRUPTED
    except ValidationError as error:
        message = NO_CREDENTIALS if error.argument == "credentials" else str(error)
        code = out.show_error(stderr, error, as_json, message, EXIT_USAGE)
    except AuthenticationError as error:
        code = out.show_error(stderr, error, as_json, str(error), EXIT_USAGE)
    except OpenproviderError as error:
        code = out.show_error(stderr, error, as_json, str(error), EXIT_FAILED)
    raise SystemExit(code)
