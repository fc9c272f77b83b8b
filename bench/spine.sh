#!/usr/bin/env bash
# Spine benchmark (issue 3): litewire over the wire against rusqlite in-process
# on the same pragmas, with a real PostgreSQL 15 driven by the same client in
# the same run (see bench/spine.rs for what is measured).
#
#   bash bench/spine.sh
#
# Environment: SPINE_ITERS, SPINE_ROWS (bench/spine.rs), PG_BIN (PostgreSQL
# bin dir, default /usr/lib/postgresql/15/bin). No timing is asserted.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
log() { printf '[spine] %s\n' "$*" >&2; }
source "$ROOT/scripts/lib.sh"

[[ -x "$PG_BIN/initdb" ]] || { log "PostgreSQL not found in $PG_BIN (set PG_BIN or install postgresql-15)"; exit 2; }

PG_DIR="$(mktemp -d /tmp/bench-spine-pg.XXXXXX)"
cleanup() {
    pg_stop "$PG_BIN" "$PG_DIR"
    rm -rf "$PG_DIR"
}
trap cleanup EXIT
PG_PORT="$(free_port)"
# Stock settings (fsync on, synchronous_commit on), as litewire's synchronous=FULL.
pg_start "$PG_BIN" "$PG_DIR" "$PG_PORT" || exit 2
log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

(cd "$ROOT" && SPINE_PG="127.0.0.1:$PG_PORT" cargo bench --bench spine)
