#!/usr/bin/env bash
# Real-client compatibility suite: runs the same pytest checks against a real
# PostgreSQL 15 and against litewire, side by side.
#
#   bash compat/run.sh [pytest args...]
#
# Environment:
#   COMPAT_TARGETS   comma list of targets to run (default: postgres,litewire)
#   LITEWIRE_BIN     litewire binary (default: target/release/litewire)
#   PG_BIN           PostgreSQL bin dir (default: /usr/lib/postgresql/15/bin)
#
# Exit code is pytest's.
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$COMPAT_DIR/.." && pwd)"
VENV="$COMPAT_DIR/.venv"
TARGETS="${COMPAT_TARGETS:-postgres,litewire}"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"

log() { printf '[compat] %s\n' "$*" >&2; }
has_target() { [[ ",$TARGETS," == *",$1,"* ]]; }

# --- Python venv -------------------------------------------------------------
# Reinstall when requirements.txt changes (a copy is kept inside the venv).
if [[ ! -x "$VENV/bin/python" ]] || ! cmp -s "$COMPAT_DIR/requirements.txt" "$VENV/.requirements.txt"; then
    log "creating venv in $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$COMPAT_DIR/requirements.txt"
    cp "$COMPAT_DIR/requirements.txt" "$VENV/.requirements.txt"
fi

free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # wait_port PORT SECONDS PID-or-empty
    local port=$1 deadline=$((SECONDS + $2)) pid=${3:-}
    while ((SECONDS < deadline)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.1
    done
    return 1
}

PG_DIR="" LW_DIR="" LW_PID="" PG_STARTED=""
as_pg() { # initdb/pg_ctl refuse to run as root
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$LW_PID" ]] && kill -0 "$LW_PID" 2>/dev/null; then
        kill -TERM "$LW_PID"
        for _ in $(seq 50); do kill -0 "$LW_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$LW_PID" 2>/dev/null && { log "litewire ignored SIGTERM; killing"; kill -KILL "$LW_PID"; }
        wait "$LW_PID" 2>/dev/null
    fi
    if [[ -n "$PG_STARTED" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    fi
    if [[ $rc -ne 0 && -n "$LW_DIR" && -s "$LW_DIR/litewire.log" ]]; then
        log "last lines of the litewire log:"
        tail -n 40 "$LW_DIR/litewire.log" >&2
    fi
    [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
    [[ -n "$LW_DIR" ]] && rm -rf "$LW_DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL 15 -----------------------------------------------------------
if [[ -z "${PG_BIN:-}" ]]; then
    if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
        PG_BIN=/usr/lib/postgresql/15/bin
    elif command -v initdb >/dev/null; then
        PG_BIN="$(dirname "$(readlink -f "$(command -v initdb)")")"
    else
        PG_BIN=""
    fi
fi
PSQL="${PG_BIN:+$PG_BIN/psql}"
[[ -x "${PSQL:-}" ]] || PSQL="$(command -v psql || true)"
export COMPAT_PSQL="$PSQL"
export COMPAT_TARGETS="$TARGETS"
export COMPAT_HOST=127.0.0.1

if has_target postgres; then
    [[ -x "$PG_BIN/initdb" ]] || { log "PostgreSQL not found (set PG_BIN or install postgresql-15)"; exit 2; }
    PG_DIR="$(mktemp -d /tmp/compat-pg.XXXXXX)"
    chmod 755 "$PG_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
    PG_PORT="$(free_port)"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; exit 2; }
    PG_STARTED=1
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c TimeZone=UTC -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c lc_messages=C" \
        start >/dev/null || { cat "$PG_DIR/postgres.log" >&2; exit 2; }
    export COMPAT_PG_PORT="$PG_PORT"
    log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
fi

# --- litewire ----------------------------------------------------------------
if has_target litewire; then
    [[ -x "$LITEWIRE_BIN" ]] || { log "$LITEWIRE_BIN not found: run 'cargo build --release' first"; exit 2; }
    LW_DIR="$(mktemp -d /tmp/compat-lw.XXXXXX)"
    LW_PORT="$(free_port)"
    "$LITEWIRE_BIN" serve --data-dir "$LW_DIR/data" --pg-listen "127.0.0.1:$LW_PORT" >"$LW_DIR/litewire.log" 2>&1 &
    LW_PID=$!
    wait_port "$LW_PORT" 30 "$LW_PID" || { log "litewire did not start listening on $LW_PORT"; exit 2; }
    export COMPAT_LW_PORT="$LW_PORT"
    log "litewire ($LITEWIRE_BIN) on 127.0.0.1:$LW_PORT"
fi

# --- pytest ------------------------------------------------------------------
log "targets: $TARGETS"
set +e
(cd "$COMPAT_DIR" && "$VENV/bin/python" -m pytest -p no:cacheprovider -v -rfE "$@")
rc=$?
set -e
exit $rc
