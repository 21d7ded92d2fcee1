#!/bin/sh
# base-image.sh — makes the image debian:12 that the Dockerfile starts from,
# on a machine that reaches a Debian mirror but no image registry: a minimal
# bookworm made by debootstrap and imported into podman. Does nothing when
# the image exists already.
#
#   container/base-image.sh [MIRROR]
#
# MIRROR defaults to the first Debian mirror of this machine's apt sources.
set -eu

if podman image exists debian:12; then
    exit 0
fi
command -v debootstrap >/dev/null ||
    { echo "base-image: install the Debian package debootstrap" >&2; exit 1; }

mirror=${1:-}
if [ -z "$mirror" ]; then
    # deb822 sources (URIs: …) or one-line ones (deb URL bookworm …).
    mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
             awk '$1 == "URIs:" && $2 !~ /security/ { print $2; exit }')
    [ -n "$mirror" ] ||
        mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                 awk '$1 == "deb" && $2 !~ /^\[/ && $2 !~ /security/ { print $2; exit }')
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/lastitem-debian12.XXXXXX")
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
# The packages debootstrap fetched are not part of the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import - debian:12 >/dev/null
echo "base-image: made debian:12" >&2
