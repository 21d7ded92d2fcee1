# purchase_outcomes_agree — every outcome text the SQL purchase functions
# (and the hold and item functions, which answer with the same row) can
# return is a row of the pool's one outcome table (PURCHASE_OUTCOME_LIST in
# fcgi/api/purchase_outcome.h), and every row with an SQL text is one the SQL
# returns. C cannot be derived from SQL, so this is where the two lists are
# held together: an outcome added on one side only fails here, not in a
# purchase that the pool would answer 503.
. "$LI_SRCDIR/test/lib.sh"

sql_files=("$LI_SRCDIR/sql/strategies.sql" "$LI_SRCDIR/sql/holds.sql"
           "$LI_SRCDIR/sql/items_admin.sql" "$LI_SRCDIR/sql/batched.sql")
c_file=$LI_SRCDIR/fcgi/api/purchase_outcome.h

# SQL: `r.outcome := 'x'` and `ROW('x', …)::lastitem.purchase_outcome`.
sql_outcomes=$( { cat "${sql_files[@]}" | grep -oE "outcome := '[a-z_]+'" | grep -oE "'[a-z_]+'";
                  cat "${sql_files[@]}" | grep -oE "ROW\('[a-z_]+'" | grep -oE "'[a-z_]+'"; } |
                tr -d "'" | sort -u | tr '\n' ' ')
# C: X(ID, "sql", "label", PROBLEM) rows whose SQL text is not NULL.
c_outcomes=$(grep -oE 'X\([A-Z_]+, +"[a-z_]+"' "$c_file" | grep -oE '"[a-z_]+"' |
             tr -d '"' | sort -u | tr '\n' ' ')

[ -n "$sql_outcomes" ]; ok $? "the SQL returns outcomes ($sql_outcomes)"
[ -n "$c_outcomes" ]; ok $? "the C table has outcomes with an SQL text ($c_outcomes)"
is "$c_outcomes" "$sql_outcomes" "the C table and the SQL functions name the same outcomes"
done_testing
