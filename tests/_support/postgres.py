"""A real PostgreSQL for the tests that need one.

``OPENPROVIDER_TEST_POSTGRES_URL`` (set by ``.ci/postgres.sh``) names one. Without it, and
outside CI, a throwaway server is started once per process from the server binaries found
(Debian's ``/usr/lib/postgresql/VERSION/bin``, else PATH): a cluster in a temporary directory,
owned by the ``postgres`` user when running as root (postgres refuses to run as root), trust
authentication on loopback only, a free port on 127.0.0.1, fsync on; it is stopped at
interpreter exit. Without either, the tests that need it are skipped, saying what is missing;
under CI (``CI=true``) they fail instead, so that CI never skips them silently.

From a session-scoped fixture::

    @pytest.fixture(scope="session")
    def pg_url() -> str:
        return postgres_url()

and ``fresh_database(pg_url)`` for an empty database of a test's own (they are named
``opssl_test_…`` and left behind: the servers here are throwaway).
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

try:
    import psycopg
    from psycopg import sql
except ImportError:  # without the postgres extra: the tests say so
    psycopg = None  # type: ignore[assignment]

__all__ = ["ENV", "fresh_database", "postgres_url", "psycopg"]

ENV = "OPENPROVIDER_TEST_POSTGRES_URL"
DATABASE = "openprovider_test"
_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_INSTALL = "apt-get install postgresql"


class _Unavailable(Exception):
    """No server can be had here: the tests skip (fail under CI)."""


class _Broken(Exception):
    """A server was named but does not work: the tests fail."""


def postgres_url() -> str:
    """The URL of a PostgreSQL database for the tests (the same one for the whole process),
    or the test skips (fails under CI) saying why there is none."""
    outcome = _outcome()
    if isinstance(outcome, _Broken):
        pytest.fail(str(outcome), pytrace=False)
    if isinstance(outcome, _Unavailable):
        _unavailable(str(outcome))
    return outcome


@functools.cache
def _outcome() -> str | _Unavailable | _Broken:
    # Worked out once, a failure too: a server that would not start is not tried again.
    try:
        return _find_or_start()
    except (_Unavailable, _Broken) as problem:
        return problem


def fresh_database(url: str) -> str:
    """A new, empty, uniquely named database on the server of ``url``; its URL."""
    name = f"opssl_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    if "://" in url:
        return urlsplit(url)._replace(path=f"/{name}").geturl()
    return psycopg.conninfo.make_conninfo(url, dbname=name)


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _unavailable(reason: str) -> NoReturn:
    if _in_ci():
        pytest.fail(f"CI=true, and no PostgreSQL server: {reason}", pytrace=False)
    pytest.skip(reason)


def _find_or_start() -> str:
    if psycopg is None:
        raise _Unavailable("psycopg is not installed: pip install -e '.[postgres]' (or '.[dev]')")
    url = os.environ.get(ENV)
    if url:
        problem = _ping(url, 10.0)
        if problem is not None:
            raise _Broken(f"{ENV}={url} does not answer: {problem}")
        return url
    if _in_ci():
        raise _Unavailable(f"{ENV} is not set (.ci/postgres.sh starts one: see its warnings)")
    return _start()


def _ping(url: str, wait: float) -> Exception | None:
    deadline = time.monotonic() + wait
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error as exc:
            if time.monotonic() >= deadline:
                return exc
        else:
            return None
        time.sleep(0.05)


def _server_binaries() -> Path:
    def complete(directory: Path) -> bool:
        return all(os.access(directory / program, os.X_OK) for program in _PROGRAMS)

    def version(directory: Path) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in directory.parent.name.split("."))
        except ValueError:
            return ()

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version)
    for directory in reversed(debian):
        if complete(directory):
            return directory
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None and complete(Path(pg_ctl).resolve().parent):
        return Path(pg_ctl).resolve().parent
    raise _Unavailable(
        f"PostgreSQL server binaries not found (initdb, pg_ctl, postgres in "
        f"/usr/lib/postgresql/*/bin or on PATH): {_INSTALL}, or set {ENV}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start() -> str:
    binaries = _server_binaries()
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise _Unavailable(
                "running as root, and there is no 'postgres' user to run the server as "
                f"(postgres refuses to run as root): {_INSTALL} creates one"
            ) from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise _Unavailable("running as root, and runuser (util-linux) is not found")
        as_user = [runuser, "-u", "postgres", "--"]

    workdir = Path(tempfile.mkdtemp(prefix="openprovider-postgres-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    if owner is not None:
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
    data = workdir / "data"
    port = _free_port()

    def run(*command: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # In the cluster's directory: the caller's may be closed to the postgres user.
        return subprocess.run(
            [*as_user, *map(str, command)],
            cwd=workdir,
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    def give_up(what: str, done: subprocess.CompletedProcess[str]) -> NoReturn:
        log = workdir / "postgres.log"
        details = (done.stdout + done.stderr).strip()
        if log.exists():
            details += "\n" + log.read_text(errors="replace").strip()
        raise _Unavailable(f"{what} (in {workdir}): {details}")

    done = run(
        binaries / "initdb",
        f"--pgdata={data}",
        "--username=postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
    )
    if done.returncode != 0:
        give_up("initdb failed", done)
    # Loopback only: the socket in the cluster's own directory and 127.0.0.1, nothing else.
    run("tee", data / "pg_hba.conf", stdin="local all all trust\nhost all all 127.0.0.1/32 trust\n")
    settings = (
        "\n# tests/_support/postgres.py: a throwaway server for the tests, durable as a real one.\n"
        "listen_addresses = '127.0.0.1'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{workdir}'\n"
        "fsync = on\n"
        "synchronous_commit = on\n"
        "full_page_writes = on\n"
    )
    run("tee", "-a", data / "postgresql.conf", stdin=settings)

    def stop() -> None:
        if (data / "postmaster.pid").exists():
            pg_ctl = (binaries / "pg_ctl", f"--pgdata={data}", "--wait")
            if run(*pg_ctl, "--mode=fast", "--timeout=30", "stop").returncode != 0:
                run(*pg_ctl, "--mode=immediate", "--timeout=10", "stop")

    atexit.register(stop)  # (before rmtree: atexit runs the last registered first)
    done = run(
        binaries / "pg_ctl",
        f"--pgdata={data}",
        f"--log={workdir / 'postgres.log'}",
        "--wait",
        "--timeout=60",
        "start",
    )
    if done.returncode != 0:
        give_up(f"the PostgreSQL server did not start on 127.0.0.1:{port}", done)

    server = f"postgresql://postgres@127.0.0.1:{port}"
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    except psycopg.Error as exc:
        raise _Unavailable(f"could not create the test database on {server}: {exc}") from exc
    return f"{server}/{DATABASE}"
