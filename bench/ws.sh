#!/usr/bin/env bash
# WebSocket fan-out and change-capture overhead benchmark (issue 6): starts a
# release litewire on temp ports and runs bench/ws.rs against it.
#
#   bash bench/ws.sh                 # N = 1000 and 10000 clients
#   WS_CLIENTS=1000 bash bench/ws.sh
#
# There is no PostgreSQL counterpart of the WebSocket gateway; the
# change-capture overhead is measured as litewire with vs without triggers.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"
log() { printf '[ws-bench] %s\n' "$*" >&2; }
source "$ROOT/scripts/lib.sh"

raise_fd_limit 40000
log "open files limit: $(ulimit -n)"
command -v sqlite3 >/dev/null || { log "needs the sqlite3 shell (apt-get install sqlite3)"; exit 2; }

trap_litewire_cleanup

(cd "$ROOT" && cargo build --release --bin litewire --bench ws 2>&1 | tail -1) >&2
LW_DIR="$(mktemp -d /tmp/bench-ws.XXXXXX)"
LW_PORT="$(free_port)"
# Connections over the wire are few here; the sockets are on the HTTP door.
lw_start "$LITEWIRE_BIN" "$LW_DIR/data" "$LW_PORT" "$LW_DIR/litewire.log" || exit 2
LW_PID=$LW_STARTED_PID
log "litewire on 127.0.0.1:$LW_PORT, WebSocket on 127.0.0.1:$LW_HTTP_PORT (pid $LW_PID)"

export WS_PG="127.0.0.1:$LW_PORT" WS_HTTP="127.0.0.1:$LW_HTTP_PORT" WS_SERVER_PID="$LW_PID" \
    WS_DB="$LW_DIR/data/litewire.db"
(cd "$ROOT" && cargo bench --bench ws)
