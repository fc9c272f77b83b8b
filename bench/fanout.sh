#!/usr/bin/env bash
# Side-by-side LISTEN/NOTIFY fan-out benchmark: a real PostgreSQL 15 and
# litewire, both freshly started in temp dirs on spare ports and both running
# during the whole bench, then `cargo bench --bench fanout` against them.
#
#   bash bench/fanout.sh
#   FANOUT_LISTENERS=10,100 bash bench/fanout.sh      # skip L=1000
#
# Prints a markdown table per target / listener count / variant and the ratios
# litewire / PostgreSQL (see bench/fanout.rs for what is measured).
#
# Environment (besides the FANOUT_* knobs read by bench/fanout.rs):
#   LITEWIRE_BIN      litewire binary (default target/release/litewire; built
#                     with `cargo build --release` if missing)
#   PG_BIN            PostgreSQL bin dir (default /usr/lib/postgresql/15/bin)
#   FANOUT_MAX_CONNECTIONS  max_connections of both servers (default 1200)
#
# No timing is asserted: the exit code is 0 whenever the bench completed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
MAX_CONN="${FANOUT_MAX_CONNECTIONS:-1200}"

log() { printf '[fanout] %s\n' "$*" >&2; }

[[ -x "$PG_BIN/initdb" ]] || { log "PostgreSQL not found in $PG_BIN (set PG_BIN or install postgresql-15)"; exit 2; }

source "$ROOT/scripts/lib.sh"

# 1000 listeners + publishers on each server, and as many sockets in the bench
# process (which, like litewire, inherits this limit): raise the soft fd limit.
raise_fd_limit $((2 * MAX_CONN + 1024))
log "open files limit: $(ulimit -n)"

PG_DIR="" LW_DIR="" PG_STARTED="" LW_PID=""

cleanup() {
    local rc=$?
    set +e
    [[ -n "$LW_PID" ]] && stop_pid "$LW_PID"
    if [[ -n "$PG_STARTED" ]]; then
        pg_stop "$PG_BIN" "$PG_DIR"
    fi
    if [[ $rc -ne 0 ]]; then
        for f in "$LW_DIR/litewire.log" "$PG_DIR/postgres.log"; do
            [[ -s "$f" ]] || continue
            log "last lines of $f:"; tail -n 20 "$f" >&2
        done
    fi
    [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
    [[ -n "$LW_DIR" ]] && rm -rf "$LW_DIR"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- litewire binary ---------------------------------------------------------
if [[ ! -x "$LITEWIRE_BIN" ]]; then
    log "$LITEWIRE_BIN missing: cargo build --release (waits for any cargo lock held by another build)"
    (cd "$ROOT" && cargo build --release)
fi

# Build the bench before starting the servers, so compiling does not overlap
# with them (and cannot time out anything).
log "cargo bench --bench fanout --no-run"
(cd "$ROOT" && cargo bench --bench fanout --no-run 2>&1 | tail -n 3 >&2)

# --- PostgreSQL 15 -----------------------------------------------------------
# Stock settings (fsync on); only max_connections raised for 1000 listeners.
PG_DIR="$(mktemp -d /tmp/bench-pg.XXXXXX)"
PG_PORT="$(free_port)"
PG_STARTED=1
pg_start "$PG_BIN" "$PG_DIR" "$PG_PORT" -c max_connections="$MAX_CONN" || exit 2
log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (max_connections=$MAX_CONN)"

# --- litewire ----------------------------------------------------------------
LW_DIR="$(mktemp -d /tmp/bench-lw.XXXXXX)"
LW_PORT="$(free_port)"
lw_start "$LITEWIRE_BIN" "$LW_DIR/data" "$LW_PORT" "$LW_DIR/litewire.log" --max-connections "$MAX_CONN" || exit 2
LW_PID=$LW_STARTED_PID
log "litewire ($LITEWIRE_BIN) on 127.0.0.1:$LW_PORT (max-connections $MAX_CONN)"

# --- bench -------------------------------------------------------------------
export FANOUT_TARGETS="postgres=127.0.0.1:$PG_PORT,litewire=127.0.0.1:$LW_PORT"
log "FANOUT_TARGETS=$FANOUT_TARGETS"
(cd "$ROOT" && cargo bench --bench fanout)
