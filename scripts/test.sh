#!/usr/bin/env bash
# The project's test command: build, Rust tests, then the real-client
# compatibility suite (compat/run.sh: psycopg2, psycopg 3, asyncpg and psql
# against a real PostgreSQL 15 and against litewire).
#
#   bash scripts/test.sh
#
# A failing `cargo build` stops here; otherwise both test stages run and the
# exit code is non-zero if either failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -a SUMMARY=()
FAILED=0

stage() { # stage NAME COMMAND...
    local name=$1; shift
    local start=$SECONDS rc=0
    printf '\n==> %s: %s\n' "$name" "$*"
    "$@" || rc=$?
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        SUMMARY+=("$(printf '  %-14s ok      (%ds)' "$name" "$took")")
    else
        SUMMARY+=("$(printf '  %-14s FAILED  (exit %d, %ds)' "$name" "$rc" "$took")")
        FAILED=1
    fi
    return $rc
}

summary() {
    printf '\n==> summary\n'
    printf '%s\n' "${SUMMARY[@]}"
    if ((FAILED)); then printf '  result: FAILED\n'; else printf '  result: ok\n'; fi
}
trap summary EXIT

stage build cargo build --release || exit 1
stage cargo-test cargo test --release || true
stage compat bash compat/run.sh || true
exit $FAILED
