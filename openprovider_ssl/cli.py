"""The ``openprovider-ssl`` command line (also ``python -m openprovider_ssl``).

Each command runs the SDK inside one ``asyncio.run``; ``_cli_output`` draws the tables, the
progress bar and the JSON. Exit codes: 0 all done, 1 some order or call failed, 2 usage or
credentials, 130 interrupted by Ctrl-C (after a clean stop that lists the renewals that were
in flight). Needs the ``cli`` extra (click and rich).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn

try:
    import click
    import rich  # noqa: F401  (checked here so a missing extra is reported in one place)
except ModuleNotFoundError as exc:
    sys.stderr.write(
        f"openprovider-ssl: the command line needs the 'cli' extra ({exc.name} is not "
        "installed): pip install 'openprovider-ssl[cli]'\n"
    )
    raise SystemExit(2) from None

import attrs
from rich.console import Console

from . import __version__
from . import _cli_output as out
from ._limits import Limits
from .bulk import DEFAULT_CONCURRENCY, BulkRun, ProgressHook
from .client import SANDBOX_URL, Client
from .errors import AuthenticationError, OpenproviderError, ValidationError
from .models import DomainValidationMethod, OrderStatus, Renewed
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .testing import FakeOpenprovider

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
STATUSES = [s.value for s in OrderStatus]
# Waits sized for the in-process fake, whose faults last milliseconds, not minutes.
FAKE_RETRY = RetryPolicy(initial_wait=0.05, max_wait=2.0, maintenance_wait=0.2, readback_delay=0.05)
NO_CREDENTIALS = (
    "no Openprovider credentials: set OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and "
    "OPENPROVIDER_PASSWORD (OPENPROVIDER_BASE_URL optional; --sandbox for the CTE test "
    "environment). To try the tool without an account: 'openprovider-ssl demo', or add "
    "--fake before any command."
)


@attrs.frozen
class Target:
    """Where commands send their calls, from the group's options."""

    sandbox: bool = False
    fake: bool = False
    fake_orders: int = 1000
    fake_latency: float = 0.02
    fake_maintenance_rate: float = 0.0
    fake_seed: int = 7
    verbose: int = 0


@attrs.frozen
class Session:
    """What one command works with: the client, the consoles, the fake server if any."""

    client: Client
    stdout: Console
    stderr: Console
    json: bool
    fake: FakeOpenprovider | None = None


@contextlib.asynccontextmanager
async def _connect(
    target: Target, max_connections: int
) -> AsyncIterator[tuple[Client, FakeOpenprovider | None]]:
    if not target.fake:
        extra: dict[str, Any] = {"base_url": SANDBOX_URL} if target.sandbox else {}
        async with Client.from_env(max_connections=max_connections, **extra) as client:
            yield client, None
        return
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
        ) as fake:
            limits = Limits.for_base_url(fake.url, maintenance_probe_interval=0.1)
            client = Client(
                fake.token, base_url=fake.url, retry=FAKE_RETRY, limits=limits,
                max_connections=max_connections,
            )  # fmt: skip
            async with client:
                yield client, fake
    finally:
        server_log.removeFilter(out.client_gone)


def _run(
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


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON on stdout (for scripts) instead of tables."
)
order_id_arg = click.argument("order_id", metavar="ID", type=click.IntRange(min=1))
concurrency_option = click.option(
    "--concurrency", type=click.IntRange(1, 1000), default=DEFAULT_CONCURRENCY, show_default=True,
    help="Renewals in flight at once.",
)  # fmt: skip


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--sandbox", is_flag=True, help="Use Openprovider's CTE test environment.")
@click.option(
    "--fake", is_flag=True, help="Use an in-process fake Openprovider (no account, no charges)."
)
@click.option(
    "--fake-orders", type=click.IntRange(0, 1_000_000), default=1000, show_default=True,
    metavar="N", help="Orders seeded into the --fake server.",
)  # fmt: skip
@click.option(
    "--fake-latency", type=click.FloatRange(0, 60), default=0.02, show_default=True,
    metavar="SECONDS", help="Latency of every --fake answer.",
)  # fmt: skip
@click.option(
    "--fake-maintenance-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    metavar="RATE", help="Share of --fake writes refused for maintenance.",
)  # fmt: skip
@click.option("--fake-seed", type=int, default=7, show_default=True, help="Seed of the --fake.")
@click.option(
    "-v", "--verbose", count=True, help="Show retries and waits as they happen; -vv every request."
)
@click.version_option(__version__, prog_name="openprovider-ssl")
@click.pass_context
def cli(ctx: click.Context, /, *, sandbox: bool, fake: bool, **options: Any) -> None:
    """Renew and fix Openprovider SSL orders from a terminal.

    Credentials come from OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and
    OPENPROVIDER_PASSWORD (and OPENPROVIDER_BASE_URL), as for Client.from_env().
    Exit codes: 0 done, 1 some orders failed, 2 usage or credentials, 130 interrupted.
    """
    if sandbox and fake:
        raise click.UsageError("--sandbox and --fake exclude each other")
    ctx.obj = Target(sandbox=sandbox, fake=fake, **options)


@cli.group()
def orders() -> None:
    """List, show, update and renew orders."""


@orders.command("list")
@click.option(
    "--status", "statuses", multiple=True, type=click.Choice(STATUSES, case_sensitive=False),
    help="Only orders in this status (repeatable).",
)  # fmt: skip
@click.option("--expiring", is_flag=True, help="Only orders that may be renewed now.")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many orders.")
@json_option
@click.pass_obj
def orders_list(
    target: Target, /, *, statuses: tuple[str, ...], expiring: bool, limit: int | None,
    as_json: bool,
) -> None:  # fmt: skip
    """List orders, all of them or those matching the filters."""

    async def job(s: Session) -> int:
        listing = s.client.orders.list(
            status=[st.upper() for st in statuses] or None,
            show_expiring=expiring or None,
            page_size=min(limit or 250, 250),
        )
        found = []
        async for order in listing:
            found.append(order)
            if limit is not None and len(found) >= limit:
                break
        if s.json:
            out.emit_json([out.order_json(o) for o in found])
        else:
            total = listing.total if listing.total is not None else len(found)
            s.stdout.print(out.orders_table(found, title=f"{len(found):,} of {total:,} orders"))
        return EXIT_OK

    _run(target, job, as_json=as_json)


@orders.command("get")
@order_id_arg
@json_option
@click.pass_obj
def orders_get(target: Target, /, *, order_id: int, as_json: bool) -> None:
    """Show one order (--json: every field, certificates included)."""

    async def job(s: Session) -> int:
        order = await s.client.orders.get(order_id)
        if s.json:
            out.emit_json(out.order_json(order))
        else:
            s.stdout.print(out.order_detail(order))
        return EXIT_OK

    _run(target, job, as_json=as_json)


def _validation_method(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    methods = []
    for value in values:
        host, sep, method = value.partition("=")
        if not sep or not host or not method:
            raise click.BadParameter(f"expected HOST=METHOD, got {value!r}")
        methods.append(DomainValidationMethod(host_name=host, method=method))
    return tuple(methods)


@orders.command("update")
@order_id_arg
@click.option("--autorenew", type=click.Choice(["on", "off"]), help="Renew automatically.")
@click.option("--approver-email", help="Approver email (PAI).")
@click.option("--csr", type=click.File("r"), help="File with a new CSR, '-' for stdin (PAI).")
@click.option(
    "--software", "software_id", type=click.Choice(["linux", "windows"]),
    help="Server software (PAI).",
)  # fmt: skip
@click.option("--organization-handle", help="Organization contact handle (PAI).")
@click.option("--technical-handle", help="Technical contact handle (PAI).")
@click.option("--host-name", "host_names", multiple=True, help="Host name (repeatable; PAI).")
@click.option(
    "--validation", "domain_validation_methods", multiple=True, metavar="HOST=METHOD",
    callback=_validation_method,
    help="Domain validation method, e.g. example.com=dns (repeatable; PAI, REQ).",
)  # fmt: skip
@click.option(
    "--dns-automation/--no-dns-automation", "enable_dns_automation", default=None,
    help="DNS automation (PAI).",
)  # fmt: skip
@click.option("--start-provision", is_flag=True, default=None, help="Send a PAI order to the CA.")
@json_option
@click.pass_obj
def orders_update(target: Target, /, *, order_id: int, as_json: bool, **fields: Any) -> None:
    """Change some fields of an order; only those given are sent.

    ACT orders accept --autorenew only; REQ orders also --validation; PAI orders all.
    """
    # Options are named after the SDK's keyword arguments; only those given are sent.
    changes = {name: value for name, value in fields.items() if value not in (None, ())}
    if "csr" in changes:
        changes["csr"] = changes["csr"].read()
    if not changes:
        raise click.UsageError("give at least one field to change, e.g. --autorenew on")

    async def job(s: Session) -> int:
        result = await s.client.orders.update(order_id, **changes)
        if s.json:
            out.emit_json(out.result_json(result))
        else:
            s.stdout.print(f"Order {result.id} updated: {', '.join(sorted(changes))}.")
            for line in out.warnings_text(result.warnings):
                s.stderr.print(line)
        return EXIT_OK

    _run(target, job, as_json=as_json)


# --- renewals -------------------------------------------------------------------------------


async def _renew(
    s: Session, report: out.RenewReport, start: Callable[[ProgressHook], BulkRun[Renewed]]
) -> int:
    """Run a bulk renewal under a live bar; on Ctrl-C stop it and report what was in flight."""
    stats = s.client.stats
    began, requests, retries = time.perf_counter(), stats.requests, stats.retries
    bar = out.renew_progress(s.stderr, disable=s.json and not s.stderr.is_terminal)
    with bar:
        task = bar.add_task("checking" if report.dry_run else "renewing", ok=0, failed=0)

        def hook(done: int, failed: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, ok=done - failed, failed=failed)

        run = start(hook)
        try:
            async with run:
                async for outcome in run:
                    report.add(outcome)
        except asyncio.CancelledError:
            # Ctrl-C: asyncio.run cancelled us; the run has stopped its workers. Finish the
            # report instead of dying, so the operator learns which renewals may have landed.
            if (me := asyncio.current_task()) is not None:
                me.uncancel()
            report.interrupted = True
            for outcome in run.undelivered:
                report.add(outcome)
            report.in_flight = list(run.unanswered)
            report.skipped = [(i, "not sent: interrupted") for i in run.unsent]
    report.wall_time = time.perf_counter() - began
    report.requests = stats.requests - requests
    report.retries = stats.retries - retries
    if s.fake is not None:
        twice = sum(1 for n in s.fake.stats.renewals.values() if n > 1)
        report.extra["fake: maintenance answers"] = s.fake.stats.faults["maintenance"]
        report.extra["fake: orders renewed twice"] = twice
    if s.json:
        out.emit_json(report.as_json())
    else:
        out.show_report(s.stdout, s.stderr, report)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failed else EXIT_OK


@cli.command("renew-expiring")
@click.option(
    "--within-days", type=click.IntRange(1, 30), default=30, show_default=True,
    help="Renew the active orders that expire within this many days.",
)  # fmt: skip
@concurrency_option
@click.option("--dry-run", is_flag=True, help="List what would be renewed; renew nothing.")
@json_option
@click.pass_obj
def renew_expiring(
    target: Target, /, *, within_days: int, concurrency: int, dry_run: bool, as_json: bool
) -> None:
    """Renew every active order that expires soon (renewals are charged).

    Ctrl-C stops cleanly: nothing more is sent, and the orders whose renew was in flight are
    listed, since those may or may not have been applied.
    """

    async def job(s: Session) -> int:
        title = f"Orders expiring within {within_days} days" + (" (dry run)" if dry_run else "")
        return await _renew(
            s,
            out.RenewReport(title=title, dry_run=dry_run),
            lambda hook: s.client.orders.renew_expiring(
                within_days=within_days, dry_run=dry_run, concurrency=concurrency, progress=hook
            ),
        )

    _run(target, job, as_json=as_json, max_connections=concurrency)


@orders.command("renew")
@click.argument("order_ids", metavar="ID...", nargs=-1, required=True, type=click.IntRange(min=1))
@concurrency_option
@json_option
@click.pass_obj
def orders_renew(
    target: Target, /, *, order_ids: tuple[int, ...], concurrency: int, as_json: bool
) -> None:
    """Renew the given orders (each must be active and expire within 30 days; charged)."""
    unique = list(dict.fromkeys(order_ids))  # an id given twice is still renewed once

    async def job(s: Session) -> int:
        return await _renew(
            s,
            out.RenewReport(title=f"Renew {len(unique)} order(s)"),
            lambda hook: s.client.orders.renew_many(unique, concurrency=concurrency, progress=hook),
        )

    _run(target, job, as_json=as_json, max_connections=concurrency)


@cli.command()
@click.option(
    "--orders", "order_count", type=click.IntRange(1, 200_000), default=3000,
    show_default=True, help="Orders seeded into the fake.",
)  # fmt: skip
@click.option(
    "--latency", type=click.FloatRange(0, 5), default=0.02, show_default=True,
    metavar="SECONDS", help="Latency of every answer.",
)  # fmt: skip
@click.option(
    "--maintenance-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True,
    help="Share of renewals refused for maintenance (then retried).",
)  # fmt: skip
@click.option(
    "--concurrency", type=click.IntRange(1, 1000), default=50, show_default=True,
    help="Renewals in flight at once.",
)  # fmt: skip
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the fake's data.")
@json_option
@click.pass_obj
def demo(
    target: Target, /, *, order_count: int, latency: float, maintenance_rate: float,
    concurrency: int, seed: int, as_json: bool,
) -> None:  # fmt: skip
    """Bulk-renew a fake account: no credentials needed, nothing charged.

    Starts a fake Openprovider in this process with thousands of orders (30% expiring within
    30 days), some latency and some maintenance answers, renews every expiring order under a
    live progress bar, and prints what happened.
    """
    fake_target = attrs.evolve(
        target, fake=True, sandbox=False, fake_orders=order_count, fake_latency=latency,
        fake_maintenance_rate=maintenance_rate, fake_seed=seed,
    )  # fmt: skip

    async def job(s: Session) -> int:
        assert s.fake is not None
        if not s.json:
            s.stderr.print(
                f"Fake Openprovider at {s.fake.url}: {order_count:,} orders, "
                f"{len(s.fake.renewable_ids()):,} expiring within 30 days, {latency * 1000:g} ms "
                f"latency, {maintenance_rate:.0%} of renewals refused for maintenance."
            )
        return await _renew(
            s,
            out.RenewReport(title="Demo: renew every order expiring within 30 days"),
            lambda hook: s.client.orders.renew_expiring(concurrency=concurrency, progress=hook),
        )

    _run(fake_target, job, as_json=as_json, max_connections=concurrency, quiet=True)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="openprovider-ssl")
