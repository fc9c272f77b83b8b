# Shell helpers shared by compat/run.sh and the bench/ scripts (source it).
# Starting a throwaway PostgreSQL or litewire, finding ports, stopping servers.

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

# pg_start PG_BIN DIR PORT [extra server settings...]: initdb in DIR/data (owned
# by the postgres user) and start on 127.0.0.1:PORT, socket in DIR, TimeZone UTC.
pg_start() {
    local bin=$1 dir=$2 port=$3
    shift 3
    chmod 755 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 2; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c TimeZone=UTC -c lc_messages=C $*" \
        start >/dev/null || { cat "$dir/postgres.log" >&2; return 2; }
}

pg_stop() { # pg_stop PG_BIN DIR
    as_pg "$1/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null 2>&1
}

stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 10 s
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "process $pid ignored SIGTERM; killing" >&2; kill -KILL "$pid"; }
    wait "$pid" 2>/dev/null || true
}

# lw_start BIN DATA_DIR PG_PORT LOG [serve flags...]: start litewire in the
# background with its HTTP door on a free port; sets LW_STARTED_PID and
# LW_HTTP_PORT, and fails if the wire does not come up within 30 s.
lw_start() {
    local bin=$1 data=$2 port=$3 logfile=$4
    shift 4
    LW_HTTP_PORT="$(free_port)"
    "$bin" serve --data-dir "$data" --pg-listen "127.0.0.1:$port" \
        --http-listen "127.0.0.1:$LW_HTTP_PORT" "$@" >"$logfile" 2>&1 &
    LW_STARTED_PID=$!
    wait_port "$port" 30 "$LW_STARTED_PID" || { echo "litewire did not start listening on $port" >&2; return 2; }
}

# raise_fd_limit N: raise the open-files limit to N (or the hard limit).
raise_fd_limit() {
    local want=$1 hard
    (( $(ulimit -n) >= want )) && return 0
    hard="$(ulimit -Hn)"
    if [[ "$hard" == unlimited ]] || (( hard >= want )); then ulimit -n "$want"; else ulimit -n "$hard"; fi
}

# trap_litewire_cleanup: on exit, stop the litewire in $LW_PID, show the end of
# $LW_DIR/litewire.log on failure, and remove $LW_DIR.
trap_litewire_cleanup() {
    LW_DIR="" LW_PID=""
    _lw_cleanup() {
        local rc=$?
        set +e
        [[ -n "$LW_PID" ]] && stop_pid "$LW_PID"
        [[ $rc -ne 0 && -s "$LW_DIR/litewire.log" ]] && tail -n 20 "$LW_DIR/litewire.log" >&2
        [[ -n "$LW_DIR" ]] && rm -rf "$LW_DIR"
        exit $rc
    }
    trap _lw_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
