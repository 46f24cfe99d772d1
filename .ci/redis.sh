# shellcheck shell=bash
# Sourced by .ci/run (under set -euo pipefail): a real redis-server on loopback for the
# shared-limits tests (tests/limits/redis, the command line's --redis), stopped when the run exits.
#
# Installs the Debian package if redis-server is missing (a failed install only warns: the
# tests then skip, saying why), starts it daemonized on a free port with no persistence, and
# exports OPENPROVIDER_TEST_REDIS_URL. Its EXIT trap runs whatever EXIT trap was set before it;
# code that sets an EXIT trap after sourcing this should chain in the same way.

if ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing redis-server (Debian package) for the shared-limits tests"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >/dev/null; then
        echo "redis.sh: could not install redis-server; the Redis tests will be skipped" >&2
    fi
fi

if command -v redis-server >/dev/null 2>&1; then
    _ci_redis_dir="$(mktemp -d)"
    _ci_redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

    _ci_redis_stop() {
        local pid
        pid="$(cat "$_ci_redis_dir/redis.pid" 2>/dev/null || true)"
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            # Wait (up to 5 s) until it has gone, so that its directory can go too.
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
        rm -rf "$_ci_redis_dir"
    }
    # Chain: keep whatever EXIT trap was there before (in a function, so that `set --` leaves
    # the caller's arguments alone).
    _ci_redis_previous_trap=""
    _ci_redis_read_trap() {
        eval "set -- $(trap -p EXIT)"
        _ci_redis_previous_trap="${3:-}"
    }
    _ci_redis_read_trap
    trap '_ci_redis_stop; eval "$_ci_redis_previous_trap"' EXIT

    redis-server --bind 127.0.0.1 --port "$_ci_redis_port" --daemonize yes \
        --save '' --appendonly no --dir "$_ci_redis_dir" \
        --pidfile "$_ci_redis_dir/redis.pid" --logfile "$_ci_redis_dir/redis.log"
    _ci_redis_ready=no
    for _ in $(seq 100); do
        if python3 - "$_ci_redis_port" <<'PING' 2>/dev/null; then
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PING
            _ci_redis_ready=yes
            break
        fi
        sleep 0.1
    done
    if [ "$_ci_redis_ready" != yes ]; then
        echo "redis.sh: redis-server did not answer on 127.0.0.1:$_ci_redis_port" >&2
        cat "$_ci_redis_dir/redis.log" >&2 || true
        exit 1
    fi
    export OPENPROVIDER_TEST_REDIS_URL="redis://127.0.0.1:$_ci_redis_port/0"
    echo "== redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') at $OPENPROVIDER_TEST_REDIS_URL"
fi
