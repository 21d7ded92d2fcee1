# bench_lib.sh — what the benchmarks share: the private stack (never a server
# the environment points at), a run directory of their own, and one cleanup
# that stops everything they started, however they end.
#
#   . "$LI_SRCDIR/scripts/bench_lib.sh"
#   bench_stop_extras() { …; }     # optional: stop the benchmark's own processes
#   bench_begin NAME "$KEEP"       # BENCH_DIR=/tmp/lastitem-NAME.XXXXXX, stack_init
#
# On exit the directory is removed, unless the run failed or KEEP was set.

# Always the private cluster: never a server the environment points at.
unset DATABASE_URL PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGSERVICE PGOPTIONS
# Thousands of streams come from a few loopback addresses: no per-address
# limit on /api/events (nginx/lastitem.conf.in).
export EVENTS_PER_ADDRESS=0

. "$LI_SRCDIR/scripts/stack.sh"

BENCH_NAME=bench
BENCH_KEEP_DIR=
BENCH_DIR=

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if declare -F bench_stop_extras >/dev/null; then
        bench_stop_extras
    fi
    stack_down
    if [ "$rc" = 0 ] && [ -z "$BENCH_KEEP_DIR" ]; then
        rm -rf "$BENCH_DIR"
    else
        echo "$BENCH_NAME: logs kept in $BENCH_DIR" >&2
    fi
    exit "$rc"
}

# bench_begin NAME KEEP: a short path, since the cluster's socket lives in it.
bench_begin() {
    BENCH_NAME=$1
    BENCH_KEEP_DIR=$2
    BENCH_DIR=$(mktemp -d "/tmp/lastitem-$1.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    stack_init "$BENCH_DIR"
}

# median: the median of the numbers on standard input, one a line (of an
# even count, the mean of the middle two, whole).
median() {
    sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# bench_stop_pid PID: stop and reap one of the benchmark's own processes.
bench_stop_pid() {
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
