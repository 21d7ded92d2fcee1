# compose_stack — docker-compose.yml, for real: the images built from
# debian:12 with podman, the stack brought up with podman-compose on a free
# loopback port under a project name of its own, a sale through the published
# page seen on /api/events, reset refused without the admin token, no
# compiler in the runtime image, the invariant read in the database's own
# container; then everything the test created is removed (the base image and
# the two built images stay, as a cache).
#
# Run by `make check-compose` (not by `make check`: the first run builds
# images for minutes). Skipped only when podman is not installed.
. "$LI_SRCDIR/test/lib.sh"

command -v podman >/dev/null 2>&1 || skip_all "podman is not installed"
for need in podman-compose "$CURL" "$JQ"; do
    command -v "$need" >/dev/null 2>&1 || bail "$need is missing (apt-get install podman-compose curl jq)"
done

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lastitem-$TEST_NAME.XXXXXX") || bail "mktemp"
PROJECT=lastitem-test-$$
COMPOSE=(podman-compose -p "$PROJECT" -f "$LI_SRCDIR/docker-compose.yml")
STREAM_PID=

# What podman holds of the project, by the labels podman-compose sets.
project_objects() {
    podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT"
    podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT"
    podman network ls -q --filter "label=io.podman.compose.project=$PROJECT"
}

# What each container said, into the test's directory, before they go.
save_logs() {
    local id
    for id in $(podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT"); do
        podman logs "$id" >"$TEST_DIR/$(podman inspect -f '{{.Name}}' "$id").log" 2>&1
    done
}

compose_cleanup() {
    local rc=$?
    [ -z "$STREAM_PID" ] || stack_stop_pid "$STREAM_PID"
    save_logs
    "${COMPOSE[@]}" down -v >>"$TEST_DIR/down.log" 2>&1 || true
    # Whatever down left behind (podman-compose 1.0.3 keeps the network).
    local id
    for id in $(podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT"); do
        podman rm -f "$id" >/dev/null 2>&1
    done
    for id in $(podman volume ls -q --filter "label=io.podman.compose.project=$PROJECT"); do
        podman volume rm -f "$id" >/dev/null 2>&1
    done
    for id in $(podman network ls -q --filter "label=io.podman.compose.project=$PROJECT"); do
        podman network rm -f "$id" >/dev/null 2>&1
    done
    if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -eq 0 ]; then
        rm -rf "$TEST_DIR"
    else
        echo "# kept $TEST_DIR for a look at its logs"
    fi
}
trap compose_cleanup EXIT
trap 'exit 1' INT TERM

elapsed() {
    echo "$(( $(date +%s) - $1 )) s"
}

# ---- the images: debian:12 made here when absent, then ours from it
t0=$(date +%s)
how="there already"
podman image exists debian:12 || how="made by debootstrap"
sh "$LI_SRCDIR/scripts/container/base-image.sh" >"$TEST_DIR/base-image.log" 2>&1
ok $? "the base image debian:12 ($how, $(elapsed "$t0"))"
t0=$(date +%s)
podman build -t lastitem-db:latest --target db "$LI_SRCDIR" >"$TEST_DIR/build-db.log" 2>&1
ok $? "podman builds the db image from the Dockerfile"
podman build -t lastitem:latest --target runtime "$LI_SRCDIR" >"$TEST_DIR/build-runtime.log" 2>&1
ok $? "podman builds the runtime image from the Dockerfile ($(elapsed "$t0") for both)"

# ---- the runtime image: the programs, no compiler
out=$(podman run --rm --network none lastitem:latest \
    sh -c 'for c in gcc cc c99 clang tcc; do command -v $c; done; ls /usr/bin | grep -E "gcc|^cc|^ld$"' 2>&1)
is "$out" "" "the runtime image has no compiler and no linker"
podman run --rm --network none lastitem:latest lastitem-api --version >/dev/null 2>&1
ok $? "the runtime image runs lastitem-api"
podman run --rm --network none lastitem:latest lastitem-events --version >/dev/null 2>&1
ok $? "the runtime image runs lastitem-events"

# ---- the file is valid for Docker Compose too (its own schema check)
if command -v docker-compose >/dev/null 2>&1; then
    LASTITEM_ADMIN_TOKEN_FILE=/dev/null docker-compose -f "$LI_SRCDIR/docker-compose.yml" \
        config -q >"$TEST_DIR/docker-compose-config.log" 2>&1
    ok $? "docker-compose config accepts the file"
else
    echo "ok $((TAP_RUN += 1)) - docker-compose config accepts the file # SKIP docker-compose is not installed"
fi

# ---- up, on a free port, with a token of the test's own
TOKEN=compose-$$-$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$TEST_DIR/admin-token"
chmod 600 "$TEST_DIR/admin-token"
PORT=$(stack_free_port) || bail "no free port"
export LASTITEM_PORT=$PORT LASTITEM_ADMIN_TOKEN_FILE=$TEST_DIR/admin-token
export LASTITEM_APP_PASSWORD=app-$RANDOM$RANDOM LASTITEM_EVENTS_PASSWORD=events-$RANDOM$RANDOM
BASE_URL=http://127.0.0.1:$PORT
t0=$(date +%s)
"${COMPOSE[@]}" up -d >"$TEST_DIR/up.log" 2>&1
ok $? "podman-compose up -d (project $PROJECT, port $PORT)"

healthy() {
    http GET /api/health && [ "$HTTP_STATUS" = 200 ] &&
        [ "$(body_json .status)/$(body_json .database)" = ok/ok ]
}
wait_until 180 healthy
ok $? "GET /api/health through the published port is ok/ok ($(elapsed "$t0") after up)"
[ "$TAP_FAILED" -eq 0 ] || bail "the stack is not up: $(tail -3 "$TEST_DIR/up.log")"

container() {  # container SERVICE: the id of the project's container of SERVICE
    podman ps -q --filter "label=io.podman.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1"
}
db_sql() {
    podman exec -u postgres "$(container db)" psql -X -At -v ON_ERROR_STOP=1 -d lastitem -c "$1"
}

# ---- what is published, and how
ports=$(podman ps --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Ports}}' | grep -v '^$')
is "$ports" "127.0.0.1:$PORT->8080/tcp" "only the page is published, on the host's loopback"
uid=$(podman exec "$(container api)" cat /proc/1/status | awk '$1 == "Uid:" { print $2 }')
[ -n "$uid" ] && [ "$uid" != 0 ]
ok $? "the pool does not run as root (uid $uid)"

http GET /
is "$HTTP_STATUS" 200 "GET / serves the page"
http GET /api/config
is "$(body_json .unsafe_allowed)/$(body_json .reset_requires_token)" false/true \
    "naive is off and reset needs the token"

# ---- a sale, seen on the stream
"$CURL" -sN --max-time 60 "$BASE_URL/api/events" >"$TEST_DIR/events.out" 2>/dev/null &
STREAM_PID=$!
wait_until 20 grep -q '^event: snapshot' "$TEST_DIR/events.out"
ok $? "/api/events streams a snapshot"

post_json /api/items/charizard-1st-ed/purchase '{"buyer":"ana"}'
is "$HTTP_STATUS" 201 "buying the last unit: 201"
order_id=$(body_json .order.id)
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"ben"}'
is "$HTTP_STATUS/$(body_json .code)" 409/sold_out "the next buyer: 409 sold_out"

sale_seen() {
    grep '^data:' "$TEST_DIR/events.out" | grep '"charizard-1st-ed"' | grep -q '"quantity":0'
}
wait_until 20 sale_seen
ok $? "the stream shows charizard-1st-ed at 0 left"

is "$(db_sql "SELECT quantity FROM lastitem.items WHERE id = 'charizard-1st-ed'")" 0 \
    "the database holds 0 left"
is "$(db_sql "SELECT count(*) || '/' || string_agg(buyer, ',') FROM lastitem.orders
               WHERE item_id = 'charizard-1st-ed'")" "1/ana" "one order, ana's"
is "$(db_sql "SELECT id FROM lastitem.orders WHERE item_id = 'charizard-1st-ed'")" "$order_id" \
    "the order the 201 named"
is "$(db_sql "SELECT count(*) FROM lastitem.items i
                WHERE i.initial_quantity - i.quantity <>
                      (SELECT coalesce(sum(o.quantity), 0) FROM lastitem.orders o WHERE o.item_id = i.id)")" 0 \
    "the invariant holds for every item: initial - left = ordered"

# ---- reset needs the token
post_json /api/reset ''
is "$HTTP_STATUS/$(body_json .code)" 401/unauthorized "reset without the token: 401"
post_json /api/reset '' -H "Authorization: Bearer wrong-$TOKEN"
is "$HTTP_STATUS" 401 "reset with a wrong token: 401"
is "$(db_sql "SELECT quantity FROM lastitem.items WHERE id = 'charizard-1st-ed'")" 0 \
    "refused resets changed nothing"
post_json /api/reset '' -H "Authorization: Bearer $TOKEN"
is "$HTTP_STATUS" 200 "reset with the token from the secret: 200"
is "$(db_sql "SELECT quantity || '/' || (SELECT count(*) FROM lastitem.orders)
                FROM lastitem.items WHERE id = 'charizard-1st-ed'")" "1/0" \
    "the database is reset: stock back, no orders"

# ---- the data is in the volume: it outlives the db container's restart
post_json /api/items/charizard-1st-ed/purchase '{"buyer":"cy"}'
is "$HTTP_STATUS" 201 "a purchase after the reset: 201"
podman restart "$(container db)" >/dev/null 2>&1
wait_until 120 healthy
ok $? "the stack is healthy again after the db container restarts"
is "$(db_sql "SELECT quantity || '/' || (SELECT string_agg(buyer, ',') FROM lastitem.orders)
                FROM lastitem.items WHERE id = 'charizard-1st-ed'")" "0/cy" \
    "the sale is still there after the restart"

# ---- down: nothing of the project is left
stack_stop_pid "$STREAM_PID"
STREAM_PID=
save_logs
t0=$(date +%s)
"${COMPOSE[@]}" down -v >"$TEST_DIR/down.log" 2>&1
ok $? "podman-compose down -v ($(elapsed "$t0"))"
for id in $(podman network ls -q --filter "label=io.podman.compose.project=$PROJECT"); do
    podman network rm -f "$id" >/dev/null 2>&1
done
is "$(project_objects | tr '\n' ' ')" "" "no container, volume or network of the project is left"
podman image exists lastitem:latest && podman image exists lastitem-db:latest
ok $? "the built images stay, as a cache"

done_testing
