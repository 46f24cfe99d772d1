"""What a resource needs from the client: ``Caller``, which ``Client`` satisfies.

The resources sit below the client: they hold a ``Caller``, never the ``Client`` class, so
that no module of this layer imports the client.
"""

from __future__ import annotations

from typing import Protocol

from ..journal._renewal import RenewingClient

__all__ = ["Caller"]


class Caller(RenewingClient, Protocol):
    """A client as the resources see it: what the renewal safety needs (the journal, the
    retry policy, ``_execute`` to send a request and structure its answer) and the renewal
    window the bulk renews look ahead by."""

    @property
    def renewal_window_days(self) -> int: ...
