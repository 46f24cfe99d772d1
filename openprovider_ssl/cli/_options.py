"""The global options, accepted before or after the command: ``--fake renew-expiring`` and
``renew-expiring --fake`` mean the same.

They are declared once (``GLOBAL_OPTIONS``) and attached to the group and to every command by
``CliGroup`` and ``CliCommand``; each level takes the values given on its own part of the
command line, and those given later (after the command) win. ``-v`` counts across levels
(``-v renew-expiring -v`` is ``-vv``). The merged values become the ``Target`` of the command
(``ctx.obj``), so command functions never see these options.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import attrs
import click
from click.core import ParameterSource

from ._session import Target

_IP_HELP = "IP address sent with a username/password login (default 0.0.0.0: any)."


def _ip_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise click.BadParameter(f"not an IP address: {value!r}") from None


def global_params() -> list[click.Parameter]:
    """Fresh ``click.Option`` objects for the global options (each command gets its own)."""
    return [
        click.Option(["--sandbox"], is_flag=True, help="Use Openprovider's CTE test environment."),
        click.Option(
            ["--fake"], is_flag=True,
            help="Use an in-process fake Openprovider (no account, no charges).",
        ),
        click.Option(
            ["--fake-orders"], type=click.IntRange(0, 1_000_000), default=1000,
            show_default=True, metavar="N", help="Orders seeded into the --fake server.",
        ),
        click.Option(
            ["--fake-latency"], type=click.FloatRange(0, 60), default=0.02, show_default=True,
            metavar="SECONDS", help="Latency of every --fake answer.",
        ),
        click.Option(
            ["--fake-maintenance-rate"], type=click.FloatRange(0, 1), default=0.0,
            show_default=True, metavar="RATE",
            help="Share of --fake writes refused for maintenance.",
        ),
        click.Option(
            ["--fake-seed"], type=int, default=7, show_default=True, help="Seed of the --fake."
        ),
        click.Option(
            ["--fake-renew-settles-after"], type=click.FloatRange(0), default=0.0,
            show_default=True, metavar="SECONDS",
            help="The --fake charges a renew at once but moves the expiration only this much "
            "later (0: at once).",
        ),
        click.Option(
            ["--journal"], metavar="PATH|URL", envvar="OPENPROVIDER_JOURNAL",
            help="Where renewals are recorded before they are sent: a SQLite file, or a "
            "postgresql:// URL shared by many hosts [default: "
            "$XDG_STATE_HOME/openprovider-ssl/renewals.sqlite3; in memory with --fake]. "
            "Also OPENPROVIDER_JOURNAL.",
        ),
        click.Option(
            ["--timeout"], type=click.FloatRange(0, 3600, min_open=True), metavar="SECONDS",
            help="Give up on one request after this long (retries may follow) [default: 30].",
        ),
        click.Option(
            ["--rate"], type=click.FloatRange(0, 10_000, min_open=True), metavar="N",
            help="At most N requests per second (retries included).",
        ),
        click.Option(
            ["--redis"], metavar="URL",
            help="Share the rate, the identical-call budget and maintenance pauses with every "
            "process using this Redis (redis://host:port/db; needs the 'redis' extra).",
        ),
        click.Option(
            ["--redis-prefix"], default="openprovider-ssl:", show_default=True,
            help="Prefix of the --redis keys: one per Openprovider account.",
        ),
        click.Option(
            ["--login-ip"], metavar="IP", callback=_ip_address, help=_IP_HELP,
        ),
        click.Option(
            ["--renewal-window-days"], type=click.IntRange(1, 90), metavar="DAYS",
            envvar="OPENPROVIDER_RENEWAL_WINDOW_DAYS",
            help="How many days before expiration your account may renew an order, 1 to 90 "
            "[default: 30]. Also OPENPROVIDER_RENEWAL_WINDOW_DAYS.",
        ),
        click.Option(
            ["-v", "--verbose"], count=True,
            help="Show retries and waits as they happen; -vv every request with its status "
            "and duration.",
        ),
        click.Option(
            ["--log-format"], type=click.Choice(["text", "json"]), default="text",
            show_default=True,
            help="Log lines on stderr: text, or one JSON object a line (time, level, logger, "
            "message).",
        ),
    ]  # fmt: skip


GLOBAL_NAMES = frozenset(str(p.name) for p in global_params())
_COUNTED = frozenset({"verbose"})


def _take_globals(ctx: click.Context) -> None:
    """Move this level's global options out of ``ctx.params`` into ``ctx.obj`` (a Target)."""
    given = {name: ctx.params.pop(name) for name in GLOBAL_NAMES if name in ctx.params}
    above = ctx.obj if isinstance(ctx.obj, Target) else None
    if above is None:
        ctx.obj = Target(**given)
    else:
        changes: dict[str, Any] = {}
        for name, value in given.items():
            if name in _COUNTED:
                changes[name] = getattr(above, name) + value
            elif ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
                changes[name] = value
        ctx.obj = attrs.evolve(above, **changes)
    if ctx.obj.sandbox and ctx.obj.fake:
        raise click.UsageError("--sandbox and --fake exclude each other")


class _GlobalOptions(click.Command):
    """Takes the global options too, and lists them apart in its help, after its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(global_params())

    def invoke(self, ctx: click.Context) -> Any:
        _take_globals(ctx)
        return super().invoke(ctx)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        own: list[tuple[str, str]] = []
        shared: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (shared if param.name in GLOBAL_NAMES else own).append(record)
        if own:
            with formatter.section("Options"):
                formatter.write_dl(own)
        if shared:
            with formatter.section("Global options (before or after the command)"):
                formatter.write_dl(shared)


class CliCommand(_GlobalOptions):
    """A command that also takes the global options."""


class CliGroup(_GlobalOptions, click.Group):
    """A group that takes the global options, and whose commands and groups do too."""

    command_class = CliCommand
    group_class = type  # subgroups are CliGroups as well

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


def command(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], CliCommand]:
    """``click.command`` making a ``CliCommand``."""
    made: Callable[[Callable[..., Any]], CliCommand] = click.command(name, cls=CliCommand, **kwargs)
    return made


def group(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], CliGroup]:
    """``click.group`` making a ``CliGroup``."""
    made: Callable[[Callable[..., Any]], CliGroup] = click.group(name, cls=CliGroup, **kwargs)
    return made
