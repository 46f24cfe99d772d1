"""Keeping secrets out of what the client shows: errors, their messages and log lines.

A server or a proxy may echo the credentials back (an error page quoting the Authorization
header, a login error quoting its body), and some answers hold secrets of their own (a login's
token, a generated key). These helpers cut them out before anything is logged or raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

from ..errors import APIError, OpenproviderError, ResponseError

__all__ = ["HIDDEN_ANSWER", "redacted", "scrubbed", "scrubbed_text"]

#: What a sensitive request's error shows in place of its answer.
HIDDEN_ANSWER = "<hidden: the answer holds a secret>"


def redacted(error: OpenproviderError) -> OpenproviderError:
    """The error of a sensitive request (a login, ...) without its answer, which may hold a
    secret (a token, a key) or echo one (the password)."""
    if isinstance(error, ResponseError):
        return ResponseError(
            error.problem,
            http_status=error.http_status,
            excerpt=HIDDEN_ANSWER,
        )
    if isinstance(error, APIError):
        return error.without_data()
    return error


#: A secret this short is found by chance in any text, and cannot be told from it.
_MIN_SECRET = 4
_HIDDEN = "<hidden>"
E = TypeVar("E", bound=OpenproviderError)


def _secret_forms(secrets: Iterable[str]) -> tuple[str, ...]:
    """Each secret as it may appear in an answer or a message: as is, JSON- or repr-escaped."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= _MIN_SECRET:
            forms.update((secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]))
    # Longest first, so that no shorter form leaves part of a longer one behind.
    return tuple(sorted(forms, key=len, reverse=True))


def scrubbed_text(text: str, secrets: Iterable[str]) -> str:
    for form in _secret_forms(secrets):
        text = text.replace(form, _HIDDEN)
    return text


def scrubbed(error: E, secrets: Iterable[str]) -> E:
    """``error``, or a copy of it with every secret cut out of its message and attributes."""
    forms = _secret_forms(secrets)
    shown = f"{error}{error.args!r}{vars(error)!r}"
    if not any(form in shown for form in forms):
        return error
    clean = type(error).__new__(type(error))
    clean.__dict__.update({key: _scrub(value, forms) for key, value in vars(error).items()})
    clean.args = tuple(_scrub(arg, forms) for arg in error.args)
    return clean


def _scrub(value: Any, forms: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        for form in forms:
            value = value.replace(form, _HIDDEN)
        return value
    if isinstance(value, bytes):
        for form in forms:
            value = value.replace(form.encode(), _HIDDEN.encode())
        return value
    if isinstance(value, list | tuple):
        return type(value)(_scrub(item, forms) for item in value)
    if isinstance(value, dict):
        return {_scrub(k, forms): _scrub(v, forms) for k, v in value.items()}
    if isinstance(value, OpenproviderError):
        return scrubbed(value, forms)
    if attrs.has(type(value)):
        return attrs.evolve(
            value,
            **{
                f.name: _scrub(getattr(value, f.name), forms)
                for f in attrs.fields(type(value))
                if f.init
            },
        )
    if any(form in repr(value) for form in forms):
        return None
    return value
