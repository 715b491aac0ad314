#!/usr/bin/env bash
# Builds the ksecbot-VERSION-deps.tar.xz that a release ebuild downloads
# beside the source tarball (go-module.eclass: the module cache as go-mod/,
# so the build needs no network):
#
#   scripts/deps-tarball.sh VERSION [OUTDIR]
#
# It runs `go mod download` into a fresh go-mod/ (taking modules from the
# local module cache first, then from $GOPROXY), checks them with
# `go mod verify`, proves the tarball is complete by listing every package
# of the -tags goolm build with the network off (GOPROXY=off), and packs
# it reproducibly (sorted, owner 0, mtime 0). Upload the file with the
# release as ksecbot-VERSION-deps.tar.xz.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
	echo "usage: $0 VERSION [OUTDIR]" >&2
	exit 64
fi
version=$1
outdir=${2:-.}
out="$(cd "$outdir" && pwd)/ksecbot-$version-deps.tar.xz"

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cache=$(go env GOMODCACHE)
proxy=$(go env GOPROXY)
export GOMODCACHE="$tmp/go-mod" GOFLAGS=-modcacherw
export GOPROXY="file://$cache/cache/download,$proxy"

go mod download
go mod verify >/dev/null
# Complete: every package of the real build resolves without the network.
GOPROXY=off go list -deps -tags goolm ./cmd/ksecbot >/dev/null

# The download cache's VCS checkouts and lock files are not needed.
rm -rf "$GOMODCACHE/cache/vcs"
find "$GOMODCACHE" -name '*.lock' -delete
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	-C "$tmp" -cJf "$out" go-mod
echo "$out ($(du -h "$out" | cut -f1)): $(find "$GOMODCACHE/cache/download" -name '*.zip' | wc -l) modules"
