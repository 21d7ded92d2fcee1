#!/usr/bin/env bash
# Changes made behind the API's back stream too: the triggers, not the pool,
# tell the daemon.
#   * An UPDATE of an item's stock from psql streams as one `item` event with
#     the new quantity and a higher version, and the next client's snapshot
#     shows it.
#   * An UPDATE that changes nothing streams nothing.
#   * A reset (lastitem.reset() from psql) streams `reset`, then one `item`
#     event per item with its new stock, each version higher than before.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 1
test_events_up

sse_open a
wait_until 20 sse_has a snapshot
ok $? "a client gets its snapshot"
snap=$(sse_data a snapshot)
v0=$(echo "$snap" | jq '.items[] | select(.id == "golden-ticket") | .version')
is "$v0" "$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'golden-ticket'")" \
    "the snapshot has golden-ticket's version"

# ------------------------------------------------------------ UPDATE from psql
stack_sql "UPDATE lastitem.items SET quantity = 3 WHERE id = 'golden-ticket'" >/dev/null
wait_until 20 sse_has a item
ok $? "an UPDATE from psql streams an item event"
is "$(sse_data a item | jq -c .)" \
    "{\"id\":\"golden-ticket\",\"quantity\":3,\"held\":0,\"initial_quantity\":5,\"max_per_buyer\":null,\"version\":$((v0 + 1))}" \
    "with the new quantity and the version raised by one"
is "$(stack_sql "SELECT version FROM lastitem.items WHERE id = 'golden-ticket'")" \
    "$((v0 + 1))" "the version the database holds"
id1=$(sse_frames a | awk -F'\t' '$1 == "item" { print $2 }')
[[ "$id1" =~ ^[0-9a-f]+-[0-9]+$ ]]
ok $? "the event has an id of the form <run>-<seq> ($id1)"

# Nothing changes, nothing streams: a marker UPDATE after it proves that
# anything the no-op had sent would have arrived first.
stack_sql "UPDATE lastitem.items SET quantity = quantity WHERE id = 'golden-ticket'" >/dev/null
stack_sql "UPDATE lastitem.items SET quantity = 9 WHERE id = 'launch-hoodie'" >/dev/null
wait_until 20 sse_has a item 2
ok $? "the marker UPDATE streams"
is "$(sse_data a item | sed -n 2p | jq -r .id)" launch-hoodie \
    "an UPDATE that changed nothing streamed nothing before it"

sse_open b
wait_until 20 sse_has b snapshot
ok $? "a new client gets a snapshot"
is "$(snapshot_state "$(sse_data b snapshot)")" "$(db_items_state)" \
    "its snapshot shows the psql changes, as the database does"

# ------------------------------------------------------------ reset from psql
before=$(stack_sql "SELECT string_agg(id || '=' || version, ',' ORDER BY id) FROM lastitem.items")
nitems=$(stack_sql "SELECT count(*) FROM lastitem.items")
n0=$(sse_frames a | grep -c .)
stack_sql "SELECT lastitem.reset(7)" >/dev/null
wait_until 20 sse_has a item $((2 + nitems))
ok $? "a reset from psql streams an item event per item"
after=$(sse_frames a | tail -n +$((n0 + 1)))
is "$(echo "$after" | cut -f1 | tr '\n' ' ')" \
    "reset $(printf 'item %.0s' $(seq 1 "$nitems"))" "reset comes first, then the items"
is "$(echo "$after" | awk -F'\t' '$1 == "reset" { print $3 }')" "{}" "reset's data is {}"
is "$(echo "$after" | awk -F'\t' '$1 == "item" { print $3 }' | jq -r '"\(.id)=\(.quantity)"' | sort | tr '\n' ' ')" \
    "$(stack_sql "SELECT string_agg(id || '=7', ' ' ORDER BY id) FROM lastitem.items") " \
    "each item's event has the new stock"
raised=$(echo "$after" | awk -F'\t' '$1 == "item" { print $3 }' |
    jq -r --arg before "$before" '
        ($before | split(",") | map(split("=") | {(.[0]): (.[1] | tonumber)}) | add) as $b
        | select(.version <= $b[.id]) | .id')
is "$raised" "" "each item's version is higher than before the reset"
is "$(echo "$after" | awk -F'\t' '$1 == "item" { print $3 }' | jq -r '"\(.id)/\(.quantity)/\(.version)"' | sort | paste -sd,)" \
    "$(db_items_state)" "and is what the database holds"
ids=$(echo "$after" | awk -F'\t' '$2 != "" { sub(/.*-/, "", $2); print $2 }')
prev=$(sse_frames a | head -n "$n0" | awk -F'\t' '$2 != "" { sub(/.*-/, "", $2); s = $2 } END { print s }')
is "$(echo "$ids" | tr '\n' ' ')" "$(seq $((prev + 1)) $((prev + 1 + nitems)) | tr '\n' ' ')" \
    "their ids go on from the last one, one by one"
is "$(sse_count a snapshot)" 1 "the client got no second snapshot"
ok "$(sse_alive a; echo $?)" "and is still connected"

done_testing
