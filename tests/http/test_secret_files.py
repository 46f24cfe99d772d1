"""``OPENPROVIDER_TOKEN_FILE`` / ``OPENPROVIDER_PASSWORD_FILE``: secrets from mounted files,
used against the fake, and never shown in reprs, errors or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import openprovider_ssl as op
from openprovider_ssl.testing import FakeOpenprovider

pytestmark = pytest.mark.integration

SECRET = "s3cret-from-a-mounted-file-0042"


def write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


async def test_a_token_from_a_file(tmp_path: Path) -> None:
    async with FakeOpenprovider(orders=3) as fake:
        env = {
            "OPENPROVIDER_TOKEN_FILE": write(tmp_path / "token", fake.token + "\n"),
            "OPENPROVIDER_BASE_URL": fake.url,
        }
        async with op.Client.from_env(env) as client:
            page = await client.orders.page()
        assert page.total == 3
        assert fake.token not in repr(client)


async def test_a_password_from_a_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    async with FakeOpenprovider(orders=3, password=SECRET) as fake:
        env = {
            "OPENPROVIDER_USERNAME": fake.username,
            "OPENPROVIDER_PASSWORD_FILE": write(tmp_path / "password", SECRET + "\r\n"),
            "OPENPROVIDER_BASE_URL": fake.url,
        }
        async with op.Client.from_env(env) as client:
            page = await client.orders.page()
        assert page.total == 3
        assert SECRET not in repr(client)
    assert SECRET not in caplog.text


async def test_a_wrong_password_from_a_file_is_not_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="openprovider_ssl")
    async with FakeOpenprovider(orders=0) as fake:
        env = {
            "OPENPROVIDER_USERNAME": fake.username,
            "OPENPROVIDER_PASSWORD_FILE": write(tmp_path / "password", SECRET),
            "OPENPROVIDER_BASE_URL": fake.url,
        }
        async with op.Client.from_env(env) as client:
            with pytest.raises(op.AuthenticationError) as refused:
                await client.orders.page()
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)
    assert SECRET not in caplog.text


def test_only_one_trailing_newline_is_dropped(tmp_path: Path) -> None:
    env = {
        "OPENPROVIDER_USERNAME": "jane",
        "OPENPROVIDER_PASSWORD_FILE": write(tmp_path / "password", "pass word\n\n"),
    }
    client = op.Client.from_env(env)
    assert "pass word\n" in client._auth.secrets()


@pytest.mark.parametrize("name", ["OPENPROVIDER_TOKEN", "OPENPROVIDER_PASSWORD"])
def test_a_variable_and_its_file_together_are_refused(tmp_path: Path, name: str) -> None:
    env = {
        "OPENPROVIDER_USERNAME": "jane",
        name: SECRET,
        f"{name}_FILE": write(tmp_path / "secret", SECRET),
    }
    with pytest.raises(op.ValidationError) as both:
        op.Client.from_env(env)
    assert f"{name} and {name}_FILE" in str(both.value)
    assert SECRET not in str(both.value)


@pytest.mark.parametrize("name", ["OPENPROVIDER_TOKEN_FILE", "OPENPROVIDER_PASSWORD_FILE"])
@pytest.mark.parametrize("problem", ["missing", "directory", "binary", "empty"])
def test_an_unreadable_file_names_the_path_not_the_content(
    tmp_path: Path, name: str, problem: str
) -> None:
    path = tmp_path / "secret"
    if problem == "directory":
        path.mkdir()
    elif problem == "binary":
        path.write_bytes(SECRET.encode() + b"\xff\xfe" + SECRET.encode())
    elif problem == "empty":
        path.write_text("\n")
    env = {"OPENPROVIDER_USERNAME": "jane", name: str(path)}
    with pytest.raises(op.ValidationError) as unreadable:
        op.Client.from_env(env)
    error = unreadable.value
    assert error.argument == name and str(path) in str(error)
    assert SECRET not in str(error) and SECRET not in repr(error)
    # Nothing chained that could hold the content (a UnicodeDecodeError holds the bytes).
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_arguments_win_over_the_files(tmp_path: Path) -> None:
    env = {"OPENPROVIDER_TOKEN_FILE": str(tmp_path / "missing")}
    # The file is not read when the credentials are given.
    client = op.Client.from_env(env, username="jane", password="pw-123456")
    assert "jane" in repr(client)
