"""A watch over everything a user could see (logs and errors), searched for secrets
afterwards."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator


class SecretWatch(logging.Handler):
    """Everything a user could see: every log record of every logger at every level (with its
    traceback and arguments), and every error or object handed to it (message, repr, args,
    notes and whole traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []
        self.records = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        self.texts.append(self.format(record))  # with exc_info and stack_info, if any
        self.texts.append(repr(record.args))

    def error(self, error: BaseException) -> None:
        self.errors += 1
        self.texts.append(str(error))
        self.texts.append(repr(error))
        self.texts.append("".join(traceback.format_exception(error)))
        self.texts.extend(str(arg) for arg in error.args)
        self.texts.extend(getattr(error, "__notes__", ()))

    def thing(self, value: object) -> None:
        self.texts.append(repr(value))
        self.texts.append(str(value))

    def leaks(self, secrets: list[str]) -> list[str]:
        return [
            f"{secret!r} in {text[:300]!r}"
            for secret in secrets
            if secret
            for text in self.texts
            if secret in text
        ]


@contextlib.contextmanager
def watching() -> Iterator[SecretWatch]:
    """A ``SecretWatch`` on the root logger, with ours, aiohttp's and asyncio's at DEBUG; every
    level is restored afterwards."""
    handler = SecretWatch()
    root = logging.getLogger()
    names = ("openprovider_ssl", "aiohttp", "asyncio")
    saved = root.level, [logging.getLogger(name).level for name in names]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in zip(names, saved[1], strict=True):
            logging.getLogger(name).setLevel(level)
