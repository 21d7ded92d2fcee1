#!/usr/bin/env bash
# The admin token protects reset, and stays secret.
#   * From LASTITEM_ADMIN_TOKEN, then from --admin-token-file: reset without
#     a token, with a wrong one (a prefix, a longer one, another scheme) is
#     401 problem+json and changes nothing; with the right one it is 200.
#   * The token is in no process's arguments (ps), in no environment the
#     kernel shows (/proc/PID/environ of the master and its workers), and
#     in no log of the pool or nginx.
#   * No option takes the token itself.
. "${LI_SRCDIR:?run through make check}/test/lib.sh" || exit 1

test_stack_up --workers 2
TOKEN="tok-$RANDOM$RANDOM-$RANDOM$RANDOM"

http GET /api/config
is "$(body_json .reset_requires_token)" false "without a token, reset is open (and /api/config says so)"

# try_reset WHAT WANT [curl options…]: a reset, its status checked.
try_reset() {
    local what=$1 want=$2
    shift 2
    post_json /api/reset '{}' "$@"
    is "$HTTP_STATUS" "$want" "reset $what: $want"
    if [ "$want" = 401 ]; then
        is "$(header content-type):$(body_json .code)" application/problem+json:unauthorized \
            "  a problem, unauthorized"
    fi
}

# secret_nowhere WHERE: the token shows in no process of the pool, in its
# arguments or its environment, nor in any log.
secret_nowhere() {
    local pids pid found=
    pids="$POOL_PID $(pool_workers | tr '\n' ' ')"
    ok "$([ "$(echo $pids | wc -w)" -ge 3 ]; echo $?)" "$1: the master and its workers are running"
    ps -o args= -p "$(echo $pids | tr ' ' ',')" >"$TEST_DIR/ps.out"
    grep -qF -- "$TOKEN" "$TEST_DIR/ps.out"
    ok $((!$?)) "$1: not in ps -o args of the pool's processes"
    for pid in $pids; do
        tr '\0' '\n' <"/proc/$pid/environ" | grep -qF -- "$TOKEN" && found="$found $pid"
    done
    ok "$([ -z "$found" ]; echo $?)" "$1: not in /proc/PID/environ of any of them${found:+ (found in$found)}"
    grep -rqF -- "$TOKEN" "$STACK_DIR"/*.log "$STACK_DIR"/nginx/*.log
    ok $((!$?)) "$1: in no log"
}

# ------------------------------------------------------------ from the environment

pool_stop
LASTITEM_ADMIN_TOKEN=$TOKEN pool_start --drain-timeout 5
http GET /api/config
is "$(body_json .reset_requires_token)" true "with LASTITEM_ADMIN_TOKEN, /api/config says reset needs it"
grep -q 'reset needs the admin token' "$STACK_DIR/api.log"
ok $? "and the pool says so when it starts"

stack_sql "UPDATE lastitem.items SET quantity = quantity - 1 WHERE id = 'golden-ticket'" >/dev/null
before=$(db_snapshot)
try_reset "without Authorization" 401
ok "$([ -n "$(header www-authenticate)" ]; echo $?)" "  with WWW-Authenticate"
try_reset "with a wrong token" 401 -H "Authorization: Bearer wrong-$TOKEN"
try_reset "with the token less its last byte" 401 -H "Authorization: Bearer ${TOKEN%?}"
try_reset "with the token and one more byte" 401 -H "Authorization: Bearer ${TOKEN}x"
try_reset "with the token twice" 401 -H "Authorization: Bearer $TOKEN$TOKEN"
try_reset "with the token as Basic" 401 -H "Authorization: Basic $TOKEN"
try_reset "with the token in the body" 401 --data-binary "{\"token\":\"$TOKEN\"}"
is "$(db_snapshot)" "$before" "refused resets changed nothing"
secret_nowhere "from the environment"
try_reset "with the right token" 200 -H "Authorization: Bearer $TOKEN"
is "$(stack_sql "SELECT quantity = initial_quantity FROM lastitem.items WHERE id = 'golden-ticket'")" t \
    "and it did reset"
is "$(invariant golden-ticket)" ok "the invariant holds"

# ------------------------------------------------------------ from a file

TOKEN2="file-$RANDOM$RANDOM-$RANDOM$RANDOM"
(umask 077; echo "$TOKEN2" >"$TEST_DIR/admin-token")
pool_stop
pool_start --drain-timeout 5 --admin-token-file "$TEST_DIR/admin-token"
try_reset "with the former token" 401 -H "Authorization: Bearer $TOKEN"
try_reset "with the file's token" 200 -H "Authorization: Bearer $TOKEN2"
TOKEN=$TOKEN2 secret_nowhere "from a file"

# ------------------------------------------------------------ no option for the token

"$LI_BUILDDIR/fcgi/lastitem-api" --help >"$TEST_DIR/help.out" 2>&1
grep -E -e '--[a-z-]*token' "$TEST_DIR/help.out" | grep -v -e '--admin-token-file' >/dev/null
ok $((!$?)) "--help lists no option taking the token but --admin-token-file"
for opt in --token --admin-token=s3cret; do
    "$LI_BUILDDIR/fcgi/lastitem-api" --listen "$TEST_DIR/never.sock" "$opt" s3cret \
        >"$TEST_DIR/opt.out" 2>&1
    is "$?" 2 "lastitem-api $opt refuses to start"
done

done_testing
