#!/usr/bin/env bash
# Only nginx's workers reach the pool and the event daemon. Whoever can
# connect to their unix sockets goes around nginx (its limits, its timeouts)
# and can hold every worker of the pool with one idle connection each; so
# another local user must not be able to.
#   * As another local user ($OTHER_USER, none of the stack's groups), a
#     connection to the pool's socket, its metrics socket and the event
#     daemon's socket is refused: Permission denied.
#   * The sockets are 0660 and of nginx's workers' group (we run as root,
#     nginx's workers as $NGINX_USER), in a directory of the stack's user
#     and that group alone; a connection as nginx's workers' user works.
#   * Requests through nginx work: items and health from the pool, metrics
#     from the event daemon, and an event stream.
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

[ "$(id -u)" = 0 ] || skip_all "needs root, to connect as other local users"
command -v setpriv >/dev/null 2>&1 || skip_all "needs setpriv (util-linux)"
OTHER_USER=${OTHER_USER:-nobody}
id "$OTHER_USER" >/dev/null 2>&1 || skip_all "no user $OTHER_USER to try as"
NGINX_USER=${NGINX_USER:-www-data}
NGINX_GROUP=$(id -gn "$NGINX_USER" 2>/dev/null) || skip_all "no user $NGINX_USER for nginx's workers"

test_stack_up --workers 2
test_events_up

# as USER GROUP COMMAND…: COMMAND as another user, with that group alone.
as() {
    local user=$1 group=$2
    shift 2
    (cd / && setpriv --reuid="$user" --regid="$group" --clear-groups -- "$@")
}
connect() {  # connect USER GROUP SOCKET: what connect() said
    as "$1" "$2" "$LI_BUILDDIR/test/unix_connect" "$3" 2>&1
}

other_group=$(id -gn "$OTHER_USER")
for sock in "$STACK_API_SOCK" "$STACK_METRICS_SOCK" "$STACK_EVENTS_SOCK"; do
    name=${sock#"$STACK_DIR"/}
    is "$(connect "$OTHER_USER" "$other_group" "$sock")" "Permission denied" \
        "$OTHER_USER cannot connect to $name"
    is "$(stat -c '%a %U %G' "$sock")" "660 root $NGINX_GROUP" \
        "$name is 0660, root's and nginx's workers' group's ($NGINX_GROUP)"
    is "$(connect "$NGINX_USER" "$NGINX_GROUP" "$sock")" connected \
        "nginx's workers' user ($NGINX_USER) can connect to $name"
done
sock_dir=$(dirname "$STACK_API_SOCK")
is "$(stat -c '%a %U %G' "$sock_dir")" "750 root $NGINX_GROUP" \
    "the sockets' directory is root's, and nginx's workers' group may pass"

# Through nginx, everything answers.
http GET /api/items
is "$HTTP_STATUS" 200 "GET /api/items through nginx (the pool's socket)"
http GET /api/health
is "$HTTP_STATUS" 200 "GET /api/health through nginx (the metrics socket)"
is "$(events_metric lastitem_events_db_up)" 1 "GET /api/events/metrics through nginx (the daemon's socket)"
sse_open s1
wait_until 20 sse_has s1 snapshot
ok $? "an event stream through nginx gets its snapshot"
post_json /api/items/launch-hoodie/purchase '{"buyer":"socket-test"}'
is "$HTTP_STATUS" 201 "a purchase through nginx answers 201"
is "$(invariant launch-hoodie)" ok "the invariant holds"

done_testing
