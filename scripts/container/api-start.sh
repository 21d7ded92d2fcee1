#!/bin/sh
# api-start.sh — the api container's entry point: lastitem-api, with reset
# protected by the admin token of the compose secret admin_token.
#
# A secret is a file bind-mounted from the host with the host's owner and
# mode (0600 as it should be), so only root can read it here: it is copied to
# a file that only the user lastitem may read, and the pool runs as lastitem.
set -eu

SECRET=/run/secrets/admin_token
TOKEN=/run/lastitem/admin-token

if [ ! -s "$SECRET" ]; then
    echo "api-start: no admin token in $SECRET: create the file that" \
         "docker-compose.yml names (./run/admin-token by default), e.g." \
         "head -c 32 /dev/urandom | base64 > run/admin-token" >&2
    exit 1
fi
mkdir -p /run/lastitem
install -o lastitem -g lastitem -m 0400 "$SECRET" "$TOKEN"

exec setpriv --reuid lastitem --regid lastitem --init-groups -- \
    lastitem-api --admin-token-file "$TOKEN" "$@"
