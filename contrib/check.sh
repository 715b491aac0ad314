#!/bin/sh
# Lints the packaging in contrib/ with the linters Debian has:
#   - shellcheck on the OpenRC service (POSIX sh: openrc-run scripts are sh
#     with a #!/sbin/openrc-run shebang, which shellcheck does not know, so
#     the shell is given with -s sh) and its conf.d, and on the ebuilds
#     (bash; SC2034 is off there: the package manager reads those variables);
#   - systemd-analyze verify on the unit, when systemd-analyze works here
#     (in some containers it cannot: that is reported, not a failure);
#   - groff warnings on the man page, xmllint on metadata.xml, if installed.
# Installs shellcheck and systemd with apt-get when they are missing and this
# runs as root. Exit status: 0 when every check that could run passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

ok() { printf 'ok    %s\n' "$1"; }
bad() { printf 'FAIL  %s\n' "$1"; fail=1; }
skip() { printf 'skip  %s\n' "$1"; }

need() { # need COMMAND DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		printf 'installing %s\n' "$2"
		apt-get install -y "$2" >"$tmp/apt.log" 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y "$2" >"$tmp/apt.log" 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1
}

# OpenRC service and its conf.d.
if need shellcheck shellcheck; then
	head -n 1 "$here/openrc/ksecbot.initd" | grep -qx '#!/sbin/openrc-run' ||
		bad "openrc/ksecbot.initd: first line is not #!/sbin/openrc-run"
	if shellcheck -s sh "$here/openrc/ksecbot.initd" "$here/openrc/ksecbot.confd"; then
		ok "shellcheck -s sh openrc/ksecbot.initd openrc/ksecbot.confd"
	else
		bad "shellcheck -s sh openrc/ksecbot.initd openrc/ksecbot.confd"
	fi
	for e in "$here"/gentoo/*/*/*.ebuild; do
		rel=${e#"$here"/}
		if shellcheck -s bash -e SC2034 "$e"; then
			ok "shellcheck -s bash $rel"
		else
			bad "shellcheck -s bash $rel"
		fi
	done
else
	bad "shellcheck is not installed (apt-get install shellcheck)"
fi

# systemd unit. verify needs the binaries it names: a copy of the unit
# points at a stand-in executable, and man pages are not looked up.
unit="$here/systemd/ksecbot.service"
if need systemd-analyze systemd; then
	mkdir -p "$tmp/unit" "$tmp/bin"
	printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/ksecbot"
	chmod 0755 "$tmp/bin/ksecbot"
	sed "s|/usr/bin/ksecbot|$tmp/bin/ksecbot|g" "$unit" >"$tmp/unit/ksecbot.service"
	# verify exits 0 on unknown keys and bad values (it only warns): any
	# output counts as a problem.
	if systemd-analyze verify --man=no "$tmp/unit/ksecbot.service" >"$tmp/verify.log" 2>&1 &&
		[ ! -s "$tmp/verify.log" ]; then
		ok "systemd-analyze verify systemd/ksecbot.service"
		if systemd-analyze security --offline=yes "$tmp/unit/ksecbot.service" >"$tmp/security.log" 2>&1; then
			printf '      %s\n' "$(grep -i 'overall exposure' "$tmp/security.log")"
		fi
	elif grep -qiE 'failed to (connect|initialize)|not been booted|System has not|No such file or directory.*(bus|private)' "$tmp/verify.log"; then
		skip "systemd-analyze verify cannot run in this environment:"
		sed 's/^/      /' "$tmp/verify.log"
	else
		cat "$tmp/verify.log"
		bad "systemd-analyze verify systemd/ksecbot.service"
	fi
else
	skip "systemd-analyze is not available; systemd/ksecbot.service not verified"
fi

# Man page.
if command -v groff >/dev/null 2>&1; then
	if groff -man -ww -z "$here/man/ksecbot.1" 2>"$tmp/groff.log" && [ ! -s "$tmp/groff.log" ]; then
		ok "groff -man -ww man/ksecbot.1"
	else
		cat "$tmp/groff.log"
		bad "groff -man -ww man/ksecbot.1"
	fi
else
	skip "groff is not installed; man/ksecbot.1 not checked"
fi

# metadata.xml.
if need xmllint libxml2-utils; then
	if xmllint --noout "$here"/gentoo/*/*/metadata.xml; then
		ok "xmllint gentoo/*/*/metadata.xml"
	else
		bad "xmllint gentoo/*/*/metadata.xml"
	fi
else
	skip "xmllint is not installed; metadata.xml not checked (apt-get install libxml2-utils)"
fi

if [ "$fail" = 0 ]; then
	echo "contrib: all checks that could run passed"
else
	echo "contrib: some checks FAILED"
fi
exit "$fail"
