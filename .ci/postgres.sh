# shellcheck shell=bash
# Sourced by .ci/run (under set -euo pipefail), after redis.sh: a real PostgreSQL server on
# loopback for the tests that need one (tests/_support/postgres.py), stopped when the run exits.
#
# Installs the Debian package if no server binaries are found (Debian keeps initdb, pg_ctl and
# postgres in /usr/lib/postgresql/VERSION/bin, off PATH; a failed install only warns, and the
# tests then say why they cannot run). Makes a throwaway cluster in a temporary directory
# owned by an unprivileged user (postgres refuses to run as root: the `postgres` user the
# package creates), trust authentication on loopback only, listening on 127.0.0.1 at a free
# port with its socket in that directory, fsync left on (durable commits are benchmarked
# against it), and exports OPENPROVIDER_TEST_POSTGRES_URL for a database made for the run.
# Its EXIT trap runs whatever EXIT trap was set before it (redis.sh's), as redis.sh's does.

_ci_postgres_find() {
    # The newest /usr/lib/postgresql/VERSION/bin with the server programs, else the directory
    # of a pg_ctl on PATH that has them beside it; nothing if neither.
    local dir found=()
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            found+=("$dir")
        fi
    done
    if [ "${#found[@]}" -gt 0 ]; then
        printf '%s\n' "${found[@]}" | sort -V | tail -n 1
        return 0
    fi
    dir="$(command -v pg_ctl 2>/dev/null || true)"
    dir="$(dirname "$(readlink -f "${dir:-/nonexistent}")")"
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
        echo "$dir"
    fi
    return 0
}

_ci_postgres_bin="$(_ci_postgres_find)"
if [ -z "$_ci_postgres_bin" ]; then
    echo "== installing postgresql (Debian package) for the PostgreSQL tests"
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null; then
        # Where the machine lets packages start services, the package has started a cluster
        # of its own (on port 5432): the tests do not use it, so it is stopped.
        if command -v pg_lsclusters >/dev/null 2>&1; then
            pg_lsclusters --no-header 2>/dev/null | while read -r _ci_v _ci_c _ _ci_s _; do
                if [ "$_ci_s" = online ]; then
                    pg_ctlcluster "$_ci_v" "$_ci_c" stop >/dev/null 2>&1 || true
                fi
            done || true
        fi
    else
        echo "postgres.sh: could not install postgresql; the PostgreSQL tests will not run" >&2
    fi
    _ci_postgres_bin="$(_ci_postgres_find)"
    if [ -z "$_ci_postgres_bin" ]; then
        echo "postgres.sh: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin" >&2
    fi
fi

if [ -n "$_ci_postgres_bin" ]; then
    _ci_postgres_started="$EPOCHREALTIME"
    if [ "$(id -u)" -eq 0 ]; then
        if ! id -u postgres >/dev/null 2>&1; then
            useradd --system --user-group --home-dir /nonexistent --no-create-home \
                --shell /usr/sbin/nologin postgres
        fi
        # (A subshell in the cluster's directory: the caller's may be closed to that user.)
        _ci_postgres_as() { (cd "$_ci_postgres_dir" && runuser -u postgres -- "$@"); }
    else
        _ci_postgres_as() { (cd "$_ci_postgres_dir" && "$@"); }
    fi
    _ci_postgres_dir="$(mktemp -d -t openprovider-postgres.XXXXXX)"
    _ci_postgres_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    _ci_postgres_data="$_ci_postgres_dir/data"

    _ci_postgres_stop() {
        if [ -f "$_ci_postgres_data/postmaster.pid" ]; then
            _ci_postgres_as "$_ci_postgres_bin/pg_ctl" --pgdata="$_ci_postgres_data" \
                --mode=fast --wait --timeout=30 stop >/dev/null 2>&1 ||
                _ci_postgres_as "$_ci_postgres_bin/pg_ctl" --pgdata="$_ci_postgres_data" \
                    --mode=immediate --wait --timeout=10 stop >/dev/null 2>&1 || true
        fi
        rm -rf "$_ci_postgres_dir"
    }
    # Chain: keep whatever EXIT trap was there before (in a function, so that `set --` leaves
    # the caller's arguments alone).
    # (Its $3 is trap -p's, through `set --`, not an argument: SC2119/SC2120 do not apply.)
    _ci_postgres_previous_trap=""
    # shellcheck disable=SC2120
    _ci_postgres_read_trap() {
        eval "set -- $(trap -p EXIT)"
        _ci_postgres_previous_trap="${3:-}"
    }
    # shellcheck disable=SC2119
    _ci_postgres_read_trap
    trap '_ci_postgres_stop; eval "$_ci_postgres_previous_trap"' EXIT

    _ci_postgres_fail() {
        echo "postgres.sh: $1" >&2
        cat "$_ci_postgres_dir"/*.log >&2 2>/dev/null || true
        exit 1
    }
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$_ci_postgres_dir"
        runuser -u postgres -- test -w "$_ci_postgres_dir" ||
            _ci_postgres_fail "user postgres cannot write to $_ci_postgres_dir (TMPDIR=${TMPDIR:-})"
    fi
    _ci_postgres_as "$_ci_postgres_bin/initdb" --pgdata="$_ci_postgres_data" \
        --username=postgres --auth=trust --encoding=UTF8 --locale=C \
        >"$_ci_postgres_dir/initdb.log" 2>&1 || _ci_postgres_fail "initdb failed"
    # Loopback only: the socket in the cluster's own directory and 127.0.0.1, nothing else.
    _ci_postgres_as tee "$_ci_postgres_data/pg_hba.conf" >/dev/null <<'HBA'
local all all trust
host all all 127.0.0.1/32 trust
HBA
    _ci_postgres_as tee -a "$_ci_postgres_data/postgresql.conf" >/dev/null <<CONF

# .ci/postgres.sh: a throwaway server for the tests, durable as a real one.
listen_addresses = '127.0.0.1'
port = $_ci_postgres_port
unix_socket_directories = '$_ci_postgres_dir'
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
    _ci_postgres_as "$_ci_postgres_bin/pg_ctl" --pgdata="$_ci_postgres_data" \
        --log="$_ci_postgres_dir/postgres.log" --wait --timeout=60 start >/dev/null ||
        _ci_postgres_fail "the server did not start on 127.0.0.1:$_ci_postgres_port"
    "$_ci_postgres_bin/createdb" --host=127.0.0.1 --port="$_ci_postgres_port" \
        --username=postgres --no-password openprovider_test ||
        _ci_postgres_fail "could not create the test database"
    export OPENPROVIDER_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$_ci_postgres_port/openprovider_test"
    echo "== PostgreSQL $("$_ci_postgres_bin/postgres" --version | awk '{print $3}') at $OPENPROVIDER_TEST_POSTGRES_URL" \
        "(ready in $(awk -v a="$_ci_postgres_started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"
fi
