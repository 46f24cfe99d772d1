"""The ``openprovider-ssl`` command line (also ``python -m openprovider_ssl``).

This module assembles the click group and holds the commands on single orders; the bulk
renewals (``renew-expiring``, ``orders renew``, ``demo``) are in ``_cli_renew``. Each command
runs the SDK inside one ``asyncio.run`` (``_cli_session``); ``_cli_output`` and
``_cli_renew_report`` draw the tables, the progress bar and the JSON; ``_cli_journal`` holds
the ``journal`` commands. Exit codes: 0 all done, 1 some order or call failed, 2 usage or
credentials, 3 renewals pending or of unknown outcome, 130 interrupted by Ctrl-C (after a clean
stop that lists the renewals that were in flight). Needs the ``cli`` extra (click and rich).
"""

from __future__ import annotations

import sys
from typing import Any

try:
    import click
    import rich  # noqa: F401  (checked here so a missing extra is reported in one place)
except ModuleNotFoundError as exc:
    sys.stderr.write(
        f"openprovider-ssl: the command line needs the 'cli' extra ({exc.name} is not "
        "installed): pip install 'openprovider-ssl[cli]'\n"
    )
    raise SystemExit(2) from None

from . import __version__
from . import _cli_output as out
from ._cli_journal import journal
from ._cli_renew import demo, orders_renew, renew_expiring
from ._cli_session import EXIT_OK, Session, Target, json_option, run_command
from ._converter import unstructure
from .models import DomainValidationMethod, OrderStatus

STATUSES = [s.value for s in OrderStatus]
order_id_arg = click.argument("order_id", metavar="ID", type=click.IntRange(min=1))


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
    "--fake-renew-settles-after", type=click.FloatRange(0), default=0.0, show_default=True,
    metavar="SECONDS",
    help="The --fake charges a renew at once but moves the expiration only this much later "
    "(0: at once).",
)  # fmt: skip
@click.option(
    "--journal", metavar="PATH|URL", envvar="OPENPROVIDER_JOURNAL",
    help="Where renewals are recorded before they are sent: a SQLite file, or a "
    "postgresql:// URL shared by many hosts [default: "
    "$XDG_STATE_HOME/openprovider-ssl/renewals.sqlite3; in memory with --fake]. "
    "Also OPENPROVIDER_JOURNAL.",
)  # fmt: skip
@click.option(
    "-v", "--verbose", count=True, help="Show retries and waits as they happen; -vv every request."
)
@click.version_option(__version__, prog_name="openprovider-ssl")
@click.pass_context
def cli(ctx: click.Context, /, *, sandbox: bool, fake: bool, **options: Any) -> None:
    """Renew and fix Openprovider SSL orders from a terminal.

    Credentials come from OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and
    OPENPROVIDER_PASSWORD (and OPENPROVIDER_BASE_URL), as for Client.from_env().
    Every renew is recorded in the renewal journal before it is sent, and never sent twice.

    Exit codes: 0 done, 1 some orders failed (refused, nothing charged), 2 usage or
    credentials, 3 some renewals pending or of unknown outcome (see `journal reconcile`),
    130 interrupted.
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
            out.emit_json([unstructure(o) for o in found])
        else:
            total = listing.total if listing.total is not None else len(found)
            s.stdout.print(out.orders_table(found, title=f"{len(found):,} of {total:,} orders"))
        return EXIT_OK

    run_command(target, job, as_json=as_json)


@orders.command("get")
@order_id_arg
@json_option
@click.pass_obj
def orders_get(target: Target, /, *, order_id: int, as_json: bool) -> None:
    """Show one order (--json: every field, certificates included)."""

    async def job(s: Session) -> int:
        order = await s.client.orders.get(order_id)
        if s.json:
            out.emit_json(unstructure(order))
        else:
            s.stdout.print(out.order_detail(order))
        return EXIT_OK

    run_command(target, job, as_json=as_json)


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
            out.emit_json(unstructure(result))
        else:
            s.stdout.print(f"Order {result.id} updated: {', '.join(sorted(changes))}.")
            for line in out.warnings_text(result.warnings):
                s.stderr.print(line)
        return EXIT_OK

    run_command(target, job, as_json=as_json)


cli.add_command(renew_expiring)
orders.add_command(orders_renew)
cli.add_command(demo)
cli.add_command(journal)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="openprovider-ssl")
