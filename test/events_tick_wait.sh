#!/usr/bin/env bash
# A tick waits for nginx to read the last one; a tick that sells an item
# out, or brings stock back, does not (doc/design.md "Ticks wait for nginx").
#   Three streams through nginx never read (test/sse_poke stall), beside
#   one that does. Once nginx has stopped reading the stalled ones (their
#   buffers full), the daemon sees bytes unread on its sockets to nginx:
#   a change that follows another within the second waits for them
#   (lastitem_events_ticks_waited_total rises) and still arrives; a change
#   that sells an item out, and one that brings its stock back, leave
#   without waiting (the counter does not move) and arrive too.
. "$LI_SRCDIR/test/lib.sh"

ITEM=launch-hoodie
test_stack_up --workers 1
# The stalled streams are never dropped here: the daemon keeps what they
# do not read (--max-buffer), so the stall lasts the whole test.
test_events_up --max-buffer 268435456
NGINX_ADDR=${BASE_URL#http://}

# A thousand items with long ids: one UPDATE of them all is a thousand item
# events of some 160 bytes, to fill the stalled streams' buffers quickly.
# Their quantities only fall: stock coming back would make ticks urgent.
stack_sql "INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
           SELECT 'pad-' || lpad(i::text, 60, '0'), 'padding', 100000, 100000
             FROM generate_series(1, 1000) i" >/dev/null
stack_sql "UPDATE lastitem.items SET quantity = 50, initial_quantity = 50 WHERE id = '$ITEM'" >/dev/null

sse_open reader
for k in 1 2 3; do
    "$LI_BUILDDIR/test/sse_poke" stall "$NGINX_ADDR" >"$TEST_DIR/stall$k.out" 2>&1 &
    TEST_EXTRA_PIDS+=("$!")
done
streaming() { [ "$(events_metric lastitem_events_clients)" = 4 ]; }
wait_until 20 streaming
ok $? "four streams through nginx: one reading, three that never read"

waited() { events_metric lastitem_events_ticks_waited_total; }
# pump: changes until the daemon has waited for nginx twice.
pump() {
    stack_sql "UPDATE lastitem.items SET quantity = quantity - 1 WHERE id LIKE 'pad-%'" >/dev/null
    [ "$(waited)" -ge 2 ]
}
wait_until 120 pump
ok $? "once nginx stops reading the stalled streams, ticks wait for it ($(waited))"

# Everything the pump made has reached the reader, and the holds after its
# rushes (at most 2 s) are over.
PAD=pad-$(printf '%060d' 1)
pad_version() { stack_sql "SELECT version FROM lastitem.items WHERE id = '$PAD'"; }
wait_until 30 sse_has_item_version reader "$PAD" "$(pad_version)"
ok $? "the reading stream has every change the pump made"
sleep 2.5

# change NAME SQL: a change of a pad item, and once the reader has it (its
# tick just left, and nginx will not read it all), at once the change SQL
# of the item. Sets WAITED to the ticks that waited meanwhile: the SQL's.
change() {
    local v w
    stack_sql "UPDATE lastitem.items SET quantity = quantity - 1 WHERE id = '$PAD'" >/dev/null
    wait_until 10 sse_has_item_version reader "$PAD" "$(pad_version)" || return 1
    w=$(waited)
    stack_sql "$1" >/dev/null
    v=$(stack_sql "SELECT version FROM lastitem.items WHERE id = '$ITEM'")
    wait_until 10 sse_has_item_version reader "$ITEM" "$v" || return 1
    WAITED=$(( $(waited) - w ))
}

change "UPDATE lastitem.items SET quantity = 40 WHERE id = '$ITEM'"
ok $? "a sale arrives at the reading stream"
is "$WAITED" 1 "… its tick waited for nginx"

change "UPDATE lastitem.items SET quantity = 0 WHERE id = '$ITEM'"
ok $? "selling the item out arrives"
is "$WAITED" 0 "… its tick did not wait"

change "UPDATE lastitem.items SET quantity = 7 WHERE id = '$ITEM'"
ok $? "stock coming back arrives"
is "$WAITED" 0 "… its tick did not wait either"

is "$(sse_data reader item | jq -r "select(.id == \"$ITEM\") | .quantity" | tail -1)" 7 \
    "the reading stream ends on the database's quantity"
sse_alive reader
ok $? "and is still connected"

done_testing
