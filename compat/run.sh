#!/usr/bin/env bash
# Real-client compatibility suite: runs the same pytest checks against a real
# PostgreSQL 15 and against litewire, side by side.
#
#   bash compat/run.sh [pytest args...]
#
# Environment:
#   COMPAT_TARGETS   comma list of targets to run (default: postgres,litewire)
#                    (litewire-only checks, such as the WebSocket gateway, run
#                    when litewire is a target)
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

source "$ROOT/scripts/lib.sh"

PG_DIR="" LW_DIR="" LW_PID="" PG_STARTED=""

cleanup() {
    local rc=$?
    set +e
    [[ -n "$LW_PID" ]] && stop_pid "$LW_PID"
    if [[ -n "$PG_STARTED" ]]; then
        pg_stop "$PG_BIN" "$PG_DIR"
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
    PG_PORT="$(free_port)"
    PG_STARTED=1
    pg_start "$PG_BIN" "$PG_DIR" "$PG_PORT" -c fsync=off -c synchronous_commit=off -c full_page_writes=off || exit 2
    export COMPAT_PG_PORT="$PG_PORT"
    log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
fi

# --- litewire ----------------------------------------------------------------
if has_target litewire; then
    [[ -x "$LITEWIRE_BIN" ]] || { log "$LITEWIRE_BIN not found: run 'cargo build --release' first"; exit 2; }
    LW_DIR="$(mktemp -d /tmp/compat-lw.XXXXXX)"
    LW_PORT="$(free_port)"
    lw_start "$LITEWIRE_BIN" "$LW_DIR/data" "$LW_PORT" "$LW_DIR/litewire.log" || exit 2
    LW_PID=$LW_STARTED_PID
    export COMPAT_LW_PORT="$LW_PORT" COMPAT_LW_HTTP_PORT="$LW_HTTP_PORT" COMPAT_LW_DATA="$LW_DIR/data"
    log "litewire ($LITEWIRE_BIN) on 127.0.0.1:$LW_PORT, WebSocket on 127.0.0.1:$LW_HTTP_PORT"
fi

# --- pytest ------------------------------------------------------------------
log "targets: $TARGETS"
set +e
(cd "$COMPAT_DIR" && "$VENV/bin/python" -m pytest -p no:cacheprovider -v -rfE "$@")
rc=$?
set -e
exit $rc
