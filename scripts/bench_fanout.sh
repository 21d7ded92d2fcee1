#!/bin/bash
# bench_fanout.sh — part of `make bench`: how fast a sale reaches every open
# page, and what each open page costs, beside nginx's nchan module doing the
# same fan-out.
#
# For each N in $FANOUT_SIZES (1000 and 10000), on one private cluster:
#   lastitem  N EventSource streams of /api/events?orders=summary (the
#             page's stream: what the people watching a sale open) through
#             nginx and lastitem-events; then $FANOUT_EVENTS purchases of
#             one item, $FANOUT_INTERVAL_MS apart, each a POST through nginx
#             and the pool. Every purchase is two events (item, and orders
#             naming it) on every stream.
#   nchan     the same N streams from nginx's nchan module
#             (test/bench/nchan.conf.in), the same number of messages
#             published, one per purchase, by a POST to its publisher.
# Every phase has an nginx (and daemon) of its own, fresh, so one phase's
# memory is not the next one's baseline. test/sse_fanout is the client: it
# times each event from the trigger's answer (the 201, or the publisher's
# answer) to its arrival at every stream, and reads the memory of the
# servers before the streams open and with all of them open.
#
# Settings (environment):
#   FANOUT_SIZES        numbers of streams ("1000 10000")
#   FANOUT_EVENTS       purchases, and messages, per phase (20)
#   FANOUT_INTERVAL_MS  between them (200)
#   FANOUT_PROCS        client processes (2: one per core)
#   FANOUT_ROUNDS       times each row is measured; the table shows the
#                       median of each time and of the memory over them,
#                       the CPU of the round beside the least other work (3)
#   FANOUT_EVENTS_ARGS  extra lastitem-events options
#   FANOUT_KEEP=1       keep the run directory (logs) even on success
#   FANOUT_STRICT=1     exit 1 when a goal is missed, too
# A stream that misses an event, or a trigger that is not answered 201,
# makes the run fail (exit 1).
#
# Needs: LI_SRCDIR, LI_BUILDDIR, PG_BINDIR, NGINX_BIN (from make), curl,
# and the Debian package libnginx-mod-nchan.

set -euo pipefail

: "${LI_SRCDIR:?run through make bench}"
: "${LI_BUILDDIR:?run through make bench}"
: "${PG_BINDIR:?run through make bench}"
: "${NGINX_BIN:?run through make bench}"
: "${CURL:=curl}"
: "${FANOUT_SIZES:=1000 10000}"
: "${FANOUT_EVENTS:=20}"
: "${FANOUT_INTERVAL_MS:=200}"
: "${FANOUT_PROCS:=2}"
: "${FANOUT_ROUNDS:=3}"
: "${FANOUT_EVENTS_ARGS:=}"
: "${FANOUT_KEEP:=}"
: "${FANOUT_STRICT:=}"

. "$LI_SRCDIR/scripts/bench_lib.sh"

CLIENT=$LI_BUILDDIR/test/sse_fanout
NCHAN_MODULE=${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
NCHAN_CONF=$LI_SRCDIR/test/bench/nchan.conf.in
ITEM=launch-hoodie

fanout_die() {
    echo "bench_fanout: $*" >&2
    exit 1
}

[ -x "$CLIENT" ] || fanout_die "no $CLIENT: run make first"
[ -f "$NCHAN_MODULE" ] ||
    fanout_die "no $NCHAN_MODULE: install the Debian package libnginx-mod-nchan (the baseline)"
command -v "$CURL" >/dev/null 2>&1 || fanout_die "no curl"

NCHAN_PID=
CLIENT_PID=
FAILED=

bench_stop_extras() {
    bench_stop_pid "$CLIENT_PID"
    [ -z "$NCHAN_PID" ] || nchan_stop
}
bench_begin fanout "$FANOUT_KEEP"
OUT=$BENCH_DIR/out
mkdir -p "$OUT"


# A process and its children, comma-separated.
tree_pids() {
    local kids
    kids=$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' \n' ',,' | sed 's/,$//')
    echo "$1${kids:+,$kids}"
}
nginx_pids() { tree_pids "$1"; }

# The connections per worker that lastitem's nginx runs with: nchan gets
# the same. FANOUT_NGINX_CONNECTIONS tries another number in both (the
# report says so).
SHIPPED_CONNECTIONS=$(awk '$1 == "worker_connections" { sub(";", "", $2); print $2 }' \
    "$LI_SRCDIR/nginx/lastitem.conf.in")
[ -n "$SHIPPED_CONNECTIONS" ] || fanout_die "no worker_connections in nginx/lastitem.conf.in"
WORKER_CONNECTIONS=${FANOUT_NGINX_CONNECTIONS:-$SHIPPED_CONNECTIONS}

# nginx_connections: lastitem's nginx, just started from the template, with
# $WORKER_CONNECTIONS: its configuration changed and reloaded, and its new
# workers noted.
nginx_connections() {
    local conf=$STACK_DIR/nginx/nginx.conf old now gone p i
    [ "$WORKER_CONNECTIONS" != "$SHIPPED_CONNECTIONS" ] || return 0
    old=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
    sed -i "s/worker_connections [0-9]*;/worker_connections $WORKER_CONNECTIONS;/" "$conf"
    kill -HUP "$NGINX_PID"
    for i in $(seq 1 100); do
        sleep 0.05
        now=$(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)
        gone=1
        for p in $old; do
            echo " $now " | grep -q " $p " && gone=
        done
        [ -n "$gone" ] && [ "$(echo "$now" | wc -w)" -ge "$(echo "$old" | wc -w)" ] && break
    done
    nginx_note_workers
}

nchan_start() {
    local port=$1 dir=$BENCH_DIR/nchan user_line= i code
    mkdir -p "$dir/tmp"
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
    sed -e "s|@NCHAN_MODULE@|$NCHAN_MODULE|" \
        -e "s|@USER_LINE@|$user_line|" \
        -e "s|@LISTEN@|127.0.0.1:$port|" \
        -e "s|@RUN_DIR@|$dir|g" \
        -e "s|@WORKER_CONNECTIONS@|$WORKER_CONNECTIONS|" \
        "$NCHAN_CONF" >"$dir/nginx.conf"
    "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >>"$BENCH_DIR/nchan.log" 2>&1 &
    NCHAN_PID=$!
    for i in $(seq 1 100); do
        code=$("$CURL" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/pub" || true)
        if [ "$code" != 000 ] && kill -0 "$NCHAN_PID" 2>/dev/null; then
            return 0
        fi
        kill -0 "$NCHAN_PID" 2>/dev/null || break
        sleep 0.05
    done
    tail -5 "$dir/error.log" "$BENCH_DIR/nchan.log" >&2
    fanout_die "nginx with nchan did not start on port $port"
}

# nchan_stop: a graceful stop, and a hard one if that takes 10 s.
nchan_stop() {
    local i
    [ -n "$NCHAN_PID" ] || return 0
    kill -QUIT "$NCHAN_PID" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$NCHAN_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$NCHAN_PID" 2>/dev/null || true
    wait "$NCHAN_PID" 2>/dev/null || true
    NCHAN_PID=
}

# field NAME LINE: the value of NAME=value in a FANOUT line.
field() {
    echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}

# run_client OUTFILE ARGS…: the client, its FANOUT line to OUTFILE.
run_client() {
    local out=$1
    shift
    "$CLIENT" --procs "$FANOUT_PROCS" --events "$FANOUT_EVENTS" \
        --interval-ms "$FANOUT_INTERVAL_MS" "$@" >"$out" 2>>"$OUT/client.log" &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || { echo "bench_fanout: the client exited $? (see $OUT/client.log)" >&2; FAILED=1; }
    CLIENT_PID=
    grep -q '^FANOUT ' "$out" || fanout_die "the client printed no result (see $OUT/client.log)"
}

# Lines in an error log that say a worker ran out of something.
log_limits() {
    [ -f "$1" ] || { echo 0; return; }
    grep -cE 'worker_connections are not enough|Too many open files' "$1" 2>/dev/null || true
}

# machine_busy: % of one core the whole machine used over half a second.
machine_busy() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 0.5
    b=$(head -1 /proc/stat)
    echo "$a $b" | awk -v hz="$(getconf CLK_TCK)" '{
        busy = ($13 + $14 + $15 + $18 + $19 + $20) - ($2 + $3 + $4 + $7 + $8 + $9)
        printf "%d\n", busy / hz / 0.5 * 100 }'
}

# wait_quiet: other work on the machine (a build, tests, another bench)
# slows both servers alike but not evenly; wait, within FANOUT_QUIET_MAX
# seconds for the whole run, until it uses under $NOISY% of a core.
: "${FANOUT_QUIET_MAX:=30}"
NOISY=25
QUIET_LEFT=$((FANOUT_QUIET_MAX * 2))
wait_quiet() {
    local b
    while [ "$QUIET_LEFT" -gt 0 ]; do
        b=$(machine_busy)
        [ "$b" -lt "$NOISY" ] && return 0
        [ "$QUIET_LEFT" = $((FANOUT_QUIET_MAX * 2)) ] &&
            echo "bench_fanout: the machine is ${b}% busy with other work; waiting for quiet" >&2
        QUIET_LEFT=$((QUIET_LEFT - 1))
    done
}

echo "bench_fanout: starting PostgreSQL and the pool in $BENCH_DIR" >&2
pg_up
pool_start
RESET_DONE=

# other_of FILE: % of a core the rest of the machine used while a phase
# delivered (its FANOUT line: the whole machine less the parts measured).
other_of() {
    tr ' ' '\n' <"$1" | awk -F= '
        $1 == "machine_busy_pct" { busy = $2; next }
        $1 ~ /_cpu_pct$/ { sum += $2 }
        END { o = busy - sum; printf "%d\n", o < 0 ? 0 : o }'
}

# phase_lastitem N ROUND: lastitem's fresh daemon and nginx, N streams.
phase_lastitem() {
    local n=$1 r=$2 code
    # shellcheck disable=SC2086
    events_start $FANOUT_EVENTS_ARGS
    PORT=$(stack_free_port) || fanout_die "no free port"
    nginx_start "$PORT"
    nginx_connections
    if [ -z "$RESET_DONE" ]; then
        code=$("$CURL" -s -o "$OUT/reset.json" -w '%{http_code}' -X POST \
            -H 'Content-Type: application/json' -d '{"quantity":1000000}' "$STACK_URL/api/reset")
        [ "$code" = 200 ] || fanout_die "reset answered $code"
        RESET_DONE=1
    fi
    wait_quiet
    echo "bench_fanout: lastitem, $n streams (round $r)" >&2
    run_client "$OUT/lastitem-$n.$r" --label "lastitem-$n" --mode lastitem \
        --connect "127.0.0.1:$PORT" --path "/api/events?orders=summary" \
        -n "$n" --src-base "$SRC" --src-count 4 \
        --trigger "/api/items/$ITEM/purchase" \
        --mem "nginx=$(nginx_pids "$NGINX_PID")" --mem "daemon=$EVENTS_PID" \
        --mem "pg=$(tree_pids "$(head -1 "$STACK_DIR/pg/data/postmaster.pid")")" \
        --mem "pool=$(tree_pids "$POOL_PID")"
    "$CURL" -s "$STACK_METRICS_URL/api/events/metrics" >"$OUT/lastitem-$n.$r.metrics" || true
    log_limits "$STACK_DIR/nginx/error.log" >"$OUT/lastitem-$n.$r.limits"
    nginx_stop
    events_stop
    mv "$STACK_DIR/nginx/error.log" "$OUT/lastitem-$n.$r.nginx-error.log" 2>/dev/null || true
    SRC=$((SRC + 4))
}

# phase_nchan N ROUND: a fresh nginx with nchan, N streams.
phase_nchan() {
    local n=$1 r=$2
    PORT=$(stack_free_port) || fanout_die "no free port"
    nchan_start "$PORT"
    wait_quiet
    echo "bench_fanout: nchan, $n streams (round $r)" >&2
    run_client "$OUT/nchan-$n.$r" --label "nchan-$n" --mode nchan \
        --connect "127.0.0.1:$PORT" -n "$n" --src-base "$SRC" --src-count 4 \
        --mem "nginx=$(nginx_pids "$NCHAN_PID")"
    log_limits "$BENCH_DIR/nchan/error.log" >"$OUT/nchan-$n.$r.limits"
    nchan_stop
    mv "$BENCH_DIR/nchan/error.log" "$OUT/nchan-$n.$r.nginx-error.log" 2>/dev/null || true
    SRC=$((SRC + 4))
}

# median_line LINE_FILE ROUND_FILE…: LINE_FILE's FANOUT line, each time
# replaced by its median over the rounds, and each memory growth (with the
# streams open, over before) too.
median_line() {
    local line f m r
    line=$(cat "$1")
    shift
    for f in p50_us p99_us max_us sent_p50_us sent_p99_us spread_p99_us spread_max_us; do
        case " $line" in *" $f="*) ;; *) continue ;; esac
        m=$(for r in "$@"; do field "$f" "$(cat "$r")"; done | median)
        line=$(echo "$line" | sed "s/\( $f=\)[^ ]*/\1$m/")
    done
    for f in nginx daemon; do
        case " $line" in *" ${f}_rss_kb="*) ;; *) continue ;; esac
        m=$(for r in "$@"; do
                echo $(( $(field "${f}_rss_kb" "$(cat "$r")") - $(field "${f}_rss_base_kb" "$(cat "$r")") ))
            done | median)
        line=$(echo "$line" | sed "s/\( ${f}_rss_kb=\)[^ ]*/\1$(( $(field "${f}_rss_base_kb" "$line") + m ))/")
    done
    echo "$line"
}

# Each row is measured $FANOUT_ROUNDS times, lastitem and nchan in turn.
# The table shows, for each row, the median over its rounds of each time
# and memory figure: at 10,000 streams on two cores a round's p99 moves by
# a third from one to the next, nchan's as much as lastitem's, and one
# round alone would decide a target by chance. Its CPU is the round's that
# ran beside the least other work. Each phase has its own source addresses:
# 127.0.0.SRC …
SRC=2
for r in $(seq 1 "$FANOUT_ROUNDS"); do
    for n in $FANOUT_SIZES; do
        phase_lastitem "$n" "$r"
        phase_nchan "$n" "$r"
    done
done
for n in $FANOUT_SIZES; do
    for s in lastitem nchan; do
        best=$(for r in $(seq 1 "$FANOUT_ROUNDS"); do
            echo "$(other_of "$OUT/$s-$n.$r") $r"; done | sort -n | head -1 | cut -d' ' -f2)
        median_line "$OUT/$s-$n.$best" $(for r in $(seq 1 "$FANOUT_ROUNDS"); do
            echo "$OUT/$s-$n.$r"; done) >"$OUT/$s-$n"
        cp "$OUT/$s-$n.$best.limits" "$OUT/$s-$n.limits"
        # A round that missed events fails the run, kept or not.
        for r in $(seq 1 "$FANOUT_ROUNDS"); do
            [ "$(field missed_clients "$(cat "$OUT/$s-$n.$r")")" = 0 ] || FAILED=1
        done
    done
done

# ------------------------------------------------------------- the table

# ms FIELD LINE: a time of a FANOUT line in ms, or - when it timed nothing.
ms() {
    if [ "$(field pairs "$2")" = 0 ]; then echo -; return; fi
    awk -v u="$(field "$1" "$2")" 'BEGIN { printf "%.1f", u / 1000 }'
}
# per_client DELTA_KB STREAMS: KiB per stream.
per_client() { awk -v d="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", d / n; else print "-" }'; }

ROWS=$OUT/rows
: >"$ROWS"
for n in $FANOUT_SIZES; do
    for s in lastitem nchan; do
        line=$(cat "$OUT/$s-$n")
        ready=$(field ready "$line")
        missed=$(field missed_clients "$line")
        good=$(field good "$line")
        [ "$missed" = 0 ] || FAILED=1
        [ "$good" = "$FANOUT_EVENTS" ] || FAILED=1
        ngx=$(( $(field nginx_rss_kb "$line") - $(field nginx_rss_base_kb "$line") ))
        if [ "$s" = lastitem ]; then
            dmn=$(( $(field daemon_rss_kb "$line") - $(field daemon_rss_base_kb "$line") ))
            mem_total=$(per_client $((ngx + dmn)) "$ready")
            mem_ngx=$(per_client "$ngx" "$ready")
            mem_dmn=$(per_client "$dmn" "$ready")
        else
            mem_total=$(per_client "$ngx" "$ready")
            mem_ngx=$mem_total
            mem_dmn=-
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s/%s\n' \
            "$s" "$n" \
            "$(ms p50_us "$line")" "$(ms p99_us "$line")" "$(ms max_us "$line")" \
            "$(ms sent_p50_us "$line")" "$(ms sent_p99_us "$line")" \
            "$(ms spread_p99_us "$line")" "$(ms spread_max_us "$line")" \
            "$missed" "$n" "$mem_total" "$mem_ngx" "$mem_dmn" "$good" "$FANOUT_EVENTS" >>"$ROWS"
    done
done

# verdict COLUMN: lastitem's value at the largest N against nchan's.
NMAX=$(echo "$FANOUT_SIZES" | tr ' ' '\n' | sort -n | tail -1)
col() { awk -F'\t' -v s="$1" -v n="$NMAX" -v c="$2" '$1 == s && $2 == n { print $c }' "$ROWS"; }
# verdict LASTITEM NCHAN [TIMED]: PASS when lastitem's is no more than
# nchan's, else BELOW. A time is judged only when lastitem's streams missed
# nothing: a missed event is later than any (FAIL).
MISSED_MAX=$(col lastitem 10 | cut -d/ -f1)
verdict() {
    if [ "$1" = - ] || [ "$2" = - ] || { [ -n "${3:-}" ] && [ "$MISSED_MAX" != 0 ]; }; then
        echo "FAIL (missed events)"
        return
    fi
    awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 <= b + 0) ? "PASS" : "BELOW" }'
}
V_P99=$(verdict "$(col lastitem 4)" "$(col nchan 4)" timed)
V_SENT=$(verdict "$(col lastitem 7)" "$(col nchan 7)" timed)
V_SPREAD=$(verdict "$(col lastitem 8)" "$(col nchan 8)" timed)
V_MEM=$(verdict "$(col lastitem 11)" "$(col nchan 11)")

# cpu LINE: what each part used while the events went out, in % of a core
# and in ms of CPU per trigger; other is the rest of the machine
# (interrupts included), marked ! from $NOISY%.
cpu() {
    echo "$1" | tr ' ' '\n' | awk -F= -v noisy="$NOISY" '
        $1 == "machine_busy_pct" { busy = $2; next }
        $1 == "deliver_s" { secs = $2; next }
        $1 == "good" { good = $2; next }
        $1 ~ /_cpu_pct$/ { n[++k] = $1; sub(/_cpu_pct$/, "", n[k]); v[k] = $2; sum += $2 }
        END {
            for (i = 1; i <= k; i++)
                printf "%s%s %d%% %.1f ms", (i > 1 ? ", " : ""), n[i], v[i],
                    (good > 0 ? v[i] / 100 * secs * 1000 / good : 0)
            o = busy - sum; if (o < 0) o = 0
            printf ", other %d%%%s", o, (o >= noisy ? " !" : "")
        }'
}
CPU=$(for n in $FANOUT_SIZES; do for s in lastitem nchan; do
    printf '             %s %s: %s\n' "$s" "$n" "$(cpu "$(cat "$OUT/$s-$n")")"; done; done)

LIMITS=$(for n in $FANOUT_SIZES; do for s in lastitem nchan; do
    printf '%s %s; ' "$s-$n" "$(cat "$OUT/$s-$n.limits")"; done; done)

{
    echo
    echo "lastitem fan-out bench — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$LI_SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$LI_SRCDIR" diff --quiet HEAD -- fcgi nginx sql 2>/dev/null || echo ' (+ local changes)')"
    echo "machine:  $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "load:     test/sse_fanout, $FANOUT_PROCS processes, epoll; $FANOUT_EVENTS triggers ${FANOUT_INTERVAL_MS} ms apart per row; nginx $("$NGINX_BIN" -v 2>&1 | sed 's|.*/||'), $WORKER_CONNECTIONS connections per worker in both$([ "$WORKER_CONNECTIONS" = "$SHIPPED_CONNECTIONS" ] || echo " (FANOUT_NGINX_CONNECTIONS; nginx/lastitem.conf.in ships $SHIPPED_CONNECTIONS)")"
    echo
    {
        printf 'server\tstreams\tp50\tp99\tmax\tsent p50\tsent p99\tspread p99\tspread max\tmissed\tKiB/stream\tnginx\tdaemon\ttriggers\n'
        cat "$ROWS"
    } | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
          n = NR; if (NF > nf) nf = NF }
        END {
            for (r = 1; r <= n; r++) {
                line = ""
                for (i = 1; i <= nf; i++)
                    line = line sprintf(i == 1 ? "%-" w[i] "s  " : "%" w[i] "s  ", c[r, i])
                sub(/ +$/, "", line); print line
            }
        }'
    echo
    echo "p50 p99 max: ms from the trigger's answer (lastitem: the purchase's 201; nchan: the publisher's answer) to the event's arrival, over every (stream, event) pair"
    echo "sent:        ms from the trigger's request leaving the client (lastitem: includes the purchase itself)"
    echo "spread:      ms from the first stream getting an event to each other stream getting it (the fan-out alone)"
    echo "missed:      streams that lacked any event (lastitem: its item event, or its order in an orders event) or never opened, of all"
    echo "triggers:    purchases answered 201 (nchan: publishes answered 201 or 202), of all"
    echo "KiB/stream:  RSS growth with every stream open over RSS before any, per stream: nginx (all its processes) + daemon for lastitem, nginx for nchan; kernel socket buffers not included"
    echo "cpu:         % of one core each part used from the first trigger to the last arrival, and ms of CPU per trigger"
    echo "             (pool = lastitem-api, pg = PostgreSQL; other = the rest of the machine, ! from ${NOISY}%: that row"
    echo "             measured its neighbours too; the round beside the least other work, of $FANOUT_ROUNDS;"
    echo "             every time and memory figure above is the median of the $FANOUT_ROUNDS rounds)"
    echo "$CPU"
    echo "limits:      error.log lines about worker_connections or descriptors: $LIMITS"
    echo
    echo "targets at $NMAX streams (lastitem no more than nchan in the same run):"
    echo "$V_P99  p99 delivery from the answer  lastitem $(col lastitem 4) ms vs nchan $(col nchan 4) ms"
    echo "$V_SENT  p99 delivery from the request lastitem $(col lastitem 7) ms vs nchan $(col nchan 7) ms"
    echo "$V_SPREAD  p99 spread (fan-out alone)    lastitem $(col lastitem 8) ms vs nchan $(col nchan 8) ms"
    echo "$V_MEM  memory per stream             lastitem $(col lastitem 11) KiB vs nchan $(col nchan 11) KiB"
    echo "  nchan answers its publisher only after writing the message to its own subscribers, so its"
    echo "  'from the answer' times are near or below zero; 'from the request' and 'spread' compare like with like"
    if [ -n "$FAILED" ]; then
        echo "RESULT: FAILED — a stream missed an event or a trigger failed (see above, and $OUT)"
    else
        echo "RESULT: every stream got every event"
    fi
} | tee "$OUT/report.txt"

[ -z "$FAILED" ] || exit 1
if [ -n "$FANOUT_STRICT" ] && { [ "$V_P99" != PASS ] || [ "$V_MEM" != PASS ]; }; then
    exit 1
fi
exit 0
