#!/usr/bin/env bash
# Install what the tests need and run the whole suite. Arguments go to pytest:
#   bash scripts/test.sh                      # everything
#   bash scripts/test.sh tests/unit -x -k vp8
#
# Redis: the machine's own on 127.0.0.1:6379 (db 15, so db 0 is never touched) when it answers,
# otherwise a private throw-away server on a unix socket, stopped at exit. TEST_REDIS_URL
# overrides both. A missing prerequisite fails its tests (ROSTRUM_REQUIRE_ALL=1, the default
# here; set it to 0 to skip them instead).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'test: %s\n' "$*"; }

SETUP_TEST=1 bash scripts/setup.sh

# ---------------------------------------------------------------- strict mode
# This command installs every prerequisite itself, so one still missing is a failure, not a
# skip: a green run here (and in CI, which runs exactly this) proves every test ran.
# ROSTRUM_REQUIRE_ALL=0 lets a developer without root or a browser skip those tests instead.
export ROSTRUM_REQUIRE_ALL="${ROSTRUM_REQUIRE_ALL:-1}"
if [[ "$ROSTRUM_REQUIRE_ALL" == "1" ]]; then
    say "ROSTRUM_REQUIRE_ALL=1: missing prerequisites fail tests instead of skipping them"
fi

# ---------------------------------------------------------------- Redis
REDIS_TMP=""
REDIS_PID=""
cleanup() {
    if [[ -n "$REDIS_PID" ]]; then
        redis-cli -s "$REDIS_TMP/redis.sock" shutdown nosave >/dev/null 2>&1 \
            || kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
        REDIS_PID=""
    fi
    if [[ -n "$REDIS_TMP" ]]; then
        rm -rf "$REDIS_TMP"
        REDIS_TMP=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "${TEST_REDIS_URL:-}" ]]; then
    export REDIS_URL="$TEST_REDIS_URL"
    say "Redis: $REDIS_URL (from TEST_REDIS_URL)"
elif [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null || true)" == "PONG" ]]; then
    export REDIS_URL="redis://127.0.0.1:6379/15"
    say "Redis: the machine's own, $REDIS_URL"
elif command -v redis-server >/dev/null 2>&1; then
    REDIS_TMP="$(mktemp -d "${TMPDIR:-/tmp}/rostrum-redis.XXXXXX")"
    # A child of this script (not --daemonize), so it is stopped and reaped at exit.
    redis-server --port 0 --unixsocket "$REDIS_TMP/redis.sock" --unixsocketperm 700 \
        --save '' --appendonly no --dir "$REDIS_TMP" >"$REDIS_TMP/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 50); do
        [[ "$(redis-cli -s "$REDIS_TMP/redis.sock" ping 2>/dev/null || true)" == "PONG" ]] && break
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ "$(redis-cli -s "$REDIS_TMP/redis.sock" ping 2>/dev/null || true)" != "PONG" ]]; then
        say "private redis-server did not answer; its log:" >&2
        cat "$REDIS_TMP/redis.log" >&2 || true
        exit 1
    fi
    export REDIS_URL="unix://$REDIS_TMP/redis.sock?db=15"
    say "Redis: private server, $REDIS_URL (stopped at exit)"
else
    unset REDIS_URL
    say "Redis: none available; redis tests will skip (or fail under ROSTRUM_REQUIRE_ALL=1)"
fi

# ---------------------------------------------------------------- pytest
rc=0
"$ROOT/.venv/bin/python" -m pytest -q -rfE --durations=15 "$@" || rc=$?

if [[ $rc -eq 5 ]]; then
    say "pytest collected no tests (exit 5); treating that as a failure" >&2
    exit 1
fi
exit "$rc"
