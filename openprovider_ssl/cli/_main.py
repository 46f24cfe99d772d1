"""The click group and the commands on single orders."""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from .._protocol.converter import unstructure
from ..models import DomainValidationMethod, OrderStatus
from . import _output as out
from ._journal import journal
from ._options import group
from ._renew import demo, orders_renew, renew_expiring
from ._session import EXIT_OK, Session, Target, json_option, run_command

STATUSES = [s.value for s in OrderStatus]
order_id_arg = click.argument("order_id", metavar="ID", type=click.IntRange(min=1))


@group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="openprovider-ssl")
def cli() -> None:
    """Renew and fix Openprovider SSL orders from a terminal, cron or a Kubernetes CronJob.

    Credentials come from OPENPROVIDER_TOKEN, or OPENPROVIDER_USERNAME and
    OPENPROVIDER_PASSWORD, as for Client.from_env(); OPENPROVIDER_TOKEN_FILE and
    OPENPROVIDER_PASSWORD_FILE name a file holding the secret instead (a mounted secret).
    OPENPROVIDER_BASE_URL, OPENPROVIDER_JOURNAL and OPENPROVIDER_RENEWAL_WINDOW_DAYS are
    optional. Global options may come before or after the command. Every renew is recorded
    in the renewal journal before it is sent, and never sent twice.

    \b
    Exit codes:
      0    done
      1    some orders failed (refused, nothing charged), or --max-renewals was reached
      2    usage or credentials
      3    some renewals pending or of unknown outcome (see `journal reconcile`)
      130  stopped by SIGINT (Ctrl-C), after a clean stop that lists what was in flight
      143  stopped by SIGTERM (Kubernetes, systemd, timeout), the same clean way
    """


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
            status=[OrderStatus(st.upper()) for st in statuses] or None,
            show_expiring=expiring or None,
            page_size=min(limit or 250, 250),
        )
        found = []
        with out.listing_progress(s.stderr) as seen:
            async for order in listing:
                found.append(order)
                seen(len(found), listing.total)
                if limit is not None and len(found) >= limit:
                    break
        window = s.client.renewal_window_days
        if s.json:
            out.emit_json([unstructure(o) for o in found])
        else:
            total = listing.total if listing.total is not None else len(found)
            title = f"{len(found):,} of {total:,} orders"
            s.stdout.print(out.orders_table(found, title=title, window_days=window))
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
            s.stdout.print(out.order_detail(order, window_days=s.client.renewal_window_days))
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
