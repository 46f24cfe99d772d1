"""A faithful in-memory fake of the Openprovider SSL API (REST v1beta), for tests and benchmarks.

Stateful like moto, with faults on demand: maintenance windows, injected 503/429, dropped
connections (before or after the change is applied), garbage bodies, latency, and the real
limits (identical-call blacklist, login limits, an overall rate limit). Self-contained: it does
not import the client package, only the standard library, aiohttp and attrs.

    async with FakeOpenprovider(orders=1000, seed=7, latency=0.02) as fake:
        ...  # point a client at fake.url with fake.token; assert on fake.stats / fake.orders

Requests are read as the real API (most likely a grpc-gateway over proto3) is modelled to
read them; ``strict_requests=True`` is stricter, to catch a client's own mistakes. The renew
models of BEHAVIOUR.md are ``renew_settles_after`` and ``refuse_pending_renew``; the renew
window is ``renewal_window_days`` (30 as BEHAVIOUR.md's guide says, up to 90 as the current
public guide says). Rules that
Openprovider does not document (required fields, CSR key sizes, the product catalogue, ...)
are modelled: :class:`FakeOpenprovider` lists them.

Run it as a process with ``python -m openprovider_ssl.testing --port 8035``; opt into the
pytest fixture with ``pytest_plugins = ["openprovider_ssl.testing.pytest_plugin"]``.
"""

from __future__ import annotations

import inspect
import typing

from ._errors import ERRORS, ApiError
from ._fake import FakeOpenprovider
from ._faults import FakeStats, Faults
from ._spec import WRITE_OPERATIONS, response_problems
from ._state import STATUSES, Order

__all__ = [
    "ERRORS",
    "STATUSES",
    "WRITE_OPERATIONS",
    "ApiError",
    "FakeOpenprovider",
    "FakeStats",
    "Faults",
    "Order",
    "response_problems",
]

# Where users import them from, not the private module that defines them (tracebacks, reprs,
# pickles, the API reference), as openprovider_ssl does for its own names; done here, since
# the fake imports nothing from the rest of the SDK. A class's string annotations are resolved
# first, where they were written: typing.get_type_hints looks them up in ``__module__``.
for _value in (globals()[_name] for _name in __all__):
    if not (inspect.isclass(_value) or inspect.isfunction(_value)):
        continue
    if any(part.startswith("_") for part in _value.__module__.split(".")):
        _own = inspect.get_annotations(_value) if inspect.isclass(_value) else {}
        if _own:
            _hints = typing.get_type_hints(_value, include_extras=True)
            _value.__annotations__ = {k: _hints.get(k, v) for k, v in _own.items()}
        _value.__module__ = __name__
