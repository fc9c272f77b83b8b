#!/usr/bin/env bash
# Live-query benchmark (issue 7): starts a release litewire on temp ports with
# limits that allow 10,000 subscriptions over a few sockets, and runs
# bench/live.rs against it.
#
#   bash bench/live.sh                  # 1, 1000 and 10000 subscriptions
#   LIVE_SUBS=1,1000 bash bench/live.sh
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"
log() { printf '[live-bench] %s\n' "$*" >&2; }
source "$ROOT/scripts/lib.sh"

trap_litewire_cleanup

(cd "$ROOT" && cargo build --release --bin litewire --bench live 2>&1 | tail -1) >&2
LW_DIR="$(mktemp -d /tmp/bench-live.XXXXXX)"
cat >"$LW_DIR/litewire.toml" <<'TOML'
[realtime]
rate_per_sec = 1000000
burst = 1000000
max_subscriptions = 100000
outbound_queue = 100000
TOML
LW_PORT="$(free_port)"
lw_start "$LITEWIRE_BIN" "$LW_DIR/data" "$LW_PORT" "$LW_DIR/litewire.log" --config "$LW_DIR/litewire.toml" || exit 2
LW_PID=$LW_STARTED_PID
log "litewire on 127.0.0.1:$LW_PORT, WebSocket on 127.0.0.1:$LW_HTTP_PORT (pid $LW_PID)"

export LIVE_PG="127.0.0.1:$LW_PORT" LIVE_HTTP="127.0.0.1:$LW_HTTP_PORT" LIVE_SERVER_PID="$LW_PID"
(cd "$ROOT" && cargo bench --bench live)
