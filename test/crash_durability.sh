#!/usr/bin/env bash
# Crash durability: PostgreSQL with the settings `make run` uses (its
# defaults: fsync, synchronous_commit and full_page_writes on), stopped with
# `pg_ctl stop -m immediate` (every process quits at once, nothing flushed,
# as in a crash) in the middle of a stampede, then started again: crash
# recovery must bring back every purchase a client was told succeeded.
#
# The test can fail: run with CRASH_DURABLE=0 it gets the tests' fast
# settings (synchronous_commit off, so COMMIT answers before its WAL is
# written), and acknowledged orders go missing after the crash.
. "$LI_SRCDIR/test/lib.sh"

PURCHASES=${CRASH_PURCHASES:-2400}
RATE=${CRASH_RATE:-150}
TEST_PG_DURABLE=${CRASH_DURABLE:-1}
ITEMS="crash-scarce crash-plenty"

test_stack_up --workers 4
ADDR=${BASE_URL#http://}

settings=$(for s in fsync synchronous_commit full_page_writes; do
               echo "$s=$(pg_setting "$s")"; done | paste -sd' ')
diag "PostgreSQL: $settings"
if [ "$TEST_PG_DURABLE" = 1 ]; then
    is "$settings" "fsync=on synchronous_commit=on full_page_writes=on" \
        "the cluster runs with make run's durable settings"
fi

half=$((PURCHASES * 5 / 8))
stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity) VALUES
    ('crash-scarce', 'Crash scarce', $((half / 2)), $((half / 2))),
    ('crash-plenty', 'Crash plenty', $((half * 2)), $((half * 2)))" >/dev/null

"$LI_BUILDDIR/test/chaos_buy" -c 32 -r "$RATE" -p "crash-$$" \
    "$ADDR" "$PURCHASES" $ITEMS >"$TEST_DIR/acks.tsv" 2>"$TEST_DIR/buy.err" &
BUY_PID=$!
TEST_EXTRA_PIDS+=("$BUY_PID")

# The crash comes a third of the way in, while purchases commit.
sleep "$(awk -v n="$PURCHASES" -v r="$RATE" 'BEGIN { printf "%.2f", n / r / 3 }')"
before_crash=$(grep -c $'\t201\t' "$TEST_DIR/acks.tsv")
pg_stop immediate
[ ! -e "$STACK_DIR/pg/data/postmaster.pid" ]
ok $? "PostgreSQL stopped with -m immediate, $before_crash purchases acknowledged by then"
sleep 1
pg_start
grep -q 'automatic recovery in progress' "$STACK_DIR/pg/postgres.log"
ok $? "it started again through crash recovery"

wait "$BUY_PID"
is "$?" 0 "the buyers ran to the end"
is "$(grep -c . "$TEST_DIR/acks.tsv")" "$PURCHASES" "each of the $PURCHASES purchases has its record"

count() {  # count AWK-CONDITION: records matching it
    awk -F'\t' "$1 { n++ } END { print n + 0 }" "$TEST_DIR/acks.tsv"
}
acked=$(count '$7 == 201')
errors=$(count '$7 == 502 || $7 == 503 || $7 == 0')
is "$(count '$7 != 201 && $7 != 409 && $7 != 502 && $7 != 503')" 0 \
    "no status but 201, 409, 502 and 503"

stack_sql "CREATE TABLE public.crash_acks (seq int, item text, strategy text, quantity int,
               buyer text, key text, status int, order_id bigint, code text)" >/dev/null
stack_psql -c "\\copy public.crash_acks FROM '$TEST_DIR/acks.tsv'"
present=$(stack_sql "SELECT count(*) FROM public.crash_acks a JOIN lastitem.orders o
                       ON o.id = a.order_id AND o.item_id = a.item AND o.quantity = a.quantity
                      AND o.buyer = a.buyer AND o.idempotency_key = a.key
                    WHERE a.status = 201")
unacked=$(stack_sql "SELECT count(*) FROM public.crash_acks a JOIN lastitem.orders o
                       ON o.idempotency_key = a.key WHERE a.status <> 201")
diag "acknowledged: $acked ($before_crash before the crash)  present after recovery: $present  lost: $((acked - present))  in-flight errors (503): $errors  committed but unacknowledged: $unacked"
ok $(( errors > 0 ? 0 : 1 )) "the crash hit purchases in flight ($errors answered 503)"
is "$present" "$acked" "every acknowledged purchase is in the database after recovery"
[ "$present" = "$acked" ] || diag "lost (purchase/order): $(stack_sql "SELECT string_agg(a.seq || '/' || a.order_id, ' ' ORDER BY a.seq)
    FROM public.crash_acks a WHERE a.status = 201
     AND NOT EXISTS (SELECT 1 FROM lastitem.orders o WHERE o.id = a.order_id)")"
for item in $ITEMS; do
    is "$(invariant "$item")" ok "the invariant holds for $item"
done
is "$(stack_sql "SELECT count(*) FROM lastitem.orders o
                  WHERE NOT EXISTS (SELECT 1 FROM public.crash_acks a WHERE a.key = o.idempotency_key)")" 0 \
    "every order in the database is one of this run's purchases"

done_testing
