#!/usr/bin/env bash
# The test command: sets up .venv, starts Postgres and Redis when they are down, then runs
# `ruff check .` and pytest twice (SQLite, then Postgres when it answers). Extra arguments go to pytest.
#
# It never hides a skip: whatever it cannot provide (Postgres, Redis, Chromium) is named in a banner at
# the start and again in the summary. Its last line is a pytest summary line, because CI reads it.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_URL="${PREFLAB_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
CHROMIUM=/usr/bin/chromium

SKIPPED=()  # one line per thing this run cannot test
LOGDIR="$(mktemp -d)"
trap 'rm -rf "$LOGDIR"' EXIT

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

banner() {
    local line
    printf '\n%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
    printf '!!! %s\n' "$1"
    shift
    for line in "$@"; do printf '!!!   - %s\n' "${line//$'\n'        /$'\n'!!!     }"; done
    printf '%s\n\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
}

# Waits up to $1 seconds for the command that follows to succeed.
wait_for() {
    local seconds=$1
    shift
    local i
    for ((i = 0; i < seconds * 2; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

# --- Python environment ------------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
    say "Creating .venv"
    have python3 || die "python3 is not installed; install Python 3.11+ and run this again"
    python3 -m venv .venv || die "python3 -m venv .venv failed (on Debian: apt-get install python3-venv)"
fi
say "Installing preflab with its test extras into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
    || echo "could not upgrade pip in .venv; going on with the one there" >&2
# torch first, pinned, so nothing below pulls a multi-GB CUDA build in its place.
.venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0 \
    || echo "could not install torch==2.13.0; the reward-model and generation tests will fail" >&2
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'; then
    # Offline re-runs: carry on with what an earlier run installed, but say so.
    if ! .venv/bin/python -c "import app, pytest, playwright" 2>/dev/null || [ ! -x .venv/bin/ruff ]; then
        die "pip install -e '.[test]' failed (see pip's message above)"
    fi
    banner "pip install -e '.[test]' FAILED; testing with the packages already in .venv"
fi
export VIRTUAL_ENV="$PWD/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"  # tests that spawn `preflab` or `celery` find the venv's copies

# --- Chromium, for the tests marked `browser` (Debian's package, never `playwright install`) ---------
if [ ! -x "$CHROMIUM" ]; then
    if is_root && have apt-get; then
        say "Installing Debian's chromium for the browser tests"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; then
            echo "apt-get could not install chromium" >&2
        fi
    fi
    if [ ! -x "$CHROMIUM" ]; then
        SKIPPED+=("browser tests: $CHROMIUM is missing (as root on Debian: apt-get install chromium)")
    fi
fi

# --- Postgres ----------------------------------------------------------------------------------------
pg_answers() {
    if have pg_isready; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    else
        .venv/bin/python -c "import socket; socket.create_connection(('$PG_HOST', $PG_PORT), 2).close()"
    fi
}
# The suite connects as postgres without a password (trust auth on 127.0.0.1).
pg_accepts_postgres() {
    .venv/bin/python - "$PG_HOST" "$PG_PORT" <<'EOF'
import sys

import psycopg

host, port = sys.argv[1], sys.argv[2]
psycopg.connect(f"host={host} port={port} user=postgres dbname=postgres connect_timeout=3").close()
EOF
}

POSTGRES_OK=0
if ! pg_answers 2>/dev/null; then
    PG_VERSION=""
    if have pg_ctlcluster && [ -d /etc/postgresql ]; then
        PG_VERSION="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
    fi
    if [ -n "$PG_VERSION" ]; then
        say "Starting Postgres $PG_VERSION"
        pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start \
            || echo "pg_ctlcluster could not start Postgres $PG_VERSION" >&2
        wait_for 30 pg_answers || true
    fi
fi
if pg_answers 2>/dev/null; then
    if pg_accepts_postgres 2>"$LOGDIR/pg_probe"; then
        POSTGRES_OK=1
    else
        SKIPPED+=("the Postgres leg: Postgres answers on $PG_HOST:$PG_PORT but refuses user postgres without a
        password ($(tail -n 1 "$LOGDIR/pg_probe")); allow trust for 127.0.0.1 in pg_hba.conf")
    fi
else
    SKIPPED+=("the Postgres leg (and so every test marked postgres_only): nothing answers on $PG_HOST:$PG_PORT
        and no Postgres cluster could be started here")
fi

# --- Redis, for the tests marked `worker` ------------------------------------------------------------
redis_answers() {
    if have redis-cli; then
        [ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" = PONG ]
    else
        .venv/bin/python -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).ping()" "$REDIS_URL"
    fi
}

if ! redis_answers 2>/dev/null; then
    if [ -z "${PREFLAB_TEST_REDIS_URL:-}" ] && have redis-server; then
        say "Starting Redis on 127.0.0.1:6379"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null \
            || echo "redis-server could not start" >&2
        wait_for 10 redis_answers || true
    fi
fi
if ! redis_answers 2>/dev/null; then
    SKIPPED+=("worker tests (a real Celery worker): Redis does not answer at $REDIS_URL")
fi

if [ "${#SKIPPED[@]}" -gt 0 ]; then
    banner "THIS RUN DOES NOT TEST EVERYTHING. Skipped:" "${SKIPPED[@]}"
fi

# --- Lint --------------------------------------------------------------------------------------------
say "ruff check ."
RUFF_RC=0
ruff check . || RUFF_RC=$?

# --- Test legs ---------------------------------------------------------------------------------------
PYTEST_COLOR=()
[ -t 1 ] && PYTEST_COLOR=(--color=yes)

LEGS=(sqlite)
[ "$POSTGRES_OK" -eq 1 ] && LEGS+=(postgres)

declare -A LEG_RC LEG_LINE
for leg in "${LEGS[@]}"; do
    say "pytest, $leg leg (PREFLAB_TEST_DB=$leg)"
    PREFLAB_TEST_DB="$leg" python -m pytest "${PYTEST_COLOR[@]}" "$@" 2>&1 | tee "$LOGDIR/$leg.log"
    LEG_RC[$leg]=${PIPESTATUS[0]}
    # pytest's closing line, e.g. "===== 12 passed, 1 skipped in 3.40s =====" (or without = under -q).
    LEG_LINE[$leg]="$(sed -e 's/\x1b\[[0-9;]*m//g' "$LOGDIR/$leg.log" \
        | grep -E '(passed|failed|error|errors|skipped|deselected|xfailed|xpassed|no tests ran).* in [0-9.]+s' \
        | tail -n 1)"
    [ -n "${LEG_LINE[$leg]}" ] || LEG_LINE[$leg]="(pytest printed no summary line; exit code ${LEG_RC[$leg]})"
done

# --- Summary -----------------------------------------------------------------------------------------
FAILED=0
printf '\n%s\n' '======================================== summary ========================================'
if [ "$RUFF_RC" -eq 0 ]; then
    echo "ruff check      : ok"
else
    echo "ruff check      : FAILED (exit $RUFF_RC)"
    FAILED=1
fi
LAST_FAILED_LEG=""
for leg in "${LEGS[@]}"; do
    rc=${LEG_RC[$leg]}
    case "$rc" in
        0) verdict="ok" ;;
        5) verdict="FAILED: pytest collected no tests (exit 5); check the arguments and tests/" ;;
        *) verdict="FAILED (pytest exit $rc)" ;;
    esac
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        LAST_FAILED_LEG=$leg
    fi
    printf 'pytest %-9s: %s\n                  %s\n' "$leg" "$verdict" "${LEG_LINE[$leg]}"
done
[ "$POSTGRES_OK" -eq 1 ] || echo "pytest postgres : NOT RUN (see below)"
if [ "${#SKIPPED[@]}" -gt 0 ]; then
    banner "Skipped in this run:" "${SKIPPED[@]}"
fi

# The closing line is a pytest summary: a failing leg's when one failed, otherwise the last leg's.
if [ "$RUFF_RC" -ne 0 ] && [ -z "$LAST_FAILED_LEG" ]; then
    echo "FAILED: ruff check found problems (see above); pytest: ${LEG_LINE[${LEGS[-1]}]}"
elif [ -n "$LAST_FAILED_LEG" ]; then
    echo "${LEG_LINE[$LAST_FAILED_LEG]}"
else
    echo "${LEG_LINE[${LEGS[-1]}]}"
fi
exit "$FAILED"
