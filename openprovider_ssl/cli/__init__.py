"""The ``openprovider-ssl`` command line (also ``python -m openprovider_ssl``).

``_main`` assembles the click group and holds the commands on single orders; the bulk
renewals (``renew-expiring``, ``orders renew``, ``demo``) are in ``_renew``. Each command
runs the SDK inside one ``asyncio.run`` (``_session``); ``_output`` and
``_renew_report`` draw the tables, the progress bar and the JSON; ``_journal`` holds
the ``journal`` commands; ``_options`` the global options, accepted before or after the
command; ``_signals`` the clean stop on SIGINT and SIGTERM; ``_logging`` the log lines
(text or JSON); ``_events`` the ``--json-lines`` events.

Exit codes: 0 all done; 1 some order or call failed, or ``--max-renewals`` was reached; 2 usage
or credentials; 3 renewals pending or of unknown outcome; 130 stopped by SIGINT (Ctrl-C) and
143 by SIGTERM, each after a clean stop that lists the renewals that were in flight. Needs the
``cli`` extra (click and rich).
"""

from __future__ import annotations

import sys

try:
    import click  # noqa: F401
    import rich  # noqa: F401  (checked here so a missing extra is reported in one place)
except ModuleNotFoundError as exc:
    sys.stderr.write(
        f"openprovider-ssl: the command line needs the 'cli' extra ({exc.name} is not "
        "installed): pip install 'openprovider-ssl[cli]'\n"
    )
    raise SystemExit(2) from None

from ._main import cli, main

__all__ = ["cli", "main"]
