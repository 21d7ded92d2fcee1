#!/bin/bash
# bench_soak.sh — the last part of `make bench` (alone: `make bench-soak`):
# does the sale keep its pace while an audience watches?
#
# The same sale, in one run: $SOAK_PURCHASES (10,000) purchases of one item
# with a stock of $SOAK_STOCK (1,000), at once from $SOAK_BUYERS processes
# through nginx and the pool,
#   none      with no stream open;
#   streams   with $SOAK_CLIENTS (10,000) streams of /api/events open through
#             nginx: the pages of the people watching (?orders=summary),
#             and one in $SOAK_FULL_EVERY (100) following every order (the
#             shop's own screens, integrations); the daemon as shipped
#             (ticks of 50 ms; in a rush, each waits for nginx to read the
#             last and for that to take a fifth of the time);
#   heavy     the same, one stream in $SOAK_HEAVY_EVERY (10) following every
#             order: ten times the bytes through nginx (a harder crowd,
#             reported beside the target, not in it);
#   nowait    the same as streams with the daemon at --fanout-share 0:
#             ticks --flush (50 ms) apart however many watch, a rush never
#             waiting for nginx (the behaviour before waiting);
#   noticks   the same at --flush 0 --fanout-share 0 (a write per stream per
#             turn of its loop: the behaviour before ticks);
#   nchan     the other design (skipped without the nchan module):
#             the same streams held by nginx's nchan module, the daemon's
#             ticks published to it once each (test/bench/nchan_bridge, a
#             prototype; test/bench/nchan_fanout.conf.in).
# none and streams always run, $SOAK_ROUNDS (3) times each, alternating:
# the machine's pace drifts from one sale to the next, and the target
# compares their medians. SOAK_PHASES chooses among the others ("heavy
# nowait noticks nchan"). Each phase has a fresh daemon and nginx, and the
# item is restocked. It
# reports the sale's rate (purchases answered per second) in each and the
# ratio streams / none against the target (0.7: PASS or BELOW), and, with
# perf, the system calls of the daemon and of nginx per 1,000 frames (a
# frame is one event written to one stream) while the sale is delivered.
# It checks, and says FAIL when it does not hold:
#   * exactly $SOAK_STOCK purchases are 201, every other one 409 sold_out;
#   * the database agrees: $SOAK_STOCK orders, quantity 0, and
#     initial - remaining = sum of the orders' quantities;
#   * every stream ends on quantity 0 and on the database's version
#     (checked per stream); every stream following every order saw each
#     order exactly once, every summary stream's counts add up to them;
#   * the event daemon's memory (VmRSS) once the pages have left is back to
#     what it was before they came, within $SOAK_SLACK_KB (1 MiB: what the
#     replay ring may keep of the sale, which it holds on purpose).
# test/sse_fanout --stampede is the crowd and the buyers. The exit status
# is 1 when anything failed (not for BELOW).
#
# The pool runs as `make run` runs it (SOAK_POOL_ARGS, default
# "--strategy batched --events <the daemon's socket>").
#
# Needs: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN (from make), curl;
# perf (linux-perf) for the system-call rows (else they say so);
# libnginx-mod-nchan for the nchan phase.

set -euo pipefail

: "${LI_SRCDIR:?run through make bench-soak}"
: "${LI_BUILDDIR:?run through make bench-soak}"
: "${PG_BINDIR:?run through make bench-soak}"
: "${NGINX_BIN:?run through make bench-soak}"
: "${CURL:=curl}"
: "${SOAK_CLIENTS:=10000}"
: "${SOAK_PURCHASES:=10000}"
: "${SOAK_STOCK:=1000}"
: "${SOAK_BUYERS:=64}"
: "${SOAK_PROCS:=2}"
: "${SOAK_SLACK_KB:=1024}"
: "${SOAK_PHASES=heavy nowait noticks nchan}"
: "${SOAK_FULL_EVERY:=100}"
: "${SOAK_HEAVY_EVERY:=10}"
: "${SOAK_ROUNDS:=3}"
: "${SOAK_EVENTS_ARGS:=}"
: "${SOAK_KEEP:=}"
TARGET_RATIO=0.7

. "$LI_SRCDIR/scripts/bench_lib.sh"

CLIENT=$LI_BUILDDIR/test/sse_fanout
BRIDGE=$LI_BUILDDIR/test/nchan_bridge
NCHAN_MODULE=${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
NCHAN_CONF=$LI_SRCDIR/test/bench/nchan_fanout.conf.in
ITEM=launch-hoodie
PERF=$(command -v perf || true)
[ -x "$CLIENT" ] || { echo "bench_soak: no $CLIENT: run make first" >&2; exit 1; }

CLIENT_PID=
BRIDGE_PID=
PERF_PIDS=()
bench_stop_extras() {
    local p
    bench_stop_pid "$CLIENT_PID"
    for p in "${PERF_PIDS[@]}"; do bench_stop_pid "$p"; done
    bench_stop_pid "$BRIDGE_PID"
}
bench_begin soak "$SOAK_KEEP"
OUT=$BENCH_DIR/out
mkdir -p "$OUT"

metric() {
    "$CURL" -s --max-time 10 "$STACK_METRICS_URL/api/events/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
pool_metric() {  # pool_metric NAME: one of the pool's counters (0 if none)
    "$CURL" -s --max-time 10 "$STACK_METRICS_URL/api/metrics" |
        awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}
rss_kb() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}
# tree_pids PID: PID and its children, comma-separated. In bash alone: it
# runs twice a second during the sale, and every process it started would
# take CPU from the sale being measured.
tree_pids() {
    local f line kids=
    for f in /proc/"$1"/task/*/children; do
        read -r line <"$f" 2>/dev/null || true
        [ -n "$line" ] && kids+=",${line// /,}"
    done
    echo "$1$kids"
}
kb() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# The parts whose CPU is counted over a sale: name=pids, set in phase().
PARTS=()
# cpu_snapshot FILE: "name ticks" per part, the CPU ticks (user + system,
# and of children that have exited: the buyers) its processes used so far.
# One awk for every part: it runs twice a second during the sale (an awk
# per process, as before, took a fifth of the machine from the sale).
cpu_snapshot() {
    local part args=()
    for part in "${PARTS[@]}"; do args+=("${part%%=*}" "${part#*=}"); done
    awk 'BEGIN {
        for (i = 1; i < ARGC; i += 2) {
            t = 0
            n = split(ARGV[i + 1], pid, ",")
            for (k = 1; k <= n; k++) {
                f = "/proc/" pid[k] "/stat"
                if ((getline line < f) > 0) {
                    sub(/.*\) /, "", line)
                    split(line, a, " ")
                    t += a[12] + a[13] + a[14] + a[15]
                }
                close(f)
            }
            print ARGV[i], t
        }
        # The whole machine: busy and all ticks of its cores.
        getline line < "/proc/stat"
        split(line, a, " ")
        all = 0
        for (k = 2; k <= 9; k++) all += a[k]
        print "busy", all - a[5] - a[6]
        print "all", all
    }' "${args[@]}" >"$1"
}

# restock: no orders, the item at $SOAK_STOCK (initial and left).
restock() {
    local code
    code=$("$CURL" -s -o "$OUT/reset.json" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' "$STACK_URL/api/reset")
    [ "$code" = 200 ] || { echo "bench_soak: reset answered $code" >&2; exit 1; }
    stack_sql "UPDATE lastitem.items SET quantity = $SOAK_STOCK, initial_quantity = $SOAK_STOCK
                WHERE id = '$ITEM'" >/dev/null
}

# perf_start NAME PIDS: counts the system calls of PIDS until perf_stop.
perf_start() {
    [ -n "$PERF" ] || return 0
    "$PERF" stat -x, -e raw_syscalls:sys_enter -p "$2" -o "$OUT/$1.perf" \
        >/dev/null 2>>"$OUT/perf.log" &
    PERF_PIDS+=("$!")
}
perf_stop() {
    local p
    for p in "${PERF_PIDS[@]}"; do
        kill -INT "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PERF_PIDS=()
}
syscalls() {  # syscalls NAME: the count perf wrote, or -
    awk -F, '$3 ~ /sys_enter/ && $1 ~ /^[0-9]+$/ { print $1; found = 1 } END { if (!found) print "-" }' \
        "$OUT/$1.perf" 2>/dev/null || echo -
}
per_1000() {  # per_1000 CALLS FRAMES
    awk -v c="$1" -v f="$2" 'BEGIN { if (c == "-" || f + 0 == 0) print "-"; else printf "%.0f", c * 1000 / f }'
}

# nchan_up PORT: lastitem's nginx, just started on PORT, also serves nchan's
# subscribers and publisher (test/bench/nchan_fanout.conf.in: the module
# line and the locations, added to its configuration and reloaded), and the
# bridge from the daemon publishes to it. One nginx, as in the other
# phases: the purchases and the streams share its workers.
nchan_up() {
    local port=$1 conf=$STACK_DIR/nginx/nginx.conf old now i
    old=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
    {
        echo "load_module $NCHAN_MODULE;"
        cat "$conf"
    } >"$conf.nchan"
    awk -v locs="$NCHAN_CONF" '
        /location = \/api\/events \{/ && !done {
            while ((getline l < locs) > 0) if (l !~ /^#/) print l
            done = 1
        }
        { print }' "$conf.nchan" >"$conf"
    "$NGINX_BIN" -t -p "$STACK_DIR/nginx" -c "$conf" -e "$STACK_DIR/nginx/error.log" \
        >>"$BENCH_DIR/nchan.log" 2>&1 || { echo "bench_soak: nginx with nchan: bad configuration (see $BENCH_DIR/nchan.log)" >&2; exit 1; }
    kill -HUP "$NGINX_PID"
    for i in $(seq 1 100); do
        sleep 0.05
        now=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
        # nchan's answer, not the old workers' (lastitem's 404 problem):
        # a publish that reached an old one would be lost.
        [ "$now" != "$old" ] && [ "$(echo "$now" | wc -w)" -ge "$(echo "$old" | wc -w)" ] &&
            [[ "$("$CURL" -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$port/pub/full")" != application/problem+json* ]] &&
            break
    done
    nginx_note_workers
    "$BRIDGE" "$STACK_EVENTS_SOCK" "127.0.0.1:$port" 2>>"$BENCH_DIR/bridge.log" &
    BRIDGE_PID=$!
    # Both channels have their first message (the daemon's snapshot).
    for i in $(seq 1 100); do
        [ "$("$CURL" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/pub/full")" = 200 ] &&
            [ "$("$CURL" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/pub/summary")" = 200 ] && return 0
        sleep 0.05
    done
    echo "bench_soak: nchan or the bridge did not come up (see $BENCH_DIR)" >&2
    exit 1
}
nchan_down() {
    bench_stop_pid "$BRIDGE_PID"
    BRIDGE_PID=
}

echo "bench_soak: starting PostgreSQL and the pool in $BENCH_DIR" >&2
pg_up
# The pool as `make run` starts it: batched, and following the event
# daemon's stream (each phase's daemon; the pool reconnects to it), so that
# sold-out answers need no database once the stream has said so.
# shellcheck disable=SC2086
pool_start ${SOAK_POOL_ARGS:---strategy batched --events $STACK_EVENTS_SOCK}

# client_said WORD FILE TRIES PAUSE: waits until the client wrote a line
# starting with WORD to FILE, or has ended, looking TRIES times.
client_said() {
    local i
    for i in $(seq 1 "$3"); do
        grep -q "^$1" "$2" 2>/dev/null && return 0
        kill -0 "$CLIENT_PID" 2>/dev/null || return 0
        sleep "$4"
    done
}

# phase NAME STREAMS [lastitem-events options…]: one sale, with its own
# daemon and nginx (and, for the phase named nchan, nchan and the bridge);
# its SOAK line in $OUT/NAME.line, its figures in $OUT/NAME.* .
phase() {
    local name=$1 n=$2 port rc=0 line daemon_base daemon_after left unasked0 pool_streams
    local streams_at fan_pids daemon_pids frames
    shift 2
    # shellcheck disable=SC2086
    events_start $SOAK_EVENTS_ARGS "$@"
    port=$(stack_free_port) || { echo "bench_soak: no free port" >&2; exit 1; }
    nginx_start "$port"
    restock
    for _ in $(seq 1 200); do
        [ "$(metric lastitem_events_db_up)" = 1 ] && break
        sleep 0.1
    done
    sleep 1
    daemon_base=$(rss_kb "$EVENTS_PID")
    # The pool's own streams (it follows the daemon): there before the
    # pages come, and after they leave.
    pool_streams=$(metric lastitem_events_clients)
    pool_streams=${pool_streams:-0}
    streams_at=(--connect "127.0.0.1:$port")
    fan_pids=$(tree_pids "$NGINX_PID")
    daemon_pids=$EVENTS_PID
    if [ "$name" = nchan ]; then
        nchan_up "$port"
        streams_at=(--connect "127.0.0.1:$port" --path /sub/full)
        fan_pids=$(tree_pids "$NGINX_PID")
        daemon_pids="$EVENTS_PID,$BRIDGE_PID"
    fi
    echo "bench_soak: $name: $n streams, then $SOAK_PURCHASES purchases of $ITEM (stock $SOAK_STOCK) from $SOAK_BUYERS buyers" >&2
    "$CLIENT" --mode lastitem "${streams_at[@]}" -n "$n" \
        --procs "$SOAK_PROCS" --src-base 2 --src-count 4 --connect-timeout 180 \
        --settle 300 --stampede "$SOAK_PURCHASES" --buyers "$SOAK_BUYERS" \
        --item "$ITEM" --trigger "/api/items/$ITEM/purchase" --label "$name" \
        --summary-path "$([ "$name" = nchan ] && echo /sub/summary || echo "/api/events?orders=summary")" \
        --full-every "${PHASE_FULL_EVERY:-$SOAK_FULL_EVERY}" \
        --hold-ms 1500 --mem "daemon=$daemon_pids" --mem "nginx=$fan_pids" \
        >"$OUT/$name.out" 2>"$OUT/$name.client.log" &
    CLIENT_PID=$!
    client_said READY "$OUT/$name.out" 3600 0.05
    # The streams are open; the sale starts --hold-ms later, at GO.
    client_said GO "$OUT/$name.out" 100 0.02
    PARTS=("daemon=$daemon_pids" "nginx=$fan_pids" "pool=$(tree_pids "$POOL_PID")"
           "pg=$(tree_pids "$(head -1 "$STACK_DIR/pg/data/postmaster.pid")")"
           "client=$(tree_pids "$CLIENT_PID")")
    unasked0=$(pool_metric lastitem_api_sold_out_unasked_total)
    cpu_snapshot "$OUT/$name.cpu0"
    T0=$(date +%s%N)
    perf_start "$name.daemon" "$daemon_pids"
    perf_start "$name.nginx" "$fan_pids"
    # The client's buyers are its children only while they buy: count
    # them at the end of the sale, when its workers are still there.
    while kill -0 "$CLIENT_PID" 2>/dev/null && ! grep -q '^SOAK ' "$OUT/$name.out"; do
        PARTS[4]="client=$(tree_pids "$CLIENT_PID")"
        cpu_snapshot "$OUT/$name.cpu1"
        sleep 0.5
    done
    T1=$(date +%s%N)
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=
    # Sold-out answers the pool gave from the event stream's stock, without
    # the database: its view of the stock is only as fresh as the ticks.
    echo $(( $(pool_metric lastitem_api_sold_out_unasked_total) - unasked0 )) >"$OUT/$name.unasked"
    "$CURL" -s "$STACK_METRICS_URL/api/events/metrics" |
        awk '$1 == "lastitem_events_ticks_total" { t = $2 }
             $1 == "lastitem_events_ticks_waited_total" { w = $2 }
             $1 == "lastitem_events_ticks_held_total" { h = $2 }
             END { print t + 0, w + 0, h + 0 }' >"$OUT/$name.ticks" || echo "- - -" >"$OUT/$name.ticks"
    # % of one core per part over the sale and its delivery.
    awk -v hz="$(getconf CLK_TCK)" -v ns=$((T1 - T0)) 'NR == FNR { a[$1] = $2; next }
        $1 == "busy" { busy = $2 - a[$1]; next }
        $1 == "all" { if ($2 > a[$1]) printf "; the machine %d%% busy", busy * 100 / ($2 - a[$1]); next }
        { printf "%s%s %d%%", sep, $1, ($2 - a[$1]) / hz / (ns / 1e9) * 100; sep = ", " }' \
        "$OUT/$name.cpu0" "$OUT/$name.cpu1" >"$OUT/$name.cpu" 2>/dev/null || true
    perf_stop
    echo "$rc" >"$OUT/$name.rc"
    [ "$name" = nchan ] && nchan_down
    line=$(grep '^SOAK ' "$OUT/$name.out" || true)
    [ -n "$line" ] || { cat "$OUT/$name.client.log" >&2; echo "bench_soak: $name: the client printed no result" >&2; exit 1; }
    echo "$line" >"$OUT/$name.line"
    # Events the streams received, the snapshots before the sale left out.
    frames=$(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "frames" { print $2 }')
    echo $(( ${frames:-0} - n )) >"$OUT/$name.frames"
    # The pages have left: the daemon streams to the pool alone, and its
    # only other connection is the metrics request asking; then it settles.
    for _ in $(seq 1 600); do
        "$CURL" -s --max-time 10 "$STACK_METRICS_URL/api/events/metrics" >"$OUT/$name.left" || true
        left=$(awk '$1 == "lastitem_events_clients" { c = $2 } $1 == "lastitem_events_connections" { n = $2 }
                    END { print c + 0 " streams, " n - c - 1 " other connections" }' "$OUT/$name.left")
        [ "$left" = "$pool_streams streams, 0 other connections" ] && break
        sleep 0.1
    done
    sleep 2
    daemon_after=$(rss_kb "$EVENTS_PID")
    echo "$daemon_base $daemon_after $pool_streams $left" >"$OUT/$name.mem"
    "$CURL" -s "$STACK_METRICS_URL/api/events/metrics" >"$OUT/$name.metrics" || true
    # The database's own word.
    stack_sql "SELECT (SELECT count(*) FROM lastitem.orders WHERE item_id = '$ITEM'),
                      i.quantity, i.version,
                      CASE WHEN i.initial_quantity - i.quantity =
                                (SELECT coalesce(sum(quantity), 0) FROM lastitem.orders WHERE item_id = i.id)
                           THEN 'ok' ELSE 'broken' END
                 FROM lastitem.items i WHERE i.id = '$ITEM'" | tr '|' ' ' >"$OUT/$name.db"
    nginx_stop
    events_stop
}

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
PHASES=
for r in $(seq 1 "$SOAK_ROUNDS"); do
    phase "none$r" 0
    phase "streams$r" "$SOAK_CLIENTS"
    PHASES="$PHASES none$r streams$r"
done
if [[ " $SOAK_PHASES " == *" heavy "* ]]; then
    PHASE_FULL_EVERY=$SOAK_HEAVY_EVERY phase heavy "$SOAK_CLIENTS"
    PHASES="$PHASES heavy"
fi
if [[ " $SOAK_PHASES " == *" nowait "* ]]; then
    phase nowait "$SOAK_CLIENTS" --fanout-share 0
    PHASES="$PHASES nowait"
fi
if [[ " $SOAK_PHASES " == *" noticks "* ]]; then
    phase noticks "$SOAK_CLIENTS" --flush 0 --fanout-share 0
    PHASES="$PHASES noticks"
fi
if [[ " $SOAK_PHASES " == *" nchan "* ]] && [ -f "$NCHAN_MODULE" ] && [ -x "$BRIDGE" ]; then
    phase nchan "$SOAK_CLIENTS"
    PHASES="$PHASES nchan"
fi
ELAPSED=$(( $(date +%s) - START ))

# check CONDITION-STATUS TEXT: a FAIL fails the run, but in the nchan
# phase: that is the other design's prototype on Debian's nchan, whose
# worker has died of a segmentation fault under this sale (doc/benchmarks.md),
# and lastitem's bench does not fail for it.
check() {
    if [ "$1" = 0 ]; then
        echo "PASS  $2"
    elif [[ $2 == nchan:* ]]; then
        echo "FAIL  $2 (the nchan prototype: not counted in the exit status)"
    else
        echo "FAIL  $2"
    fi
}
field() {  # field PHASE KEY
    tr ' ' '\n' <"$OUT/$1.line" | awk -F= -v k="$2" '$1 == k { print $2; exit }'
}
rate() {  # purchases answered per second
    awk -v p="$SOAK_PURCHASES" -v s="$(field "$1" stampede_s)" 'BEGIN { printf "%.0f", (s > 0 ? p / s : 0) }'
}
ratio() {  # ratio A B: A / B to two places (0 when B is 0)
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
# median_rate PREFIX: the median rate of the rounds PREFIX1, PREFIX2, …
median_rate() {
    local r
    for r in $(seq 1 "$SOAK_ROUNDS"); do rate "$1$r"; echo; done | median
}
NONE_RATE=$(median_rate none)
STREAMS_RATE=$(median_rate streams)
RATIO=$(ratio "$STREAMS_RATE" "$NONE_RATE")
V_RATIO=$(awk -v r="$RATIO" -v t="$TARGET_RATIO" 'BEGIN { print (r + 0 >= t) ? "PASS " : "BELOW" }')

{
    echo
    echo "lastitem soak — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$LI_SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$LI_SRCDIR" diff --quiet HEAD -- fcgi nginx sql 2>/dev/null || echo ' (+ local changes)')"
    echo "machine:   $(nproc) cores; load average before: $LOAD_BEFORE; ${ELAPSED} s in all"
    echo "sale:      $SOAK_PURCHASES purchases of $ITEM (stock $SOAK_STOCK) from $SOAK_BUYERS buyers, through nginx and the pool"
    echo "streams:   1 in $SOAK_FULL_EVERY follows every order, the rest ?orders=summary (the page); heavy: 1 in $SOAK_HEAVY_EVERY"
    echo "rounds:    none and streams $SOAK_ROUNDS times each, alternating; the target compares their medians"
    echo
    printf '%-8s %8s %9s %7s %10s %6s %8s %14s %16s %16s %14s\n' phase streams "sale s" "sold s" "purch./s" "lag s" frames \
        "views at 0/v" "daemon sc/1000f" "nginx sc/1000f" "daemon RSS"
    for p in $PHASES; do
        read -r db_orders db_left db_version db_inv <"$OUT/$p.db"
        read -r base after _ <"$OUT/$p.mem"
        frames=$(cat "$OUT/$p.frames")
        printf '%-8s %8s %9s %7s %10s %6s %8s %14s %16s %16s %14s\n' "$p" "$(field "$p" ready)" \
            "$(field "$p" stampede_s)" "$(field "$p" sold_s)" "$(rate "$p")" "$(field "$p" settle_s)" "$frames" \
            "$(field "$p" at_zero)/$(field "$p" at_max_version)" \
            "$(per_1000 "$(syscalls "$p.daemon")" "$frames")" \
            "$(per_1000 "$(syscalls "$p.nginx")" "$frames")" \
            "$(kb "$(field "$p" daemon_rss_kb)")"
    done
    echo
    for p in $PHASES; do
        printf 'cpu %-8s %s\n' "$p:" "$(cat "$OUT/$p.cpu" 2>/dev/null)"
    done
    echo
    for p in $PHASES; do
        read -r ticks waited held <"$OUT/$p.ticks"
        printf '%-9s %s of %s sold-out answers from the pool'"'"'s view, without the database; %s ticks, %s waited for nginx, %s held\n' \
            "$p:" "$(cat "$OUT/$p.unasked")" $((SOAK_PURCHASES - SOAK_STOCK)) "$ticks" "$waited" "$held"
    done
    echo
    echo "sale s:        from the first purchase sent to the last answered; purch./s: purchases answered per second"
    echo "sold s:        from the first purchase sent to the last 201 (the stock sold; the rest are sold-out answers)"
    echo "lag s:         from the last purchase answered to every stream showing quantity 0"
    echo "frames:        events the streams received from the purchases on"
    echo "views at 0/v:  streams whose newest view of the item is quantity 0 / is the database's final version"
    echo "sc/1000f:      system calls per 1,000 frames, from the purchases to the last stream's last event (perf stat${PERF:+}$([ -n "$PERF" ] || echo ': perf missing, not measured'))"
    echo "daemon RSS:    with the streams open, after the sale"
    echo "cpu:           % of one core each part used from the purchases to the last stream's last event (the client"
    echo "               is the streams' reader and the buyers, on the same $(nproc) cores); the machine: % of all its"
    echo "               cores busy over the same time, whoever used them"
    echo "streams:       the daemon as shipped: ticks 50 ms apart, and in a rush until nginx read the last and that took a fifth of the time"
    echo "heavy:         as streams, 1 in $SOAK_HEAVY_EVERY following every order (ten times the bytes through nginx)"
    echo "nowait:        the daemon at --fanout-share 0: ticks 50 ms apart whatever the audience (before a rush waited for nginx)"
    echo "noticks:       the daemon at --flush 0 --fanout-share 0: one write per stream per turn of its loop (before ticks)"
    echo "nchan:         the streams held by nginx's nchan module, each tick published once (prototype: test/bench/nchan_bridge);"
    echo "               nchan in lastitem's nginx; daemon = the daemon and the bridge"
    echo
    echo "target: the sale with $SOAK_CLIENTS streams at >= $TARGET_RATIO x the rate with none:"
    echo "$V_RATIO  $STREAMS_RATE / $NONE_RATE purchases/s = $RATIO (medians of $SOAK_ROUNDS rounds; each round: $(
        for r in $(seq 1 "$SOAK_ROUNDS"); do
            ratio "$(rate "streams$r")" "$(rate "none$r")"; echo
        done | paste -sd' '))"
    for p in $PHASES; do
        case $p in none*|streams*) continue ;; esac
        echo "        ($p: $(rate "$p") / $NONE_RATE = $(ratio "$(rate "$p")" "$NONE_RATE"))"
    done
    for p in $PHASES; do
        read -r db_orders db_left db_version db_inv <"$OUT/$p.db"
        read -r base after pool left <"$OUT/$p.mem"
        n=$(field "$p" clients)
        check "$(cat "$OUT/$p.rc")" "$p: the client finished cleanly"
        check "$([ "$(field "$p" ready)" = "$n" ] && [ "$(field "$p" dropped)" = 0 ]; echo $?)" \
            "$p: all $n streams opened and stayed open"
        check "$([ "$(field "$p" created)" = "$SOAK_STOCK" ] &&
                 [ "$(field "$p" sold_out)" = $((SOAK_PURCHASES - SOAK_STOCK)) ] &&
                 [ "$(field "$p" other)" = 0 ] && [ "$(field "$p" unanswered)" = 0 ]; echo $?)" \
            "$p: exactly $SOAK_STOCK purchases succeeded, every other one 409 ($(field "$p" created), $(field "$p" sold_out))"
        check "$([ "$db_orders" = "$SOAK_STOCK" ] && [ "$db_left" = 0 ] && [ "$db_inv" = ok ]; echo $?)" \
            "$p: the database holds $SOAK_STOCK orders, 0 left, initial - remaining = sum of orders ($db_orders, $db_left, $db_inv)"
        [ "$n" = 0 ] && continue
        check "$([ "$(field "$p" at_zero)" = "$n" ] && [ "$(field "$p" max_version)" = "$db_version" ] &&
                 [ "$(field "$p" at_max_version)" = "$n" ]; echo $?)" \
            "$p: every stream ended on quantity 0 and version $db_version ($(field "$p" at_zero), $(field "$p" at_max_version) at $(field "$p" max_version))"
        check "$([ "$(field "$p" orders_exact)" = "$(field "$p" orders_streams)" ] &&
                 [ "$(field "$p" summary_exact)" = "$(field "$p" summary_streams)" ]; echo $?)" \
            "$p: every order exactly once on the $(field "$p" orders_streams) streams of every order ($(field "$p" orders_exact)), counted on the $(field "$p" summary_streams) summary streams ($(field "$p" summary_exact))"
        check "$([ "$left" = "$pool streams, 0 other connections" ] && [ "$after" -le $((base + SOAK_SLACK_KB)) ]; echo $?)" \
            "$p: the pages gone ($left left, the pool's $pool), the daemon's memory returned to its baseline: $after KiB after, $base before (+$((after - base)) KiB; allowed +$SOAK_SLACK_KB)"
    done
} | tee "$OUT/report.txt"
# The verdict from the report (it is written in a pipe, a subshell).
grep '^FAIL' "$OUT/report.txt" | grep -qv 'not counted in the exit status' && exit 1
exit 0
