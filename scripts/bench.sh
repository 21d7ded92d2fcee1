#!/bin/bash
# bench.sh — `make bench`: what a purchase costs end to end, beside what the
# same SQL costs alone, in one run against one private cluster.
#
#   A   nginx's own static answer (/bench/static), wrk at 256 connections:
#       the ceiling of this machine's HTTP path with this load generator.
#   E2E for each safe strategy, POST /api/items/ITEM/purchase through nginx
#       and the pool, wrk at 32, 256 and 1,024 connections, on one hot item
#       with stock enough for the whole run; every answer must be a 201.
#   SQL pgbench running the pool's statement directly (prepared, as the
#       pool's role, over the socket) at 1, 2, 4, 8, 16 and 32 connections,
#       for each single-purchase strategy.
#       Target: E2E at 256 connections >= 0.8 of pgbench's best; for
#       batched, >= 3 x the best single-purchase pgbench rate of the run.
#   C   the FastCGI ceiling: test/bench/fcgi_ceiling (libfcgi answering a
#       fixed 409, no database) on the pool's socket, as many workers,
#       behind the same nginx, wrk at 256 connections.
#   409 the same purchases on a sold-out item: every answer a 409 (the pool
#       follows the event stream, --events, so it need not ask the
#       database). Target: >= 0.8 of C.
#   1000 buyers at once on an item with one left, for each strategy: exactly
#       one 201. Target (batched): <= 1.3 x as many static GETs fired alike.
#   HOLD a checkout in two steps on the hot item (test/bench/hold_confirm.lua):
#       hold, then confirm it, wrk at 256 connections, pessimistic; holds/s
#       and confirms/s, beside the same run's pessimistic purchases at 256.
#
# Figures: with gnuplot, bench.svg (rate by connections for each strategy
# beside pgbench; sold out beside its ceiling), copied to BENCH_SVG if set.
#
# Every rate comes with its baseline, and every run with the CPU time each
# part of the stack used while it ran (100 is one busy core), so a number
# below its target says why.
#
# Workers: one hot row serializes every purchase of it, and every worker is
# one more backend queueing on its lock. pgbench peaks at one or two
# connections and falls beyond; so does the pool. The run uses one worker
# per core, then measures the pool's default (two per core) too, at 256
# connections and sold out, in rows of its own.
#
# Settings (environment):
#   BENCH_WORKERS      pool workers (default: one per core; see above)
#   BENCH_SECONDS      wrk duration per run (10)
#   PGBENCH_SECONDS    pgbench duration per run (4)
#   BENCH_CONNS        pgbench sweep ("1 2 4 8 16 32")
#   BENCH_STRATEGIES   ("pessimistic atomic optimistic batched")
#   BENCH_SVG          where to copy the figure (bench.svg), e.g. doc/bench.svg
#   BENCH_STRICT=1     exit 1 when a performance target is missed, too
#   BENCH_KEEP=1       keep the run directory (logs) even on success
#   BENCH_STAMPEDE=curl  fire the stampede with curl even when test/stampede
#                      exists
#   BENCH_SQL=FILE     load FILE as the superuser after the schema: try a
#                      change to sql/ before making it (the report says so)
#   BENCH_RETRIES      noisy measurements that may be run again (6)
#   BENCH_QUIET_MAX    seconds the run may wait in all for other processes
#                      on the machine to calm down before a phase (30)
# A failed correctness check (a non-201, a non-409, not exactly one winner)
# always exits 1.
#
# Needs: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN (from make), WRK.

set -euo pipefail

: "${LI_SRCDIR:?run through make bench}"
: "${LI_BUILDDIR:?run through make bench}"
: "${PG_BINDIR:?run through make bench}"
: "${NGINX_BIN:?run through make bench}"
: "${WRK:=wrk}"
: "${CURL:=curl}"
: "${BENCH_SECONDS:=10}"
: "${PGBENCH_SECONDS:=4}"
: "${BENCH_CONNS:=1 2 4 8 16 32}"
: "${BENCH_STRATEGIES:=pessimistic atomic optimistic batched}"
: "${BENCH_SVG:=}"
: "${BENCH_WORKERS:=$(nproc)}"
: "${BENCH_STRICT:=}"
: "${BENCH_KEEP:=}"
: "${BENCH_STAMPEDE:=}"
: "${BENCH_SQL:=}"

. "$LI_SRCDIR/scripts/bench_lib.sh"

HOT_ITEM=launch-hoodie
HOT_STOCK=100000000         # far more than any run can sell
STAMPEDE_BUYERS=1000
STAMPEDE_PER_CURL=250
WRK_THREADS=2
PGBENCH=$PG_BINDIR/pgbench
LUA=$LI_SRCDIR/test/bench/purchase.lua

bench_die() {
    echo "bench: $*" >&2
    exit 1
}

command -v "$WRK" >/dev/null 2>&1 ||
    bench_die "no wrk ($WRK): install the Debian package wrk, or set WRK"
[ -x "$PGBENCH" ] || bench_die "no $PGBENCH: install postgresql (it ships pgbench)"
command -v "$CURL" >/dev/null 2>&1 || bench_die "no curl"
[ -f "$LUA" ] || bench_die "no $LUA"
[ "$BENCH_SECONDS" -ge 4 ] || bench_die "BENCH_SECONDS must be at least 4"
[ "$PGBENCH_SECONDS" -ge 3 ] || bench_die "PGBENCH_SECONDS must be at least 3"

NPROC=$(nproc)
HZ=$(getconf CLK_TCK)
GEN_PID=
STRAY_PIDS=()   # the stampede's curls, should the run be interrupted
FAILED=
BELOW=

# ------------------------------------------------------------- the stack

bench_stop_extras() {
    local p
    bench_stop_pid "$GEN_PID"
    for p in "${STRAY_PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
}
bench_begin bench "$BENCH_KEEP"
OUT=$BENCH_DIR/out
mkdir -p "$OUT"


echo "bench: starting PostgreSQL, the pool and nginx in $BENCH_DIR" >&2
pg_up
if [ -n "$BENCH_SQL" ]; then
    stack_psql -f "$BENCH_SQL" >/dev/null || bench_die "loading $BENCH_SQL failed"
fi
# The pool follows the event daemon's stream (--events): sold-out answers
# without the database, as make run has them.
POOL_ARGS=(--events "$STACK_EVENTS_SOCK")
pool_start --workers "$BENCH_WORKERS" "${POOL_ARGS[@]}"
events_start
PORT=$(stack_free_port) || bench_die "no free port found"
nginx_start "$PORT"
URL=$STACK_URL
# nginx_start is satisfied by any HTTP answer: make sure it is ours.
[ "$("$CURL" -s "$URL/bench/static")" = ok ] ||
    bench_die "$URL/bench/static does not answer ok: is another server on port $PORT?"
sleep 0.3
kill -0 "$NGINX_PID" 2>/dev/null || bench_die "nginx exited (port $PORT taken?)"

WORKERS=$BENCH_WORKERS
# The strategies that decide one buyer per call: pgbench measures their SQL
# alone. batched has no single-purchase SQL to compare with: it is judged
# against the best of these.
SINGLE_STRATEGIES=
for s in $BENCH_STRATEGIES; do
    [ "$s" = batched ] || SINGLE_STRATEGIES="$SINGLE_STRATEGIES $s"
done
# The pool's own default (fcgi/api/config.c): two per core, from 2 to 16. The
# log of the default pool, when it runs, says what it really was.
DEFAULT_WORKERS=$(( NPROC * 2 < 2 ? 2 : NPROC * 2 > 16 ? 16 : NPROC * 2 ))

# ------------------------------------------------------------- helpers

# api_reset QUANTITY: every item to QUANTITY, every order gone.
api_reset() {
    local code
    code=$("$CURL" -s -o "$OUT/reset.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -d "{\"quantity\":$1}" "$URL/api/reset")
    [ "$code" = 200 ] || { cat "$OUT/reset.json" >&2; bench_die "reset to $1 answered $code"; }
}

# Quiet the database between phases: the dead rows of the last reset gone,
# dirty pages written, so no phase pays for the one before it.
pg_settle() {
    stack_sql "VACUUM lastitem.orders" >/dev/null
    stack_sql "VACUUM lastitem.items" >/dev/null
    stack_sql "CHECKPOINT" >/dev/null
}

item_stock() {
    stack_sql "SELECT quantity FROM lastitem.items WHERE id = '$1'"
}

wal_syncs() {
    stack_sql "SELECT wal_sync FROM pg_stat_wal"
}

nginx_errors() {
    local f=$STACK_DIR/nginx/error.log
    [ -f "$f" ] && wc -l <"$f" || echo 0
}

# cpu_snapshot: one line of clock ticks used so far by
#   postgres nginx pool generator busy idle interrupts
# where each of the first four is a process with all its descendants, and
# the last three are the machine's, from /proc/stat.
cpu_snapshot() {
    local pm
    pm=$(head -1 "$STACK_DIR/pg/data/postmaster.pid" 2>/dev/null || echo 0)
    { head -1 /proc/stat; cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v pm="$pm" -v ngx="${NGINX_PID:-0}" -v pool="${POOL_PID:-0}" \
        -v gen="${GEN_PID:-0}" '
        NR == 1 { busy = $2 + $3 + $4 + $9; idle = $5 + $6; irq = $7 + $8; next }
        {
            # The name may hold spaces or parentheses: cut at the last ") ".
            p = 0; s = $0
            while ((j = index(substr(s, p + 1), ") ")) > 0) p += j
            pid = $1; n = split(substr(s, p + 2), f, " ")
            parent[pid] = f[2]; ticks[pid] = f[12] + f[13]
        }
        END {
            if (pm > 0) g[pm] = 1
            if (ngx > 0) g[ngx] = 2
            if (pool > 0) g[pool] = 3
            if (gen > 0) g[gen] = 4
            for (pid in ticks) {
                q = pid
                for (d = 0; d < 12 && q > 1; d++) {
                    if (q in g) { t[g[q]] += ticks[pid]; break }
                    q = parent[q]
                }
            }
            printf "%d %d %d %d %d %d %d\n", t[1], t[2], t[3], t[4], busy, idle, irq
        }'
}

# cpu_split BEFORE AFTER SECONDS: "pg 120 nginx 30 …" in percent of one
# core. irq is interrupt and softirq time (loopback TCP, the disk), which no
# process is charged for; other is every process outside the stack, the
# kernel's own threads included.
cpu_split() {
    echo "$1 $2 $3" | awk -v hz="$HZ" '{
        s = $15 * hz
        pg = ($8 - $1) / s * 100; ngx = ($9 - $2) / s * 100
        pool = ($10 - $3) / s * 100; gen = ($11 - $4) / s * 100
        busy = ($12 - $5) / s * 100; idle = ($13 - $6) / s * 100
        irq = ($14 - $7) / s * 100
        other = busy - pg - ngx - pool - gen; if (other < 0) other = 0
        printf "pg %d nginx %d pool %d gen %d irq %d other %d idle %d",
            pg, ngx, pool, gen, irq, other, idle
    }'
}

# The share of a core that processes outside the stack use, over half a
# second.
other_load() {
    local a b
    a=$(cpu_snapshot)
    sleep 0.5
    b=$(cpu_snapshot)
    cpu_split "$a" "$b" 0.5 | awk '{ print $12 }'
}

# wait_quiet: tests and builds may share this machine; wait (within the
# run's budget of BENCH_QUIET_MAX seconds) until they use under
# $NOISY% of a core, so that a phase measures the stack and not its
# neighbours.
: "${BENCH_QUIET_MAX:=30}"
: "${BENCH_RETRIES:=6}"
NOISY=${BENCH_NOISY:-25}   # % of a core used by others that makes a measurement noisy
QUIET_WAITED=0      # half seconds
RETRIED=0
wait_quiet() {
    local o
    while :; do
        o=$(other_load)
        [ "$o" -lt "$NOISY" ] && return 0
        if [ "$QUIET_WAITED" -ge $((BENCH_QUIET_MAX * 2)) ]; then
            return 0
        fi
        [ "$QUIET_WAITED" = 0 ] && echo "bench: other processes use ${o}% of a core; waiting for quiet" >&2
        QUIET_WAITED=$((QUIET_WAITED + 1))
    done
}

# The share of a core that other processes used during a measurement, from
# its .cpu file.
other_of() {
    awk '{ print $12 }' "$1"
}

# measure_quiet KIND NAME ARGS…: runs "KIND_once NAME ARGS…", which leaves
# its results in $OUT/NAME*; when other processes used $NOISY% of a core or
# more meanwhile, runs it once more (up to BENCH_RETRIES in the whole run,
# never with NO_RETRY set) and keeps the quieter of the two.
measure_quiet() {
    local kind=$1 name=$2 f
    shift 2
    wait_quiet
    "${kind}_once" "$name" "$@"
    [ "$(other_of "$OUT/$name.raw.cpu")" -ge "$NOISY" ] || return 0
    [ -z "${NO_RETRY:-}" ] || return 0
    [ "$RETRIED" -lt "$BENCH_RETRIES" ] || return 0
    RETRIED=$((RETRIED + 1))
    echo "bench: $name ran beside $(other_of "$OUT/$name.raw.cpu")% of a core of other work; once more" >&2
    mkdir -p "$OUT/prev"
    for f in "$OUT/$name" "$OUT/$name".*; do
        [ -e "$f" ] && mv "$f" "$OUT/prev/"
    done
    wait_quiet
    "${kind}_once" "$name" "$@"
    if [ "$(other_of "$OUT/prev/$name.raw.cpu")" -lt "$(other_of "$OUT/$name.raw.cpu")" ]; then
        mkdir -p "$OUT/next"
        for f in "$OUT/$name" "$OUT/$name".*; do
            [ -e "$f" ] && mv "$f" "$OUT/next/"
        done
        for f in "$OUT/prev/$name" "$OUT/prev/$name".*; do
            [ -e "$f" ] && mv "$f" "$OUT/"
        done
        rm -rf "$OUT/prev"
        mv "$OUT/next" "$OUT/prev"
    fi
    # The attempt put aside must have been correct too.
    if [ "$(wrong_answers "$OUT/prev/$name")" != 0 ]; then
        echo "bench: $name, the attempt put aside: $(wrong_answers "$OUT/prev/$name") wrong answers" >&2
        FAILED=1
    fi
    rm -rf "$OUT/prev"
}

# wrong_answers FILE: unexpected answers + socket errors of a wrk result, or
# transactions that did not buy of a pgbench one.
wrong_answers() {
    local line
    line=$(cat "$1")
    case $line in
        BENCH\ *) echo $(( $(field unexpected "$line") + $(field errors "$line") )) ;;
        *) echo "$line" | awk '{ print $5 }' ;;
    esac
}

# pool_idle: wrk stops without waiting for the requests it had in flight;
# up to one per connection still sits in the pool's listen queue or in a
# worker. Wait until the queue is empty and no worker runs a statement, so
# the next phase starts on an idle stack and pays for nothing before it.
pool_idle() {
    local i q a calm=0
    for i in $(seq 1 300); do
        q=$(ss -xlnH 2>/dev/null | awk -v p="$STACK_API_SOCK" '$5 == p { print $3 }')
        a=$(stack_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lastitem-api' AND state = 'active'")
        if [ "${q:-0}" = 0 ] && [ "$a" = 0 ]; then
            calm=$((calm + 1))
            [ "$calm" -ge 3 ] && return 0
        else
            calm=0
        fi
        sleep 0.1
    done
    echo "bench: the pool is still busy 30 s after the load stopped" >&2
}

# Runs "$@" (a load generator that lasts SECONDS) in the background and
# measures the CPU split over its middle, leaving a second either side.
# Its output goes to FILE; the split to FILE.cpu.
run_measured() {
    local seconds=$1 file=$2 a b
    shift 2
    "$@" >"$file" 2>&1 &
    GEN_PID=$!
    sleep 1
    a=$(cpu_snapshot)
    sleep $((seconds - 2))
    b=$(cpu_snapshot)
    local rc=0
    wait "$GEN_PID" || rc=$?
    GEN_PID=
    cpu_split "$a" "$b" $((seconds - 2)) >"$file.cpu"
    return "$rc"
}

# field NAME LINE: the value of NAME=value in a BENCH line.
field() {
    local kv
    for kv in $2; do
        [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return 0; }
    done
    echo ""
}

ms() {
    awk -v us="$1" 'BEGIN { if (us >= 100000) printf "%.0fms", us / 1000;
        else if (us >= 10000) printf "%.1fms", us / 1000;
        else printf "%.2fms", us / 1000 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# verdict VALUE TARGET: PASS or BELOW.
verdict() {
    awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "PASS" : "BELOW" }'
}

# wrk_run NAME CONNS SECONDS [env…]: runs wrk with purchase.lua; the BENCH
# line lands in $OUT/NAME, its CPU split in $OUT/NAME.raw.cpu.
wrk_run() {
    measure_quiet wrk "$@"
}

wrk_once() {
    local name=$1 conns=$2 seconds=$3 before after
    shift 3
    before=$(nginx_errors)
    # wrk gives up on an answer after 2 s by default and counts it an
    # error; at 1,024 connections on one hot row the queue alone is longer.
    # nginx waits 30 s for the pool: so does wrk, and waiting is latency.
    run_measured "$seconds" "$OUT/$name.raw" \
        env "$@" "$WRK" -t "$WRK_THREADS" -c "$conns" -d "${seconds}s" \
        --timeout 30s --latency -s "${WRK_SCRIPT:-$LUA}" "$URL" ||
        { cat "$OUT/$name.raw" >&2; bench_die "wrk failed ($name)"; }
    pool_idle
    after=$(nginx_errors)
    grep '^BENCH ' "$OUT/$name.raw" >"$OUT/$name" ||
        { cat "$OUT/$name.raw" >&2; bench_die "wrk printed no result ($name)"; }
    echo "$((after - before))" >"$OUT/$name.nginxerr"
}

# ------------------------------------------------------------- the table

ROWS=$OUT/rows
: >"$ROWS"
row() {
    # run conns rate p50 p99 bad errors cpu-note ratio-note target result
    printf '%s\t' "$@" >>"$ROWS"
    printf '\n' >>"$ROWS"
}

# Rate, latency and counts of one wrk result as table cells.
wrk_cells() {
    local line
    line=$(cat "$OUT/$1")
    printf '%s\t%s\t%s\t%s\t%s' \
        "$(printf '%.0f' "$(field rps "$line")")" \
        "$(ms "$(field p50_us "$line")")" "$(ms "$(field p99_us "$line")")" \
        "$(field unexpected "$line")" \
        "$(( $(field errors "$line") + $(cat "$OUT/$1.nginxerr") ))"
}

# cpu_cell SPLIT: the split, marked when other work used $NOISY% of a core.
cpu_cell() {
    echo "$1" | awk -v noisy="$NOISY" '{ print $0 ($12 >= noisy ? " !" : "") }'
}

check_clean() {    # NAME WHAT: fails the run when any answer was not WHAT
    local line
    line=$(cat "$OUT/$1")
    if [ "$(field unexpected "$line")" != 0 ] || [ "$(field errors "$line")" != 0 ]; then
        echo "bench: $1: answers other than $2: $(field statuses "$line"), socket errors $(field errors "$line")" >&2
        FAILED=1
    fi
}

# ------------------------------------------------------------- 0. machine

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PG_VERSION=$(stack_sql "SHOW server_version")
PG_DURABLE=$(stack_sql "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes')")

# What one WAL flush costs on this disk: 8 kB writes with O_DSYNC, in the
# cluster's own directory (what pg_test_fsync calls open_datasync).
fsync_cost() {
    local f=$BENCH_DIR/fsync.test n=500 t0 t1
    t0=$(date +%s%N)
    dd if=/dev/zero of="$f" bs=8k count=$n oflag=dsync status=none 2>/dev/null || { echo "n/a"; return; }
    t1=$(date +%s%N)
    rm -f "$f"
    awk -v ns=$((t1 - t0)) -v n=$n 'BEGIN { printf "%.0f us (%.0f/s)", ns / n / 1000, n / (ns / 1e9) }'
}
FSYNC=$(fsync_cost)

# ------------------------------------------------------------- 1. baseline A

echo "bench: A — nginx static, 256 connections" >&2
"$WRK" -t "$WRK_THREADS" -c 256 -d 2s "$URL/bench/static" >/dev/null 2>&1 || true
wrk_run static "256" "$BENCH_SECONDS" BENCH_PATH=/bench/static BENCH_EXPECT=200
check_clean static 200
A_RATE=$(field rps "$(cat "$OUT/static")")
row "A  nginx static /bench/static" 256 "$(wrk_cells static)" \
    "$(cpu_cell "$(cat "$OUT/static.raw.cpu")")" "baseline" "" ""

# ------------------------------------------------------------- 2, 3. purchases

pgbench_sweep() {    # STRATEGY: one line per connection count in $OUT/pgb-S
    local s=$1 script=$BENCH_DIR/pgbench-$1.sql c j before after tps lat
    echo "SELECT * FROM lastitem.purchase_$s('$HOT_ITEM', 1, 'bench', NULL);" >"$script"
    : >"$OUT/pgb-$s"
    for c in $BENCH_CONNS; do
        measure_quiet pgb "pgb-$s-$c" "$script" "$c"
        cat "$OUT/pgb-$s-$c" >>"$OUT/pgb-$s"
        [ "$(awk '{ print $5 }' "$OUT/pgb-$s-$c")" = 0 ] ||
            { echo "bench: pgbench $s -c $c: transactions that did not buy: $(awk '{ print $5 }' "$OUT/pgb-$s-$c")" >&2; FAILED=1; }
    done
}

# pgb_once NAME SCRIPT CONNS: one pgbench run; $OUT/NAME gets the line
# "CONNS TPS P50_US P99_US BAD CPU_SPLIT".
pgb_once() {
    local name=$1 script=$2 c=$3 j before after tps lat n failed bad
    j=$(( c < 2 ? c : 2 ))
    rm -rf "$BENCH_DIR/pgblog" && mkdir -p "$BENCH_DIR/pgblog"
    before=$(item_stock "$HOT_ITEM")
    run_measured "$PGBENCH_SECONDS" "$OUT/$name.raw" \
        "$PGBENCH" -n -M prepared -f "$script" -c "$c" -j "$j" \
        -T "$PGBENCH_SECONDS" -l --log-prefix="$BENCH_DIR/pgblog/log" \
        "$(stack_app_conninfo)" ||
        { cat "$OUT/$name.raw" >&2; bench_die "pgbench failed ($name)"; }
    after=$(item_stock "$HOT_ITEM")
    tps=$(awk '/^tps = / { print $3; exit }' "$OUT/$name.raw")
    n=$(awk '/^number of transactions actually processed:/ { print $6; exit }' "$OUT/$name.raw")
    failed=$(awk '/^number of failed transactions:/ { print $5; exit }' "$OUT/$name.raw")
    # Every transaction must have bought one: stock fell by exactly n.
    bad=$(( n - (before - after) + ${failed:-0} ))
    lat=$(cat "$BENCH_DIR"/pgblog/log* | awk '{ print $3 }' | sort -n |
        awk '{ v[NR] = $1 } END { i50 = int(NR * 0.50); i99 = int(NR * 0.99);
            if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1; print v[i50], v[i99] }')
    echo "$c $tps $lat $bad $(tr ' ' '_' <"$OUT/$name.raw.cpu")" >"$OUT/$name"
}

for s in $BENCH_STRATEGIES; do
    echo "bench: $s — reset, warm-up, wrk at 32 and 256, pgbench over $BENCH_CONNS" >&2
    api_reset "$HOT_STOCK"
    pg_settle
    BENCH_ITEM=$HOT_ITEM BENCH_STRATEGY=$s \
        "$WRK" -t "$WRK_THREADS" -c 256 -d 2s -s "$LUA" "$URL" >/dev/null 2>&1 || true
    pool_idle
    for c in 32 256 1024; do
        # Only the run at 256 is judged: only it is worth a second try.
        NO_RETRY=$([ "$c" = 256 ] || echo 1) wrk_run "e2e-$s-$c" "$c" "$BENCH_SECONDS" \
            BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY="$s" BENCH_EXPECT=201
        check_clean "e2e-$s-$c" 201
    done
    [ "$s" = batched ] || pgbench_sweep "$s"
done

# ------------------------------------------------------------- 3b. holds

# A drop's checkout: every hold confirmed right after it was made, on the
# hot item, so each confirmed hold is a purchase in two round trips and two
# row locks. Baseline: the pessimistic purchases of this run at 256.
HOLD_LUA=$LI_SRCDIR/test/bench/hold_confirm.lua
echo "bench: hold then confirm — 256 connections, pessimistic" >&2
api_reset "$HOT_STOCK"
pg_settle
BENCH_ITEM=$HOT_ITEM "$WRK" -t "$WRK_THREADS" -c 256 -d 2s -s "$HOLD_LUA" "$URL" \
    >/dev/null 2>&1 || true
pool_idle
WRK_SCRIPT=$HOLD_LUA wrk_run holdconfirm 256 "$BENCH_SECONDS" \
    BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY=pessimistic
check_clean holdconfirm 201
# What wrk left unconfirmed is still held; the database must agree.
HOLD_DB=$(stack_sql "SELECT CASE WHEN i.initial_quantity = i.quantity + i.held
                                  + (SELECT coalesce(sum(quantity), 0) FROM lastitem.orders WHERE item_id = i.id)
                                 AND i.held = (SELECT coalesce(sum(quantity), 0) FROM lastitem.holds
                                                WHERE item_id = i.id AND status = 'active')
                            THEN 'ok' ELSE 'BROKEN' END
                       FROM lastitem.items i WHERE i.id = '$HOT_ITEM'")
[ "$HOLD_DB" = ok ] || { echo "bench: hold then confirm: the invariant is $HOLD_DB" >&2; FAILED=1; }

# ------------------------------------------------------------- 4. sold out

echo "bench: sold out — 256 connections, every answer a 409" >&2
api_reset 0
pg_settle
wal0=$(wal_syncs)
wrk_run soldout 256 "$BENCH_SECONDS" \
    BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY=pessimistic BENCH_EXPECT=409
wal1=$(wal_syncs)
check_clean soldout 409
SOLD_RATE=$(field rps "$(cat "$OUT/soldout")")

# ------------------------------------------------------------- 4b. ceiling

# The pool's socket answered by a minimal libfcgi responder with as many
# workers: the same nginx, the same URL, a fixed 409 and nothing else.
echo "bench: C — the FastCGI ceiling, 256 connections" >&2
pool_stop
"$LI_BUILDDIR/test/bench/fcgi_ceiling" "$STACK_API_SOCK" "$WORKERS" \
    >"$BENCH_DIR/ceiling.log" 2>&1 &
CEILING_PID=$!
STRAY_PIDS=("$CEILING_PID")
for i in $(seq 1 100); do [ -S "$STACK_API_SOCK" ] && break; sleep 0.05; done
wrk_run ceiling 256 "$BENCH_SECONDS" \
    BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY=pessimistic BENCH_EXPECT=409
check_clean ceiling 409
kill "$CEILING_PID" 2>/dev/null || true
wait "$CEILING_PID" 2>/dev/null || true
STRAY_PIDS=()
CEILING_RATE=$(field rps "$(cat "$OUT/ceiling")")
pool_start --workers "$BENCH_WORKERS" "${POOL_ARGS[@]}"

# ------------------------------------------------------------- 5. stampede

# stampede_curl PATH METHOD BUYERS: BUYERS requests at once, in curl
# processes of $STAMPEDE_PER_CURL parallel transfers, each answer to a file
# of its own (as test/stampede does); prints "ELAPSED_MS" then "CODE:N …".
stampede_curl() {
    local path=$1 method=$2 n=$3 procs i k pids=() t0 t1 dir=$BENCH_DIR/stampede
    rm -rf "$dir" && mkdir -p "$dir"
    procs=$(( (n + STAMPEDE_PER_CURL - 1) / STAMPEDE_PER_CURL ))
    for ((k = 0; k < procs; k++)); do
        for ((i = k * STAMPEDE_PER_CURL; i < n && i < (k + 1) * STAMPEDE_PER_CURL; i++)); do
            # "next" between transfers, never after the last: curl would
            # take a trailing one for a transfer without a URL and fail.
            [ "$i" -gt $((k * STAMPEDE_PER_CURL)) ] && echo "next"
            echo "url = \"$URL$path\""
            echo "output = \"$dir/answer$i\""
            echo "max-time = 60"
            echo "write-out = \"%{http_code}\\n\""
            if [ "$method" = POST ]; then
                echo "header = \"Content-Type: application/json\""
                echo "data = \"{\\\"strategy\\\":\\\"$STAMPEDE_STRATEGY\\\",\\\"buyer\\\":\\\"buyer-$i\\\"}\""
            fi
        done >"$dir/batch$k"
    done
    t0=$(date +%s%N)
    for ((k = 0; k < procs; k++)); do
        "$CURL" -s --parallel --parallel-immediate --parallel-max "$STAMPEDE_PER_CURL" \
            -K "$dir/batch$k" >"$dir/codes$k" 2>/dev/null &
        pids+=($!)
    done
    STRAY_PIDS=("${pids[@]}")
    for i in "${pids[@]}"; do wait "$i" || true; done
    STRAY_PIDS=()
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000000 ))"
    cat "$dir"/codes* | sort | uniq -c | awk '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1 }'
    echo
}

STAMPEDE_TOOL=
for t in "$LI_BUILDDIR/test/stampede" "$LI_SRCDIR/test/stampede"; do
    [ "$BENCH_STAMPEDE" = curl ] && break
    if [ -x "$t" ] && [ -s "$t" ]; then
        STAMPEDE_TOOL=$t
        break
    fi
done

echo "bench: stampede — $STAMPEDE_BUYERS buyers on one item with one left" >&2
# The harness's own time: as many concurrent GETs of the static answer,
# fired the same way.
wait_quiet
STAMPEDE_STRATEGY=pessimistic
stampede_curl /bench/static GET "$STAMPEDE_BUYERS" >"$OUT/stampede-static"
STAMPEDE_BASE_MS=$(head -1 "$OUT/stampede-static")
[ "$(sed -n 2p "$OUT/stampede-static")" = "200:$STAMPEDE_BUYERS" ] || {
    echo "bench: $STAMPEDE_BUYERS static GETs answered $(sed -n 2p "$OUT/stampede-static")" >&2
    FAILED=1
}

for s in $BENCH_STRATEGIES; do
    STAMPEDE_STRATEGY=$s
    # Every item to one, which also becomes their initial stock: the tool's
    # --reset then resets to one as well.
    api_reset 1
    pg_settle
    wait_quiet
    ok=
    if [ -n "$STAMPEDE_TOOL" ]; then
        if "$STAMPEDE_TOOL" -n "$STAMPEDE_BUYERS" -i "$HOT_ITEM" -s "$s" \
            -u "$URL" --reset >"$OUT/stampede-$s.tool" 2>&1; then
            # "  elapsed    1.130 s" and "  201 created   1" …
            awk '/^ *elapsed/ { split($2, t, "."); print t[1] * 1000 + t[2]; exit }' \
                "$OUT/stampede-$s.tool" >"$OUT/stampede-$s"
            awk '/^ *[0-9][0-9][0-9] / { n[$1] += $NF }
                 END { for (c in n) printf "%s:%s\n", c, n[c] }' "$OUT/stampede-$s.tool" |
                sort | tr '\n' ' ' | sed 's/ $//' >>"$OUT/stampede-$s"
            echo >>"$OUT/stampede-$s"
            [ -n "$(head -1 "$OUT/stampede-$s")" ] && ok=1
        fi
        if [ -z "$ok" ]; then
            echo "bench: $STAMPEDE_TOOL failed or said something unexpected; firing curl instead:" >&2
            sed 's/^/  /' "$OUT/stampede-$s.tool" >&2
            STAMPEDE_TOOL=
            api_reset 1
        fi
    fi
    if [ -z "$ok" ]; then
        stampede_curl "/api/items/$HOT_ITEM/purchase" POST "$STAMPEDE_BUYERS" >"$OUT/stampede-$s"
    fi
    # The database has the last word: reset deleted every order, so there
    # must be exactly one now, whatever the answers said.
    stack_sql "SELECT count(*) FROM lastitem.orders" >"$OUT/stampede-$s.db"
    [ "$(cat "$OUT/stampede-$s.db")" = 1 ] ||
        { echo "bench: stampede $s: $(cat "$OUT/stampede-$s.db") orders, not 1" >&2; FAILED=1; }
done

# ------------------------------------------------------------- 5b. the default

# The same pool with its default worker count, when that is another: the
# hot item at 256 connections for each strategy, and sold out.
DEFAULT_RAN=
if [ "$DEFAULT_WORKERS" != "$WORKERS" ]; then
    echo "bench: the pool's default worker count — 256 connections, each strategy and sold out" >&2
    pool_stop
    pool_start "${POOL_ARGS[@]}"
    DEFAULT_RAN=1
    sleep 0.5
    n=$(sed -n 's/.*listening on .* with \([0-9]*\) workers.*/\1/p' "$STACK_DIR/api.log" | tail -1)
    [ -n "$n" ] && DEFAULT_WORKERS=$n
    for s in $BENCH_STRATEGIES; do
        api_reset "$HOT_STOCK"
        pg_settle
        BENCH_ITEM=$HOT_ITEM BENCH_STRATEGY=$s \
            "$WRK" -t "$WRK_THREADS" -c 256 -d 1s -s "$LUA" "$URL" >/dev/null 2>&1 || true
        pool_idle
        NO_RETRY=1 wrk_run "dflt-$s-256" 256 "$BENCH_SECONDS" \
            BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY="$s" BENCH_EXPECT=201
        check_clean "dflt-$s-256" 201
    done
    api_reset 0
    pg_settle
    NO_RETRY=1 wrk_run dflt-soldout 256 "$BENCH_SECONDS" \
        BENCH_ITEM="$HOT_ITEM" BENCH_STRATEGY=pessimistic BENCH_EXPECT=409
    check_clean dflt-soldout 409
fi

# ------------------------------------------------------------- 6. report

# pgbench_best STRATEGY: the line of the best rate. Other work on the
# machine only ever slows pgbench down, so the best is the best of all runs,
# noisy or not; a noisy best is marked, as pgbench may be faster still.
pgbench_best() {
    sort -k2,2 -g "$OUT/pgb-$1" | tail -1
}

# mark VERDICT SPLIT…: the verdict, with " !" when any of the measurements
# behind it was noisy.
mark() {
    local v=$1 x
    shift
    for x in "$@"; do
        if [ "$(echo "$x" | tr '_' ' ' | awk '{ print $12 }')" -ge "$NOISY" ]; then
            echo "$v !"
            return 0
        fi
    done
    echo "$v"
}

# The best single-purchase pgbench rate of the run, of any strategy: what
# batched is judged against.
SINGLE_BEST=$(for s in $SINGLE_STRATEGIES; do pgbench_best "$s"; done | sort -k2,2 -g | tail -1)
for s in $BENCH_STRATEGIES; do
    if [ "$s" = batched ]; then
        best=$SINGLE_BEST
        want=3.00
        against="x best single-purchase pgbench"
    else
        best=$(pgbench_best "$s")
        want=0.80
        against="x pgbench best"
    fi
    read -r bc btps bp50 bp99 bbad bcpu <<<"$best"
    e=$(field rps "$(cat "$OUT/e2e-$s-256")")
    row "$s e2e" 32 "$(wrk_cells "e2e-$s-32")" "$(cpu_cell "$(cat "$OUT/e2e-$s-32.raw.cpu")")" "" "" ""
    r=$(ratio "$e" "$btps")
    v=$(verdict "$r" "$want")
    [ "$v" = PASS ] || BELOW=1
    v=$(mark "$v" "$(cat "$OUT/e2e-$s-256.raw.cpu")" "$bcpu")
    row "$s e2e" 256 "$(wrk_cells "e2e-$s-256")" "$(cpu_cell "$(cat "$OUT/e2e-$s-256.raw.cpu")")" \
        "$r $against" ">= $want" "$v"
    row "$s e2e" 1024 "$(wrk_cells "e2e-$s-1024")" "$(cpu_cell "$(cat "$OUT/e2e-$s-1024.raw.cpu")")" \
        "$(ratio "$(field rps "$(cat "$OUT/e2e-$s-1024")")" "$btps") $against" "" ""
    [ "$s" = batched ] ||
        row "$s pgbench best" "c=$bc" "$(printf '%.0f' "$btps")" \
            "$(ms "$bp50")" "$(ms "$bp99")" "$bbad" 0 "$(cpu_cell "$(echo "$bcpu" | tr '_' ' ')")" \
            "(SQL alone)" "" ""
done
if [[ " $BENCH_STRATEGIES " == *" pessimistic "* ]]; then
    hc_base=$(field rps "$(cat "$OUT/e2e-pessimistic-256")")
    hc_note="$(ratio "$(field rps "$(cat "$OUT/holdconfirm")")" "$hc_base") x pessimistic e2e"
else
    hc_note="(pessimistic not run)"
fi
row "hold then confirm, confirms" 256 "$(wrk_cells holdconfirm)" \
    "$(cpu_cell "$(cat "$OUT/holdconfirm.raw.cpu")")" "$hc_note" "" \
    "$([ "$HOLD_DB" = ok ] && echo "invariant ok" || echo FAIL)"
row "hold then confirm, holds" 256 "$(printf '%.0f' "$(field holds_rps "$(cat "$OUT/holdconfirm")")")" \
    "-" "-" "-" "-" "(the same run)" \
    "$(ratio "$(field holds_rps "$(cat "$OUT/holdconfirm")")" "${hc_base:-0}") x pessimistic e2e" "" ""
row "C  FastCGI ceiling (fixed 409)" 256 "$(wrk_cells ceiling)" \
    "$(cpu_cell "$(cat "$OUT/ceiling.raw.cpu")")" "$(ratio "$CEILING_RATE" "$A_RATE") x A" "" ""
r=$(ratio "$SOLD_RATE" "$CEILING_RATE")
v=$(verdict "$r" 0.80)
[ "$v" = PASS ] || BELOW=1
v=$(mark "$v" "$(cat "$OUT/soldout.raw.cpu")" "$(cat "$OUT/ceiling.raw.cpu")")
row "sold out, every answer 409" 256 "$(wrk_cells soldout)" \
    "$(cpu_cell "$(cat "$OUT/soldout.raw.cpu")")" "$r x C" ">= 0.80" "$v"
if [ -n "$DEFAULT_RAN" ]; then
    for s in $BENCH_STRATEGIES; do
        if [ "$s" = batched ]; then
            want=3.00
            btps=$(echo "$SINGLE_BEST" | awk '{ print $2 }')
        else
            want=0.80
            btps=$(pgbench_best "$s" | awk '{ print $2 }')
        fi
        r=$(ratio "$(field rps "$(cat "$OUT/dflt-$s-256")")" "$btps")
        row "($s e2e, pool default)" 256 "$(wrk_cells "dflt-$s-256")" \
            "$(cpu_cell "$(cat "$OUT/dflt-$s-256.raw.cpu")")" \
            "$r x pgbench best" ">= $want" "($(verdict "$r" "$want"))"
    done
    r=$(ratio "$(field rps "$(cat "$OUT/dflt-soldout")")" "$CEILING_RATE")
    row "(sold out, pool default)" 256 "$(wrk_cells dflt-soldout)" \
        "$(cpu_cell "$(cat "$OUT/dflt-soldout.raw.cpu")")" "$r x C" ">= 0.80" "($(verdict "$r" 0.80))"
fi
for s in $BENCH_STRATEGIES; do
    t=$(head -1 "$OUT/stampede-$s")
    codes=$(sed -n 2p "$OUT/stampede-$s")
    db=$(cat "$OUT/stampede-$s.db")
    # bad: anything but one 201 and a 409 for every other buyer.
    bad=$(echo "$codes" | tr ' ' '\n' | awk -F: -v n="$STAMPEDE_BUYERS" '
        $1 == 201 { w += $2 } $1 == 409 { l += $2 }
        END { b = (w > 1 ? w - 1 : 1 - w) + (n - w - l); print b }')
    want="1 winner"
    if [ "$db" = 1 ] && [ "$bad" = 0 ]; then res=PASS; else res=FAIL; FAILED=1; fi
    r=$(ratio "$t" "$STAMPEDE_BASE_MS")
    if [ "$s" = batched ] && [ "$res" = PASS ]; then
        want="1 winner, <= 1.30"
        res=$(verdict 1.30 "$r")
        [ "$res" = PASS ] || BELOW=1
    fi
    row "stampede $s, stock 1" "$STAMPEDE_BUYERS" "-" "-" "-" "$bad" "-" \
        "elapsed $(ms "$((t * 1000))"): $codes; orders in db: $db" \
        "$r x the ${STAMPEDE_BASE_MS}ms of $STAMPEDE_BUYERS static GETs" \
        "$want" "$res"
done

if [ -n "$STAMPEDE_TOOL" ]; then
    FIRED="test/stampede -n $STAMPEDE_BUYERS -i $HOT_ITEM -s STRATEGY --reset (its own elapsed time)"
else
    FIRED="$(( (STAMPEDE_BUYERS + STAMPEDE_PER_CURL - 1) / STAMPEDE_PER_CURL )) curl --parallel processes of $STAMPEDE_PER_CURL transfers (test/stampede not available)"
fi
NE=$(nginx_errors)
NOISY_VERDICTS=$(awk -F'\t' '$11 ~ /!$/' "$ROWS" | wc -l)

{
    echo
    echo "lastitem bench — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$LI_SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$LI_SRCDIR" diff --quiet HEAD 2>/dev/null || echo ' (+ local changes)')"
    echo "machine:  $NPROC cores ($CPU_MODEL), $MEM RAM, $(uname -sr); load average before: $LOAD0"
    echo "disk:     one 8 kB O_DSYNC write, about one WAL flush: $FSYNC"
    echo "stack:    pool of $WORKERS workers, one per core (rows in parentheses: its default, $DEFAULT_WORKERS, for comparison; the targets are judged on $WORKERS); nginx $("$NGINX_BIN" -v 2>&1 | sed 's|.*/||'); PostgreSQL ${PG_VERSION%% *}, durable defaults: $PG_DURABLE"
    [ -n "$BENCH_SQL" ] && echo "changed:  $BENCH_SQL loaded over sql/ (BENCH_SQL)"
    echo "load:     wrk -t$WRK_THREADS -d${BENCH_SECONDS}s; pgbench -M prepared -T$PGBENCH_SECONDS -j min(c,2) as lastitem_app over the socket; hot item $HOT_ITEM with stock $HOT_STOCK"
    echo
    {
        printf 'run\tconns\trate/s\tp50\tp99\tbad\terrors\tcpu, %% of one core\tvs baseline\ttarget\tresult\n'
        cat "$ROWS"
    } | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          n = NR; if (NF > nf) nf = NF }
        END {
            for (r = 1; r <= n; r++) {
                line = ""
                for (i = 1; i <= nf; i++) {
                    if (i == 1 || i == 8 || i == 9) line = line sprintf("%-" w[i] "s  ", c[r, i])
                    else line = line sprintf("%" w[i] "s  ", c[r, i])
                }
                sub(/ +$/, "", line); print line
            }
        }'
    echo
    for s in $SINGLE_STRATEGIES; do
        echo "pgbench $s, purchases/s by connections: $(awk -v noisy="$NOISY" '{ split($6, f, "_")
            printf "%sc%s %.0f%s", (NR > 1 ? ", " : ""), $1, $2, (f[12] >= noisy ? " !" : "") }' "$OUT/pgb-$s")"
    done
    echo "sold out: $(field statuses "$(cat "$OUT/soldout")"); WAL flushes while it ran: $((wal1 - wal0)), $(awk -v w=$((wal1 - wal0)) -v n="$(field requests "$(cat "$OUT/soldout")")" 'BEGIN { printf "%.4f", w / n }') per answer (background work: a sold-out answer writes nothing)"
    echo "stampede: fired by $FIRED; baseline: the same number of GETs of /bench/static fired by curl the same way"
    echo "bad:      answers other than the one expected (201; 409 when sold out; for pgbench, transactions that did not buy one)"
    echo "errors:   wrk's socket errors + lines nginx wrote to its error.log meanwhile ($NE in the whole run)"
    echo "cpu:      time used by each part while the run went: pg = PostgreSQL, pool = lastitem-api, gen = wrk or pgbench, irq = interrupts and softirqs (loopback TCP, the disk), other = the rest of the machine"
    echo "quiet:    ! = other processes used ${NOISY}% of a core or more meanwhile: that row measured its neighbours too. The run waited $((QUIET_WAITED / 2)) s in all for quiet and ran $RETRIED noisy measurements again."
    echo
    if [ -n "$FAILED" ]; then
        echo "RESULT: FAILED — a correctness check failed (see above)"
    elif [ -n "$BELOW" ]; then
        echo "RESULT: every answer correct; a throughput target is BELOW (see what the cpu column says)"
    else
        echo "RESULT: every answer correct; every target PASS"
    fi
    [ "$NOISY_VERDICTS" = 0 ] ||
        echo "        $NOISY_VERDICTS verdict(s) marked ! rest on a measurement taken beside other work: run again on a quiet machine"
} | tee "$OUT/report.txt"

# ------------------------------------------------------------- 7. figure

# bench.svg: purchases/s by connections, each strategy end to end beside
# pgbench's single-purchase SQL; and sold out beside its FastCGI ceiling.
draw_figure() {
    local gp=$OUT/bench.gp s c plots= sep=
    for s in $BENCH_STRATEGIES; do
        for c in 32 256 1024; do
            echo "$c $(field rps "$(cat "$OUT/e2e-$s-$c")")"
        done >"$OUT/fig-e2e-$s.dat"
        plots="$plots$sep'$OUT/fig-e2e-$s.dat' using 1:2 with linespoints lw 2 pt 7 title '$s, end to end'"
        sep=", "
    done
    for s in $SINGLE_STRATEGIES; do
        plots="$plots$sep'$OUT/pgb-$s' using 1:2 with linespoints dt 2 pt 6 title '$s, pgbench (SQL alone)'"
    done
    {
        echo "\"static GET (A)\" $A_RATE"
        echo "\"FastCGI ceiling (C)\" $CEILING_RATE"
        echo "\"sold out, pool\" $SOLD_RATE"
    } >"$OUT/fig-soldout.dat"
    cat >"$gp" <<GP
set terminal svg size 1000,520 dynamic noenhanced font 'sans,11' background '#ffffff'
set output '$OUT/bench.svg'
set multiplot layout 1,2 title "make bench, $(date -u '+%Y-%m-%d'), $NPROC cores, pool of $WORKERS workers, fsync and synchronous_commit on"
set grid
set key below font ',9' maxrows 4
set logscale x 2
set xlabel 'connections'
set ylabel 'purchases/s of one hot item'
set title 'one hot item: each strategy end to end, beside its SQL alone'
set yrange [0:*]
plot $plots
unset logscale x
set xlabel ''
set ylabel 'answers/s at 256 connections'
set title 'sold out, beside the FastCGI ceiling'
set style fill solid 0.6
set boxwidth 0.6
set key off
plot '$OUT/fig-soldout.dat' using 0:2:xtic(1) with boxes lc rgb '#4a7ab5'
unset multiplot
GP
    if gnuplot "$gp" 2>"$OUT/gnuplot.err"; then
        echo "figure:   $OUT/bench.svg"
        if [ -n "$BENCH_SVG" ]; then
            cp "$OUT/bench.svg" "$BENCH_SVG" && cp "$OUT/report.txt" "${BENCH_SVG%.svg}.txt" &&
                echo "figure:   copied to $BENCH_SVG (the report beside it)"
        fi
    else
        echo "bench: gnuplot failed: $(head -3 "$OUT/gnuplot.err")" >&2
    fi
}
if command -v gnuplot >/dev/null 2>&1; then
    draw_figure
else
    echo "figure:   none (gnuplot is not installed; Debian package gnuplot-nox)"
fi

[ -z "$FAILED" ] || exit 1
[ -z "$BELOW" ] || [ -z "$BENCH_STRICT" ] || exit 1
exit 0
