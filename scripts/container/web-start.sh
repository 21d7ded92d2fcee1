#!/bin/sh
# web-start.sh — the web container's entry point: nginx from the template,
# with the pool and the event daemon at their compose service names.
#
#   public   0.0.0.0:8080 in the container (compose publishes it on the
#            host's loopback only)
#   metrics  127.0.0.1:8081, the container's own loopback: reached with
#            `docker compose exec web`, never published
set -eu

RUN=/run/lastitem
SHARE=/usr/share/lastitem

# nginx resolves upstream names once, at start: wait until the other
# containers have theirs.
i=0
until getent hosts api >/dev/null && getent hosts events >/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || { echo "web-start: api and events have no address" >&2; exit 1; }
    sleep 0.5
done

mkdir -p "$RUN/tmp"
sed -e 's|@USER_LINE@|user nobody nogroup;|' \
    -e 's|^error_log @RUN_DIR@/error.log|error_log /dev/stderr|' \
    -e 's|@LISTEN@|0.0.0.0:8080|' \
    -e 's|@METRICS_LISTEN@|127.0.0.1:8081|' \
    -e "s|@RUN_DIR@|$RUN|g" \
    -e "s|@PUBLIC_DIR@|$SHARE/public|" \
    -e 's|unix:@API_SOCKET@|api:9000|' \
    -e 's|unix:@METRICS_SOCKET@|api:9002|' \
    -e 's|@EVENTS_ADDR@|events:9001|' \
    -e 's|@EVENTS_LIMIT@|limit_conn events_per_address 256;|' \
    -e 's|@HOST_HEADER@|# one host: no X-Lastitem-Host|' \
    "$SHARE/nginx/lastitem.conf.in" >"$RUN/nginx.conf"
exec nginx -p "$RUN" -c "$RUN/nginx.conf" -e /dev/stderr
