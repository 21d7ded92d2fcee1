#!/usr/bin/env bash
# Without --allow-unsafe the pool refuses the naive strategy, which oversells:
# a purchase asking for it is 403 "forbidden" and changes nothing, the
# configuration does not offer it, and the pool will not start with it as
# its default.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2

# ------------------------------------------------------------ one purchase
before=$(db_snapshot)
post_json /api/items/charizard-1st-ed/purchase '{"strategy":"naive","buyer":"risky"}'
is "$HTTP_STATUS" 403 "a purchase with strategy naive answers 403"
is "$(header Content-Type)" application/problem+json "as problem+json"
is "$(body_json .code)" forbidden "with the code forbidden"
is "$(body_json .status)" 403 "and the status 403 in the body"
is "$(db_snapshot)" "$before" "nothing changed in the database"

# ------------------------------------------------------------ configuration
http GET /api/config
is "$HTTP_STATUS" 200 "GET /api/config answers 200"
is "$(body_json '.strategies | index("naive") // "absent"')" absent \
    "its strategies do not list naive"
is "$(body_json '.strategies | sort | join(",")')" atomic,batched,optimistic,pessimistic \
    "they list the four safe ones"
is "$(body_json .unsafe_allowed)" false "unsafe_allowed is false"

# ------------------------------------------------------------ a stampede
before=$(db_snapshot)
"$LI_SRCDIR/test/stampede" -n 100 -i charizard-1st-ed -s naive -u "$BASE_URL" \
    >"$TEST_DIR/stampede.out" 2>&1
rc=$?
sed 's/^/#   /' "$TEST_DIR/stampede.out"
is "$rc" 1 "the naive stampede fails (nothing sold though the stock allowed one)"
grep -Eq '^ +403 other +100$' "$TEST_DIR/stampede.out"
ok $? "all 100 buyers got 403"
grep -Eq '^ +201 created +0$' "$TEST_DIR/stampede.out"
ok $? "none got 201"
! grep -q OVERSOLD "$TEST_DIR/stampede.out"
ok $? "nothing was oversold"
is "$(db_snapshot)" "$before" "nothing changed in the database"

# The refusal is about naive, not about buying: a safe strategy still sells.
post_json /api/items/charizard-1st-ed/purchase '{"strategy":"pessimistic","buyer":"careful"}'
is "$HTTP_STATUS" 201 "the same purchase with strategy pessimistic answers 201"
is "$(invariant charizard-1st-ed)" ok "the invariant holds"

# ------------------------------------------------------------ the command line
sock=$TEST_DIR/naive.sock
timeout 5 "$LI_BUILDDIR/fcgi/lastitem-api" --listen "$sock" --workers 1 \
    --db "$(stack_app_conninfo)" --strategy naive >"$TEST_DIR/naive.out" 2>&1
is "$?" 2 "lastitem-api --strategy naive without --allow-unsafe exits 2"
grep -q -- '--strategy naive needs --allow-unsafe' "$TEST_DIR/naive.out"
ok $? "saying that --strategy naive needs --allow-unsafe"
! grep -q 'listening on' "$TEST_DIR/naive.out"
ok $? "without ever listening"

done_testing
