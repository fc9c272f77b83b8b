#!/usr/bin/env bash
# Side-by-side `pgbench -S` (select-only) against a real PostgreSQL 15 and
# against litewire, both freshly started in temp dirs on spare ports.
#
#   bash bench/pgbench.sh
#
# Both are initialized by `pgbench -i -s 1`. Prints both TPS figures and the
# ratio litewire / PostgreSQL (target >= 1.0).
#
# Environment:
#   PGBENCH_CLIENTS   clients             (default 4)
#   PGBENCH_JOBS      pgbench threads     (default 2)
#   PGBENCH_SECONDS   duration of each run (default 15)
#   LITEWIRE_BIN      litewire binary (default target/release/litewire; built
#                     with `cargo build --release` if missing)
#   PG_BIN            PostgreSQL bin dir (default /usr/lib/postgresql/15/bin)
#
# No timing is asserted: the exit code is 0 whenever both runs completed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
CLIENTS="${PGBENCH_CLIENTS:-4}"
JOBS="${PGBENCH_JOBS:-2}"
SECONDS_RUN="${PGBENCH_SECONDS:-15}"
LITEWIRE_BIN="${LITEWIRE_BIN:-$ROOT/target/release/litewire}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
TARGET_RATIO=1.0
SCALE=1

log() { printf '[pgbench] %s\n' "$*" >&2; }

[[ -x "$PG_BIN/initdb" ]] || { log "PostgreSQL not found in $PG_BIN (set PG_BIN or install postgresql-15)"; exit 2; }
PGBENCH="$PG_BIN/pgbench"; [[ -x "$PGBENCH" ]] || PGBENCH="$(command -v pgbench)"
PSQL="$PG_BIN/psql"; [[ -x "$PSQL" ]] || PSQL="$(command -v psql)"

source "$ROOT/scripts/lib.sh"

PG_DIR="" LW_DIR="" PG_STARTED="" LW_PIDS=()

cleanup() {
    local rc=$?
    set +e
    for pid in "${LW_PIDS[@]}"; do stop_pid "$pid"; done
    if [[ -n "$PG_STARTED" ]]; then
        pg_stop "$PG_BIN" "$PG_DIR"
    fi
    if [[ $rc -ne 0 && -n "$LW_DIR" ]]; then
        for f in "$LW_DIR"/*.log; do
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

# pgbench's own summary line: "tps = 12345.678901 (without initial connection time)"
tps_of() { awk '/^tps = / {print $3; exit}' "$1"; }

run_select_only() { # run_select_only LABEL PORT OUTFILE
    local label=$1 port=$2 out=$3
    log "$label: pgbench -S -c $CLIENTS -j $JOBS -T $SECONDS_RUN -n"
    "$PGBENCH" -h 127.0.0.1 -p "$port" -U postgres -S -c "$CLIENTS" -j "$JOBS" -T "$SECONDS_RUN" -n postgres >"$out" 2>&1 \
        || { log "$label: pgbench failed:"; cat "$out" >&2; exit 1; }
    [[ -n "$(tps_of "$out")" ]] || { log "$label: no tps line in pgbench output:"; cat "$out" >&2; exit 1; }
}

# --- litewire binary ---------------------------------------------------------
if [[ ! -x "$LITEWIRE_BIN" ]]; then
    log "$LITEWIRE_BIN missing: cargo build --release (waits for any cargo lock held by another build)"
    (cd "$ROOT" && cargo build --release)
fi

# --- PostgreSQL 15 -----------------------------------------------------------
# Stock settings (fsync on), only the socket dir and listen address changed.
PG_DIR="$(mktemp -d /tmp/bench-pg.XXXXXX)"
PG_PORT="$(free_port)"
PG_STARTED=1
pg_start "$PG_BIN" "$PG_DIR" "$PG_PORT" || exit 2
log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

log "postgres: pgbench -i -s $SCALE"
"$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s "$SCALE" -q postgres >"$PG_DIR/init.out" 2>&1 \
    || { cat "$PG_DIR/init.out" >&2; exit 1; }
run_select_only postgres "$PG_PORT" "$PG_DIR/select.out"
PG_TPS="$(tps_of "$PG_DIR/select.out")"
# Stop it so litewire's run does not share the 2 cores with an idle-but-present server's background work.
pg_stop "$PG_BIN" "$PG_DIR" && PG_STARTED=""

# --- litewire ----------------------------------------------------------------
LW_DIR="$(mktemp -d /tmp/bench-lw.XXXXXX)"

start_litewire() { # start_litewire NAME PORT -> sets LW_PID
    lw_start "$LITEWIRE_BIN" "$LW_DIR/$1" "$2" "$LW_DIR/$1.log" || exit 2
    LW_PID=$LW_STARTED_PID
    LW_PIDS+=("$LW_PID")
}

LW_PORT="$(free_port)"
start_litewire data "$LW_PORT"
log "litewire ($LITEWIRE_BIN) on 127.0.0.1:$LW_PORT"
log "litewire: pgbench -i -s $SCALE"
"$PGBENCH" -h 127.0.0.1 -p "$LW_PORT" -U postgres -i -s "$SCALE" -q postgres >"$LW_DIR/init.out" 2>&1 \
    || { cat "$LW_DIR/init.out" >&2; exit 1; }

run_select_only litewire "$LW_PORT" "$LW_DIR/select.out"
LW_TPS="$(tps_of "$LW_DIR/select.out")"
if grep -qiE 'error' "$LW_DIR/select.out"; then
    log "note: litewire's pgbench output mentions errors:"; grep -iE 'error' "$LW_DIR/select.out" | head -n 5 >&2
fi

# --- report -------------------------------------------------------------------
RATIO="$(awk -v a="$LW_TPS" -v b="$PG_TPS" 'BEGIN { printf "%.2f", a / b }')"
MET="$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r >= t) ? "met" : "NOT met" }')"
echo
echo "pgbench -S -c $CLIENTS -j $JOBS -T $SECONDS_RUN -n (select-only, scale $SCALE)"
printf '%-12s %14s\n' "server" "tps"
printf '%-12s %14.1f\n' "postgres" "$PG_TPS"
printf '%-12s %14.1f\n' "litewire" "$LW_TPS"
for side in postgres:"$PG_DIR/select.out" litewire:"$LW_DIR/select.out"; do
    # transactions processed, failed, latency, as pgbench reported them
    grep -E '^(number of transactions actually processed|number of failed transactions|latency average)' "${side#*:}" \
        | sed "s/^/  ${side%%:*}: /"
done
echo "ratio litewire/postgres: ${RATIO}x (target >= ${TARGET_RATIO}x): $MET"
