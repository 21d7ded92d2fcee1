#!/usr/bin/env bash
# A browser with large cookies still gets its event stream (finding 6).
#   * nginx passes the event daemon only what it reads (the request line and
#     Last-Event-ID), not every header of the client's: the daemon takes at
#     most 8 KiB of head, and cookies for the host alone can pass that.
#     Through nginx, /api/events with ~24 KB of cookies and other headers
#     streams (200, a snapshot), where the daemon alone says 431.
#   * Last-Event-ID still reaches it: a client resuming from the newest id,
#     with the same large headers, gets no snapshot, then the next event.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
test_events_up

# Three header lines of ~7.9 KB each (nginx takes lines up to 8 KiB, four
# of them): what a site's cookies and a browser's other headers can come to.
pad() { head -c "$1" /dev/zero | tr '\0' "${2:-c}"; }
BIG=(-H "Cookie: session=$(pad 7800)" -H "Cookie: prefs=$(pad 7800 p)"
     -H "X-Client-Hints: $(pad 7800 h)" -H 'User-Agent: Mozilla/5.0 (big headers)')

# Straight to the daemon, such a head is too large: what nginx used to pass on.
events_tcp_start
SSE_BASE=$EVENTS_TCP_URL sse_open direct "${BIG[@]}"
wait_until 10 grep -q '^HTTP/' "$TEST_DIR/direct.head"
is "$(awk 'NR == 1 { print $2 }' "$TEST_DIR/direct.head")" 431 \
    "the daemon alone refuses ~24 KB of headers (431): the reason nginx must not pass them"

sse_open big "${BIG[@]}"
wait_until 15 sse_has big snapshot
ok $? "through nginx, /api/events with ~24 KB of cookies and headers sends a snapshot"
is "$(awk 'NR == 1 { print $2 }' "$TEST_DIR/big.head")" 200 "… with 200"
grep -qi '^content-type: text/event-stream' "$TEST_DIR/big.head"
ok $? "… as text/event-stream"

# Last-Event-ID still goes along: resuming from the newest id skips the
# snapshot and gets the next event.
events_sync big || diag "the first client did not get the sync event"
last=$(sse_last_id big)
ok "$([ -n "$last" ]; echo $?)" "the stream has event ids (last $last)"
sse_open resumed "${BIG[@]}" -H "Last-Event-ID: $last"
wait_until 15 grep -q '^HTTP/' "$TEST_DIR/resumed.head"
is "$(awk 'NR == 1 { print $2 }' "$TEST_DIR/resumed.head")" 200 "resuming with the large headers: 200"
events_sync resumed
ok $? "… it gets the next event"
is "$(sse_count resumed snapshot)" 0 "… and no snapshot: Last-Event-ID reached the daemon"

done_testing
