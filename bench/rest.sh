#!/usr/bin/env bash
# REST door vs the Postgres wire (issue 8): wrk against GET by key, a 20-row
# page and single-row POSTs, then the same operations over the wire with
# tokio-postgres (bench/rest.rs), against one release litewire in one run.
#
#   bash bench/rest.sh
#   REST_SECS=5 REST_CONNS=16 bash bench/rest.sh
#
# Needs wrk (apt-get install wrk). Targets: REST reads by key >= 70 % of wire
# reads/s; REST creates >= 3,000/s (every commit fsync'ed: synchronous=FULL).
# Client and server share the machine's cores, on both sides alike.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"
log() { printf '[rest-bench] %s\n' "$*" >&2; }
source "$ROOT/scripts/lib.sh"
command -v wrk >/dev/null || { log "needs wrk (apt-get install wrk)"; exit 2; }

export REST_SECS="${REST_SECS:-10}" REST_CONNS="${REST_CONNS:-8}" REST_ROWS="${REST_ROWS:-10000}"

trap_litewire_cleanup
(cd "$ROOT" && cargo build --release --bin litewire --bench rest 2>&1 | tail -1) >&2
LW_DIR="$(mktemp -d /tmp/bench-rest.XXXXXX)"
LW_PORT="$(free_port)"
# The benchmark client is one address: lift the per-address rate limit.
printf '[rest]\nrate_per_sec = 100000000\nburst = 100000000\n' >"$LW_DIR/litewire.toml"
lw_start "$LITEWIRE_BIN" "$LW_DIR/data" "$LW_PORT" "$LW_DIR/litewire.log" \
    --config "$LW_DIR/litewire.toml" || exit 2
LW_PID=$LW_STARTED_PID
HTTP="http://127.0.0.1:$LW_HTTP_PORT"
export REST_PG="127.0.0.1:$LW_PORT"
log "litewire on $REST_PG, HTTP on $HTTP (pid $LW_PID); $REST_ROWS rows, $REST_CONNS connections, $REST_SECS s each"

wire() { (cd "$ROOT" && REST_MODE=$1 cargo bench --bench rest 2>/dev/null); }
wire setup

# rest_rate NAME SCRIPT [PATH KEYS]: requests/s of one wrk run; fails on errors.
rest_rate() {
    local name=$1 script=$2 out
    out="$(REST_PATH="${3:-}" REST_KEYS="${4:-$REST_ROWS}" wrk -t 2 -c "$REST_CONNS" -d "${REST_SECS}s" \
        -s "$BENCH_DIR/rest/$script" "$HTTP")"
    if grep -q -E "Non-2xx|Socket errors" <<<"$out"; then
        log "$name: errors"; echo "$out" >&2; return 1
    fi
    awk -v name="$name" '/^Requests\/sec/ {printf "rest %s %.0f 0\n", name, $2}' <<<"$out"
}

{
    rest_rate read_by_key get.lua '/rest/v1/orders?id=eq.{key}'
    rest_rate list_20 get.lua "/rest/v1/orders?order=id&limit=20&offset={key}" $((REST_ROWS - 20))
    rest_rate create create.lua
    wire wire
} | awk '
    { rate[$1, $2] = $3; errors += $4; ops[$2] = 1 }
    END {
        printf "| operation | REST (wrk) | wire (tokio-postgres) | REST / wire |\n|---|---|---|---|\n"
        split("read_by_key list_20 create", order, " ")
        for (i = 1; i <= 3; i++) {
            op = order[i]
            printf "| %s | %d/s | %d/s | %.0f %% |\n", op, rate["rest", op], rate["wire", op],
                100 * rate["rest", op] / rate["wire", op]
        }
        if (errors) printf "wire errors: %d\n", errors
    }'
