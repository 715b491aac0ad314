#!/usr/bin/env bash
# Computes the ebuild's LICENSE line from `go mod` data: ksecbot itself
# (GPL-3+), then the licence of every module linked into the binary (the
# modules of `go list -deps -tags goolm ./cmd/ksecbot`, which is what
# `go mod vendor` and the -deps tarball ship), each read from the LICENSE /
# COPYING files of the module's directory in the module cache
# (`go mod download -json`). C code in a module that its authors put in the
# public domain (the SQLite amalgamation in go-sqlite3) adds public-domain.
# Go's own standard library and runtime, also linked, are BSD.
#
#   scripts/ebuild-license.sh             print the LICENSE= line, and per module why
#   scripts/ebuild-license.sh --check     exit 1 unless every ebuild in
#                                         contrib/gentoo/net-irc/ksecbot has that line
# A licence the script does not recognise is an error naming the file.
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case ${1:-} in
--check) check=true ;;
"") ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 64
	;;
esac

# classify FILE: the Gentoo licence name of one licence text.
classify() {
	local f=$1
	if grep -q 'Apache License' "$f" && grep -q 'Version 2.0' "$f"; then
		echo Apache-2.0
	elif grep -qi 'Mozilla Public License,\? [Vv]ersion 2.0' "$f"; then
		echo MPL-2.0
	elif grep -q 'Permission is hereby granted, free of charge' "$f"; then
		echo MIT
	elif grep -q 'Redistribution and use in source and binary forms' "$f"; then
		if grep -qi 'Neither the name' "$f" || grep -qi 'names of its contributors' "$f"; then
			echo BSD
		else
			echo BSD-2
		fi
	elif grep -q 'Permission to use, copy, modify, and/or distribute this software' "$f"; then
		echo ISC
	else
		return 1
	fi
}

declare -A why=()
why[GPL-3+]="github.com/ksecbot/ksecbot (LICENSE, SPDX GPL-3.0-or-later)"
why[BSD]="the Go standard library and runtime"
mods=$(go list -deps -tags goolm -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}' ./cmd/ksecbot | sort -u)
for m in $mods; do
	dir=$(go mod download -json "$m" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		echo "ebuild-license: no module directory for $m (go mod download failed?)" >&2
		exit 1
	fi
	found=false
	for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING*; do
		[ -f "$f" ] || continue
		if ! lic=$(classify "$f"); then
			echo "ebuild-license: $m: licence of ${f#"$dir"/} not recognised; add it to classify()" >&2
			exit 1
		fi
		why[$lic]="${why[$lic]:+${why[$lic]}, }${m%@*}"
		found=true
	done
	if ! $found; then
		echo "ebuild-license: $m has no LICENSE or COPYING file" >&2
		exit 1
	fi
	# C sources whose authors disclaim copyright (SQLite's blessing).
	if grep -lq 'The author disclaims copyright to this source code' "$dir"/*.c 2>/dev/null; then
		why[public-domain]="${why[public-domain]:+${why[public-domain]}, }${m%@*} (C sources)"
	fi
done

# ksecbot's own licence first, then the others sorted.
line="GPL-3+"
for lic in $(printf '%s\n' "${!why[@]}" | grep -vx 'GPL-3+' | LC_ALL=C sort); do
	line="$line $lic"
done
want="LICENSE=\"$line\""

if ! $check; then
	for lic in GPL-3+ $(printf '%s\n' "${!why[@]}" | grep -vx 'GPL-3+' | LC_ALL=C sort); do
		printf '# %s: %s\n' "$lic" "${why[$lic]}"
	done
	echo "$want"
	exit 0
fi
status=0
for e in contrib/gentoo/net-irc/ksecbot/*.ebuild; do
	got=$(grep '^LICENSE=' "$e" || true)
	if [ "$got" != "$want" ]; then
		echo "ebuild-license: $e has $got; the modules need $want (run scripts/ebuild-license.sh)" >&2
		status=1
	fi
done
exit "$status"
