#!/usr/bin/env bash
# Cross-site requests cannot change anything (finding 4).
#   * Every request that changes something (POST today, any method but GET
#     and HEAD) needs Content-Type: application/json even with no body; a
#     POST with no body and no type, or a form's type, is 415 problem+json
#     and changes nothing. An HTML form on another site can send only
#     those; application/json from another site needs a CORS preflight the
#     API never grants.
#   * A request a browser marks as cross-site (Sec-Fetch-Site: cross-site),
#     or whose Origin is not the request's own scheme://host:port, is 403
#     problem+json, code forbidden, and changes nothing, even with the
#     right type; reads (GET, HEAD) from anywhere still answer.
#   * The page's own requests (same Origin, same-origin, same-site, none;
#     an https Origin when a TLS proxy in front says X-Forwarded-Proto:
#     https) and clients that send neither header (curl, scripts) go
#     through.
# Reset is open in this stack (no admin token), as in `make run` without one:
# the worst case, where a form could otherwise empty the shop's orders.
. "$LI_SRCDIR/test/lib.sh"

test_stack_up --workers 2
ITEM=/api/items/launch-hoodie
PURCHASE=$ITEM/purchase
SELF=$BASE_URL              # http://127.0.0.1:PORT, as curl sends Host

# refused WHAT STATUS CODE BEFORE: the last answer was STATUS problem+json
# with CODE, and the database is still as BEFORE.
refused() {
    is "$HTTP_STATUS:$(header content-type):$(body_json .code)" \
        "$2:application/problem+json:$3" "$1: $2 $3"
    is "$(db_snapshot)" "$4" "$1: changes nothing in the database"
}

# A first order, so that a reset would change something.
post_json "$PURCHASE" '{"buyer":"first"}'
is "$HTTP_STATUS" 201 "a purchase with application/json: 201"
before=$(db_snapshot)

# ------------------------------------------------ the type, even with no body
# What <form method=post action=…/purchase> with no fields sends.
http POST "$PURCHASE"
refused "POST purchase, no body, no Content-Type" 415 unsupported_media_type "$before"
diag "$(body_json .detail)"
http POST "$PURCHASE" -H 'Content-Type: application/x-www-form-urlencoded' -H 'Content-Length: 0'
refused "POST purchase, no body, a form's type" 415 unsupported_media_type "$before"
http POST "$PURCHASE" -H 'Content-Type: text/plain' -H 'Content-Length: 0'
refused "POST purchase, no body, text/plain" 415 unsupported_media_type "$before"
http POST "$PURCHASE" --data-urlencode 'buyer=mallory'
refused "POST purchase, a form's body" 415 unsupported_media_type "$before"
http POST /api/reset
refused "POST reset, no body, no Content-Type" 415 unsupported_media_type "$before"
http POST /api/reset -H 'Content-Type: multipart/form-data; boundary=x' -H 'Content-Length: 0'
refused "POST reset, multipart, no body" 415 unsupported_media_type "$before"

# ------------------------------------------------ browsers' cross-site marks
http POST "$PURCHASE" -H 'Content-Type: application/json' -H 'Sec-Fetch-Site: cross-site'
refused "POST purchase, Sec-Fetch-Site: cross-site" 403 forbidden "$before"
case $(body_json .detail) in
    *"cross-site requests are refused"*) ok 0 "the detail says cross-site requests are refused" ;;
    *) ok 1 "the detail says cross-site requests are refused (got '$(body_json .detail)')" ;;
esac
post_json "$PURCHASE" '{"buyer":"mallory"}' -H 'Origin: https://evil.example'
refused "POST purchase with a body, Origin of another site" 403 forbidden "$before"
post_json "$PURCHASE" '{"buyer":"mallory"}' -H "Origin: ${SELF%:*}:1"
refused "POST purchase, Origin of another port" 403 forbidden "$before"
post_json "$PURCHASE" '{"buyer":"mallory"}' -H "Origin: https://${SELF#http://}"
refused "POST purchase, Origin of another scheme" 403 forbidden "$before"
post_json "$PURCHASE" '{"buyer":"mallory"}' -H 'Origin: null'
refused "POST purchase, Origin: null (a sandboxed frame)" 403 forbidden "$before"
post_json "$PURCHASE" '{"buyer":"mallory"}' -H "Origin: $SELF" -H 'Sec-Fetch-Site: cross-site'
refused "POST purchase, our Origin but Sec-Fetch-Site: cross-site" 403 forbidden "$before"
http POST /api/reset -H 'Content-Type: application/json' -H 'Origin: https://evil.example'
refused "POST reset, Origin of another site" 403 forbidden "$before"
http POST /api/reset -H 'Content-Type: application/json' -H 'Sec-Fetch-Site: cross-site'
refused "POST reset, Sec-Fetch-Site: cross-site" 403 forbidden "$before"
http POST /api/reset -H 'Origin: https://evil.example'
refused "POST reset, another site, no type: 403 first" 403 forbidden "$before"
http DELETE "$ITEM" -H 'Origin: https://evil.example'
is "$HTTP_STATUS" 405 "DELETE of an item (no such route) stays 405"

# Reads from anywhere still answer: there is nothing to protect in them.
http GET "$ITEM" -H 'Origin: https://evil.example' -H 'Sec-Fetch-Site: cross-site'
is "$HTTP_STATUS" 200 "GET from another site: 200"
http HEAD /api/items -H 'Sec-Fetch-Site: cross-site'
is "$HTTP_STATUS" 200 "HEAD from another site: 200"

# ------------------------------------------------ what must go through
post_json "$PURCHASE" '{"buyer":"page"}' -H "Origin: $SELF" -H 'Sec-Fetch-Site: same-origin'
is "$HTTP_STATUS" 201 "the page's own purchase (same Origin, same-origin): 201"
post_json "$PURCHASE" '{"buyer":"sibling"}' -H 'Sec-Fetch-Site: same-site'
is "$HTTP_STATUS" 201 "Sec-Fetch-Site: same-site, no Origin: 201"
http POST "$PURCHASE" -H 'Content-Type: application/json' -H 'Sec-Fetch-Site: none'
is "$HTTP_STATUS" 201 "no body with application/json, Sec-Fetch-Site: none: 201"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'anonymous'")" 1 \
    "… one order of anonymous in the database"
post_json "$PURCHASE" '{"buyer":"behind-tls"}' -H "Origin: https://${SELF#http://}" \
    -H 'X-Forwarded-Proto: https'
is "$HTTP_STATUS" 201 "behind a TLS proxy (X-Forwarded-Proto: https), the https Origin: 201"
post_json "$PURCHASE" '{"buyer":"localhost"}' \
    -H "Host: localhost:${SELF##*:}" -H "Origin: http://localhost:${SELF##*:}"
is "$HTTP_STATUS" 201 "Origin matching another Host the same server answers to: 201"
is "$(stack_sql "SELECT count(*) FROM lastitem.orders WHERE buyer = 'mallory'")" 0 \
    "no order of mallory in the database"
is "$(invariant launch-hoodie)" ok "the invariant holds"

http POST /api/reset -H 'Content-Type: application/json' -H "Origin: $SELF"
is "$HTTP_STATUS" 200 "the page's own reset, no body, application/json: 200"
is "$(stack_sql 'SELECT count(*) FROM lastitem.orders')" 0 "… and it did reset"

done_testing
