#!/usr/bin/env bash
# orders_index — GET /api/orders reads only the orders it answers with.
#
# With 200,000 orders, every shape of the query (no filter, item_id, before,
# both; any limit) is run exactly as the pool runs it: the same function
# through the same prepared statement, connected as the pool's role, six
# times each, so a worker's session moves on from custom plans to the generic
# one. auto_explain reports the plan of every statement inside the function;
# for every plan that reads lastitem.orders it must be an index scan that
# reads no order it then throws away (no Seq Scan, no "Rows Removed by
# Filter", no more rows than the limit). A rare item whose orders are the
# oldest, an item that sold 60,000 long ago and nothing since, and before=1
# are the cases a scan of the newest-first index with a filter would walk
# (nearly) every order for. Decided by the plans, not a clock.
#
# Then the endpoint must still answer the right pages: compared with a plain
# SELECT, and paged all the way back through one item.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2

# ---- 200,000 orders, written directly (no triggers: nobody listens)
stack_psql <<'SQL' || bail "cannot load the orders"
INSERT INTO lastitem.items (id, name, quantity, initial_quantity)
VALUES ('rare-item', 'Rare', 0, 10), ('stale-item', 'Stale', 0, 60000),
       ('unsold-item', 'Unsold', 5, 5);
SET session_replication_role = replica;
INSERT INTO lastitem.orders (item_id, quantity, buyer, strategy)
SELECT CASE WHEN g <= 10 THEN 'rare-item'
            WHEN g <= 60010 THEN 'stale-item'
            WHEN g % 2 = 0 THEN 'golden-ticket'
            ELSE 'launch-hoodie' END,
       1, 'buyer-' || g, 'atomic'
  FROM generate_series(1, 200000) g;
RESET session_replication_role;
ANALYZE lastitem.items;
ANALYZE lastitem.orders;
SQL
is "$(stack_sql "SELECT count(*) FROM lastitem.orders")" 200000 "200,000 orders loaded"
max_id=$(stack_sql "SELECT max(id) FROM lastitem.orders")
rare_first=$(stack_sql "SELECT min(id) FROM lastitem.orders WHERE item_id = 'rare-item'")

# The shapes: ITEM LIMIT BEFORE, "-" for a parameter the pool sends as NULL.
shapes=(
    "- 50 -"
    "- 500 -"
    "- 50 1"
    "- 500 $((max_id / 2))"
    "- 3 $((rare_first + 5))"
    "rare-item 50 -"
    "stale-item 50 -"
    "stale-item 500 $((rare_first + 30000))"
    "golden-ticket 50 -"
    "golden-ticket 500 -"
    "unsold-item 50 -"
    "rare-item 50 $((rare_first + 5))"
    "rare-item 50 1"
    "golden-ticket 500 $((max_id / 2))"
    "launch-hoodie 50 1"
)

sql_param() {  # the literal psql sends for a parameter, "-" being NULL
    if [ "$1" = - ]; then echo NULL; else echo "'$1'"; fi
}

# ---- the plans: one session, as a worker has it
{
    cat <<'SQL'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_timing = off;
SET auto_explain.log_format = json;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
SET ROLE lastitem_app;
PREPARE orders AS SELECT lastitem.orders_json($1, $2::integer, $3::bigint);
SQL
    for shape in "${shapes[@]}"; do
        read -r item limit before <<<"$shape"
        for run in 1 2 3 4 5 6; do
            echo "\\warn SHAPE $shape"
            echo "EXECUTE orders($(sql_param "$item"), '$limit', $(sql_param "$before"));"
        done
    done
} >"$TEST_DIR/plans.sql"
"$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 "$(stack_admin_conninfo)" \
    -f "$TEST_DIR/plans.sql" >/dev/null 2>"$TEST_DIR/plans.log"
ok $? "every shape runs through the prepared statement, as the pool's role"

# Splits psql's stderr into one line per plan that reads the orders table:
# SHAPE<TAB>JSON. A notice is "…NOTICE:  duration: … plan:" followed by the
# JSON, whose last line is a lone "}" (inside its strings a newline is \n, so
# the lines join into the same JSON on one line).
awk '
    /^SHAPE / { shape = substr($0, 7); next }
    /NOTICE:  duration: .* plan:$/ { injson = 1; buf = ""; next }
    injson {
        buf = buf " " $0
        if ($0 == "}") {
            injson = 0
            if (buf ~ /"Relation Name": "orders"/) print shape "\t" buf
        }
    }
' "$TEST_DIR/plans.log" >"$TEST_DIR/plans.tsv"

for shape in "${shapes[@]}"; do
    read -r item limit before <<<"$shape"
    name="item_id=$item limit=$limit before=$before"
    # Every plan of this shape that reads the orders table, one line each.
    awk -F'\t' -v s="$shape" '$1 == s { print $2 }' "$TEST_DIR/plans.tsv" \
        >"$TEST_DIR/shape.plans"
    n=$(grep -c . "$TEST_DIR/shape.plans")
    is "$n" 6 "$name: 6 runs, each with a plan that reads orders"
    # The scans of orders in those plans that break the rule, described.
    bad=$("$JQ" -r --argjson limit "$limit" '
        [.. | objects | select(."Relation Name"? == "orders")][]
        | select((."Node Type" | IN("Index Scan", "Index Only Scan") | not)
                 or ((."Rows Removed by Filter" // 0) > 0)
                 or (."Actual Rows" * ."Actual Loops" > $limit))
        | "\(."Node Type") using \(."Index Name" // "-"): \(."Actual Rows") rows, \(."Rows Removed by Filter" // 0) filtered out"
        ' "$TEST_DIR/shape.plans" | sort | uniq -c)
    is "$bad" "" "$name: index scans only, reading no order it does not return"
    idx=$("$JQ" -r '[.. | objects | select(."Relation Name"? == "orders") | "\(."Node Type") \(."Index Name" // "")"] | join("+")' \
        "$TEST_DIR/shape.plans" | sort -u | tr '\n' ' ')
    diag "  $name: $idx"
done

# ---- the endpoint answers the right pages
# expected ITEM LIMIT BEFORE: the page as a plain SELECT finds it.
expected() {
    local where="true"
    [ "$1" = - ] || where="$where AND item_id = '$1'"
    [ "$3" = - ] || where="$where AND id < $3"
    stack_sql "SELECT coalesce(string_agg(format('%s/%s/%s', id, item_id, buyer), ',' ORDER BY id DESC), '')
                 FROM (SELECT * FROM lastitem.orders WHERE $where ORDER BY id DESC LIMIT $2) o"
}

for shape in "${shapes[@]}"; do
    read -r item limit before <<<"$shape"
    query="limit=$limit"
    [ "$item" = - ] || query="$query&item_id=$item"
    [ "$before" = - ] || query="$query&before=$before"
    http GET "/api/orders?$query"
    got=$(body_json '[.orders[] | "\(.id)/\(.item_id)/\(.buyer)"] | join(",")')
    is "$HTTP_STATUS/$got" "200/$(expected "$item" "$limit" "$before")" "GET /api/orders?$query: the right page"
done

# Paging back through the rare item, three at a time, finds all ten.
pages=0 all= before=
while :; do
    http GET "/api/orders?item_id=rare-item&limit=3${before:+&before=$before}"
    [ "$HTTP_STATUS" = 200 ] || break
    page=$(body_json '[.orders[].id] | join(",")')
    [ -n "$page" ] || break
    all=$all${all:+,}$page
    before=${page##*,}
    pages=$((pages + 1))
    [ "$pages" -lt 10 ] || break
done
is "$pages/$all" "4/$(stack_sql "SELECT string_agg(id::text, ',' ORDER BY id DESC) FROM lastitem.orders WHERE item_id = 'rare-item'")" \
    "paging back through rare-item: 4 pages, every order once, newest first"

http GET "/api/orders?item_id=no-such-item"
is "$HTTP_STATUS/$(body_json .code)" 404/not_found "orders of an unknown item: still 404"
http GET "/api/orders?item_id=no-such-item&before=5"
is "$HTTP_STATUS/$(body_json .code)" 404/not_found "  … with before too"

done_testing
