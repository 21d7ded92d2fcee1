#!/usr/bin/env bash
# The page, in a real browser: Debian's Chromium, headless, driven by
# playwright-core (npm ci at the top of the source tree) from
# test/browser/storefront.mjs, against a stack of its own (PostgreSQL, the
# pool, the event daemon, nginx serving public/). Two pages side by side:
# a purchase in one shows in the other within a second, a stampede from
# curl and one from the page itself, Reset, a double click that buys once,
# the event daemon restarted under the pages, the naive strategy's
# OVERSOLD; then holds: hold, countdown, Confirm; a hold seen as taken in the
# other page and released; a 10 s hold running out and its unit coming back
# live; the admin panel (token asked for, an item added and restocked, the
# limit per buyer); a hold-then-confirm stampede from the page; axe-core
# (npm) over the page with a hold active and the admin panel open, desktop
# and phone-sized. Every database check goes through the invariant helper.
#
# The node script prints "ok - …" lines, numbered here, and asks this
# script, with lines "@ [command, args…]", for what needs the stack's
# processes or the database; see run_command below.
#
# Screenshots of the pages are kept in $LI_BUILDDIR/test/browser-screenshots/.
. "$LI_SRCDIR/test/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
NODE=${NODE:-node}
[ -x "$CHROMIUM" ] || skip_all "no Chromium at $CHROMIUM (Debian package chromium)"
command -v "$NODE" >/dev/null 2>&1 || skip_all "no node (Debian package nodejs)"
# Resolved the way the script will: from the source tree's node_modules, or NODE_PATH.
(cd "$LI_SRCDIR/test/browser" && "$NODE" -e "require.resolve('playwright-core')") >/dev/null 2>&1 ||
    skip_all "playwright-core is not installed (run npm ci in $LI_SRCDIR)"

SHOTS_DIR=$LI_BUILDDIR/test/browser-screenshots
rm -rf "$SHOTS_DIR"
mkdir -p "$SHOTS_DIR" || bail "cannot create $SHOTS_DIR"

test_stack_up --workers 4
test_events_up

ITEM=charizard-1st-ed
TRIES=12   # naive stampedes before giving up on an oversell (see naive_oversells.sh)

# run_command JSON-ARRAY: one request of the node script; answers on its stdin.
run_command() {
    local args out= rc=0 try sold initial
    mapfile -t args < <("$JQ" -r '.[]' <<<"$1")
    case ${args[0]} in
        sql) out=$(stack_sql "${args[1]}" 2>&1) || rc=$? ;;
        invariant) out=$(invariant "${args[1]}" 2>&1) || rc=$? ;;
        purchase)  # purchase ITEM BUYER QUANTITY: through nginx, as curl
            post_json "/api/items/${args[1]}/purchase" \
                "{\"buyer\":\"${args[2]}\",\"quantity\":${args[3]}}"
            out=$HTTP_STATUS ;;
        stampede)
            "$LI_SRCDIR/test/stampede" -u "$BASE_URL" "${args[@]:1}" >"$TEST_DIR/stampede.out" 2>&1 || rc=$?
            out=$(cat "$TEST_DIR/stampede.out") ;;
        events_stop)  # by its pid, and waited for
            events_stop
            out=stopped ;;
        events_start)
            events_start
            wait_until 30 events_db_up || rc=1
            out="pid $EVENTS_PID" ;;
        pool_unsafe)  # the pool again, allowing naive, with an admin token
            pool_stop
            LASTITEM_ADMIN_TOKEN=browser-$$-$RANDOM$RANDOM
            export LASTITEM_ADMIN_TOKEN   # test/stampede --reset needs it too
            pool_start --drain-timeout 5 --workers 4 --allow-unsafe
            out=$LASTITEM_ADMIN_TOKEN ;;
        oversell)  # naive stampedes until one oversells: "SOLD INITIAL TRIES"
            rc=1
            for ((try = 1; try <= TRIES; try++)); do
                "$LI_SRCDIR/test/stampede" -n 200 -i "$ITEM" -s naive -u "$BASE_URL" --reset \
                    >"$TEST_DIR/stampede.out" 2>&1
                initial=$(stack_sql "SELECT initial_quantity FROM lastitem.items WHERE id = '$ITEM'")
                sold=$(stack_sql "SELECT coalesce(sum(quantity), 0) FROM lastitem.orders WHERE item_id = '$ITEM'")
                if [ "$sold" -gt "$initial" ]; then
                    rc=0
                    break
                fi
            done
            out="$sold $initial $try" ;;
        *) out="unknown command ${args[0]}"; rc=127 ;;
    esac
    "$JQ" -nc --arg out "$out" --argjson rc "$rc" '{rc: $rc, out: $out}' >&"$TO_NODE"
}

export BASE_URL SHOTS_DIR CHROMIUM
coproc NODE_PROC { exec "$NODE" "$LI_SRCDIR/test/browser/storefront.mjs" 2>"$TEST_DIR/node.err"; }
# bash forgets a coprocess's descriptors once it ends: keep copies.
NODE_PID=$NODE_PROC_PID
TEST_EXTRA_PIDS+=("$NODE_PID")
exec {FROM_NODE}<&"${NODE_PROC[0]}" {TO_NODE}>&"${NODE_PROC[1]}"

diag "screenshots go to $SHOTS_DIR"
while IFS= read -r line <&"$FROM_NODE"; do
    case $line in
        '@ '*) run_command "${line#@ }" ;;
        'ok - '*) ok 0 "${line#ok - }" ;;
        'not ok - '*) ok 1 "${line#not ok - }" ;;
        '#'*) echo "$line" ;;
        *) echo "# $line" ;;
    esac
done
wait "$NODE_PID"
rc=$?
exec {FROM_NODE}<&- {TO_NODE}>&-
if [ "$rc" -ne 0 ]; then
    diag "storefront.mjs exited with status $rc; its stderr:"
    sed 's/^/#   /' "$TEST_DIR/node.err"
fi
is "$rc" 0 "the browser script ran to its end"
[ "$TAP_RUN" -gt 50 ]
ok $? "it reported its checks ($TAP_RUN)"
diag "screenshots: $(ls "$SHOTS_DIR" | wc -l) PNG files in $SHOTS_DIR"
done_testing
