#!/usr/bin/env bash
# Side-by-side `pgbench -S` (select-only) against a real PostgreSQL 15 and
# against litewire, both freshly started in temp dirs on spare ports.
#
#   bash bench/pgbench.sh
#
# Prints both TPS figures and the ratio litewire / PostgreSQL (target >= 1.0).
# Also reports, for information, whether `pgbench -i -s 1` works against
# litewire and the first statement it fails on.
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

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
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

as_pg() { # initdb/pg_ctl refuse to run as root
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PG_DIR="" LW_DIR="" PG_STARTED="" LW_PIDS=()

stop_litewire() { # stop_litewire PID
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "litewire $pid ignored SIGTERM; killing"; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    for pid in "${LW_PIDS[@]}"; do stop_litewire "$pid"; done
    if [[ -n "$PG_STARTED" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
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
chmod 755 "$PG_DIR"
[[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
PG_PORT="$(free_port)"
as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; exit 2; }
PG_STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c TimeZone=UTC -c lc_messages=C" \
    start >/dev/null || { cat "$PG_DIR/postgres.log" >&2; exit 2; }
log "postgres $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

log "postgres: pgbench -i -s $SCALE"
"$PGBENCH" -h 127.0.0.1 -p "$PG_PORT" -U postgres -i -s "$SCALE" -q postgres >"$PG_DIR/init.out" 2>&1 \
    || { cat "$PG_DIR/init.out" >&2; exit 1; }
run_select_only postgres "$PG_PORT" "$PG_DIR/select.out"
PG_TPS="$(tps_of "$PG_DIR/select.out")"
# Stop it so litewire's run does not share the 2 cores with an idle-but-present server's background work.
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 && PG_STARTED=""

# --- litewire ----------------------------------------------------------------
LW_DIR="$(mktemp -d /tmp/bench-lw.XXXXXX)"

start_litewire() { # start_litewire NAME PORT -> sets LW_PID
    "$LITEWIRE_BIN" serve --data-dir "$LW_DIR/$1" --pg-listen "127.0.0.1:$2" >"$LW_DIR/$1.log" 2>&1 &
    LW_PID=$!
    LW_PIDS+=("$LW_PID")
    wait_port "$2" 30 "$LW_PID" || { log "litewire did not start listening on $2"; exit 2; }
}

# (informational) does `pgbench -i` work against litewire? Own instance, own data dir.
PROBE_PORT="$(free_port)"
start_litewire probe "$PROBE_PORT"
if "$PGBENCH" -h 127.0.0.1 -p "$PROBE_PORT" -U postgres -i -s "$SCALE" -q postgres >"$LW_DIR/init-probe.out" 2>&1; then
    INIT_RESULT="works"
    INIT_ERROR=""
else
    INIT_RESULT="fails"
    # pgbench prints "error: query failed: ERROR: ..." then "detail: Query was: ..."
    INIT_ERROR="$(grep -m1 -iE 'error' "$LW_DIR/init-probe.out" || true)"
    INIT_QUERY="$(grep -m1 -iE 'query was' "$LW_DIR/init-probe.out" || true)"
    [[ -n "$INIT_QUERY" ]] && INIT_ERROR="$INIT_ERROR | $INIT_QUERY"
fi
stop_litewire "$LW_PID"

LW_PORT="$(free_port)"
start_litewire data "$LW_PORT"
log "litewire ($LITEWIRE_BIN) on 127.0.0.1:$LW_PORT"
lw_psql() { "$PSQL" -h 127.0.0.1 -p "$LW_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 postgres "$@"; }

log "litewire: creating the pgbench tables (scale $SCALE) with plain SQL"
lw_psql >"$LW_DIR/setup.out" 2>&1 <<'SQL' || { cat "$LW_DIR/setup.out" >&2; exit 1; }
CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));
CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0);
INSERT INTO pgbench_tellers (tid, bid, tbalance) VALUES
  (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 1, 0), (5, 1, 0),
  (6, 1, 0), (7, 1, 0), (8, 1, 0), (9, 1, 0), (10, 1, 0);
SQL

ACCOUNTS=$((100000 * SCALE))
ACCOUNTS_SQL="INSERT INTO pgbench_accounts (aid, bid, abalance, filler) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < $ACCOUNTS) SELECT n, 1, 0, '' FROM s"
if lw_psql -c "$ACCOUNTS_SQL" >"$LW_DIR/accounts.out" 2>&1; then
    ACCOUNTS_HOW="one INSERT ... WITH RECURSIVE ... SELECT"
else
    log "litewire refused INSERT ... WITH RECURSIVE: $(head -n1 "$LW_DIR/accounts.out")"
    log "falling back to multi-row INSERTs (1000 rows per statement)"
    ACCOUNTS_HOW="multi-row INSERTs, 1000 rows each (WITH RECURSIVE refused: $(head -n1 "$LW_DIR/accounts.out"))"
    python3 - "$ACCOUNTS" <<'PY' | lw_psql >"$LW_DIR/accounts.out" 2>&1 || { cat "$LW_DIR/accounts.out" >&2; exit 1; }
import sys
n = int(sys.argv[1])
print("BEGIN;")
for start in range(1, n + 1, 1000):
    rows = ",".join(f"({a},1,0,'')" for a in range(start, min(start + 1000, n + 1)))
    print(f"INSERT INTO pgbench_accounts (aid, bid, abalance, filler) VALUES {rows};")
print("COMMIT;")
PY
fi
LOADED="$(lw_psql -At -c 'SELECT count(*) FROM pgbench_accounts')"
[[ "$LOADED" == "$ACCOUNTS" ]] || { log "expected $ACCOUNTS accounts on litewire, found $LOADED"; exit 1; }
log "litewire: $LOADED accounts loaded via $ACCOUNTS_HOW"

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
echo "pgbench -i -s $SCALE against litewire: $INIT_RESULT${INIT_ERROR:+ -- first failure: $INIT_ERROR}"
