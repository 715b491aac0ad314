#!/bin/sh
# Lints the packaging in contrib/ with the linters Debian has:
#   - shellcheck on the OpenRC service (POSIX sh: openrc-run scripts are sh
#     with a #!/sbin/openrc-run shebang, which shellcheck does not know, so
#     the shell is given with -s sh) and its conf.d, and on the ebuilds
#     (bash; SC2034 is off there: the package manager reads those variables);
#   - systemd-analyze verify on the unit, when systemd-analyze works here
#     (in some containers it cannot: that is reported, not a failure);
#   - groff warnings on the man page, xmllint on metadata.xml, if installed;
#   - behaviour: the OpenRC checkconfig function, run in a test shell with
#     the real ksecbot binary ($KSECBOT_BIN, else built with go), prints the
#     problems of a broken configuration and fails; the systemd unit does
#     not restart on exit 64 or 78 and has no ExecStartPre (systemd ignores
#     RestartPreventExitStatus for it); the man page has every section the
#     package promises (command syntax, EXIT STATUS with 64 and 78,
#     ENVIRONMENT with KSECBOT_CONFIG, the HTTP endpoints, the ingest-mail
#     and demo flags, a version and a date); the ebuild installs the kernel
#     CVE records' timer and cron job and depends on git.
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
	if shellcheck -s sh "$here/cron/ksecbot-vulns"; then
		ok "shellcheck -s sh cron/ksecbot-vulns"
	else
		bad "shellcheck -s sh cron/ksecbot-vulns"
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

# systemd units. verify needs the binaries they name: a copy of each unit
# points at a stand-in executable, and man pages are not looked up. Each
# unit must also stay sandboxed: systemd-analyze security's exposure score
# at most 2.0 ("OK").
if need systemd-analyze systemd; then
	mkdir -p "$tmp/unit" "$tmp/bin"
	printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/stand-in"
	chmod 0755 "$tmp/bin/stand-in"
	for u in ksecbot.service ksecbot-vulns.service ksecbot-vulns.timer; do
		sed -e "s|/usr/bin/ksecbot|$tmp/bin/stand-in|g" -e "s|/usr/bin/git|$tmp/bin/stand-in|g" \
			"$here/systemd/$u" >"$tmp/unit/$u"
	done
	for u in ksecbot.service ksecbot-vulns.service; do
		# verify exits 0 on unknown keys and bad values (it only warns): any
		# output counts as a problem.
		if systemd-analyze verify --man=no "$tmp/unit/$u" >"$tmp/verify.log" 2>&1 &&
			[ ! -s "$tmp/verify.log" ]; then
			ok "systemd-analyze verify systemd/$u"
			if systemd-analyze security --offline=yes "$tmp/unit/$u" >"$tmp/security.log" 2>&1 ||
				grep -qi 'overall exposure' "$tmp/security.log"; then
				score=$(sed -n 's/.*[Oo]verall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security.log")
				if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
					ok "systemd-analyze security systemd/$u: exposure $score"
				else
					grep -i 'overall exposure' "$tmp/security.log"
					bad "systemd-analyze security systemd/$u: exposure ${score:-unknown}, want at most 2.0"
				fi
			fi
		elif grep -qiE 'failed to (connect|initialize)|not been booted|System has not|No such file or directory.*(bus|private)' "$tmp/verify.log"; then
			skip "systemd-analyze verify cannot run in this environment:"
			sed 's/^/      /' "$tmp/verify.log"
		else
			cat "$tmp/verify.log"
			bad "systemd-analyze verify systemd/$u"
		fi
	done
else
	skip "systemd-analyze is not available; systemd units not verified"
fi

unit="$here/systemd/ksecbot.service"
# The unit must stop, not restart every RestartSec, on a configuration
# problem (78) or a usage mistake (64).
prevent=$(sed -n 's/^RestartPreventExitStatus=//p' "$unit" | tr ' ' '\n')
if printf '%s\n' "$prevent" | grep -qx 78 && printf '%s\n' "$prevent" | grep -qx 64 &&
	printf '%s\n' "$prevent" | grep -qx 65 &&
	! grep -q '^ExecStartPre=' "$unit"; then
	ok "systemd/ksecbot.service: RestartPreventExitStatus has 64, 65 and 78, no ExecStartPre"
else
	bad "systemd/ksecbot.service: want RestartPreventExitStatus=64 65 78 and no ExecStartPre (its exit status would restart the unit)"
fi

# The ebuild installs what keeps the kernel CVE records current (the
# systemd timer and its service, the cron job) and depends on git, which
# they run.
ebuild="$here/gentoo/net-irc/ksecbot/ksecbot-9999.ebuild"
if grep -q 'systemd_dounit.*contrib/systemd/ksecbot-vulns.service.*contrib/systemd/ksecbot-vulns.timer' "$ebuild" &&
	grep -q '^[[:space:]]*exeinto /etc/cron.hourly' "$ebuild" &&
	grep -q '^[[:space:]]*doexe contrib/cron/ksecbot-vulns' "$ebuild" &&
	sed -n '/^RDEPEND="/,/^"/p' "$ebuild" | grep -q 'dev-vcs/git'; then
	ok "ksecbot-9999.ebuild installs ksecbot-vulns.{service,timer} and the cron job, RDEPEND has dev-vcs/git"
else
	bad "ksecbot-9999.ebuild: want ksecbot-vulns.{service,timer} (systemd_dounit), /etc/cron.hourly/ksecbot-vulns and dev-vcs/git in RDEPEND"
fi

# The OpenRC checkconfig function, in a test shell with openrc-run's
# helpers as stand-ins: on a broken file it must print each problem
# (FILE:LINE: key: problem) and fail; on a good one pass quietly.
bin=${KSECBOT_BIN:-}
if [ -z "$bin" ] && command -v go >/dev/null 2>&1; then
	if (cd "$here/.." && go build -tags goolm -o "$tmp/ksecbot" ./cmd/ksecbot) >"$tmp/build.log" 2>&1; then
		bin=$tmp/ksecbot
	else
		cat "$tmp/build.log"
	fi
fi
if [ -n "$bin" ] && [ -x "$bin" ]; then
	printf '[bugzilla]\nurl = "https://bugs.example.org"\nnot_a_key = 1\n[irc]\nserver = "irc.example.org:6697"\ntls = true\nnick = "9bot"\n' >"$tmp/broken.toml"
	printf 'secret\n' >"$tmp/w.secret"
	chmod 600 "$tmp/w.secret"
	printf '[bugzilla]\nurl = "https://bugs.example.org"\n[http]\nwebhook_secret_file = "w.secret"\n' >"$tmp/good.toml"
	printf '[bugzilla]\nurl = "https://bugs.example.org"\n[http]\nwebhook_secret_file = "missing.secret"\n' >"$tmp/nosecret.toml"
	checkconfig_in_shell() { # CONFIG: runs checkconfig, output and status
		KSECBOT_CONFIG=$1 INITD=$here/openrc/ksecbot.initd BIN=$bin sh -c '
			eerror() { echo "ERROR: $*"; }
			ewarn() { echo "WARN: $*"; }
			einfo() { echo "INFO: $*"; }
			ebegin() { :; }
			eend() { return "${1:-0}"; }
			. "$INITD"
			command=$BIN
			checkconfig' 2>&1
	}
	out=$(checkconfig_in_shell "$tmp/broken.toml")
	rc=$?
	if [ "$rc" != 0 ] &&
		printf '%s\n' "$out" | grep -q "^ERROR: $tmp/broken.toml:3: bugzilla.not_a_key: unknown key" &&
		printf '%s\n' "$out" | grep -q "^ERROR: $tmp/broken.toml:7: irc.nick: .*not a valid IRC nick" &&
		printf '%s\n' "$out" | grep -q "exit status 78"; then
		ok "openrc checkconfig prints the problems of a broken configuration and fails"
	else
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc checkconfig on a broken configuration (status $rc): want each problem and a failure"
	fi
	out=$(checkconfig_in_shell "$tmp/nosecret.toml")
	rc=$?
	if [ "$rc" != 0 ] && printf '%s\n' "$out" | grep -q "^ERROR: .*missing.secret does not exist"; then
		ok "openrc checkconfig reads the secrets (--secrets): a missing secret file fails"
	else
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc checkconfig with a missing secret file (status $rc)"
	fi
	chmod 644 "$tmp/w.secret"
	out=$(checkconfig_in_shell "$tmp/good.toml")
	rc=$?
	if [ "$rc" != 0 ] && printf '%s\n' "$out" | grep -q "chmod 600"; then
		ok "openrc checkconfig refuses a world-readable secret file, as the daemon does"
	else
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc checkconfig with a world-readable secret file (status $rc)"
	fi
	chmod 600 "$tmp/w.secret"
	out=$(checkconfig_in_shell "$tmp/good.toml")
	rc=$?
	if [ "$rc" = 0 ] && ! printf '%s\n' "$out" | grep -q '^ERROR'; then
		ok "openrc checkconfig passes a good configuration"
	else
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc checkconfig on a good configuration (status $rc)"
	fi
else
	bad "no ksecbot binary to test the OpenRC checkconfig with (set KSECBOT_BIN or install go)"
fi

# The man page has every section the package promises.
man="$here/man/ksecbot.1"
missing=""
for want in '^\.SH "CHAT COMMANDS"' '^\.SH "EXIT STATUS"' '^\.SH ENVIRONMENT' 'KSECBOT_CONFIG' \
	'^\.SH "HTTP ENDPOINTS"' '/metrics' '/healthz' 'POST /webhook' \
	'^\.SH "INGEST-MAIL OPTIONS"' '\\-\\-dry\\-run' '\\-\\-url' \
	'^\.SH "DEMO OPTIONS"' '\\-\\-file\\-every' '\\-\\-bugzilla\\-listen' \
	'^\.B 64$' '^\.B 65$' '^\.B 75$' '^\.B 78$' '!claim .*\[\\-\\-force\]' '!snooze' '!stats' \
	'^\.TH KSECBOT 1 [0-9]\{4\}-[0-9][0-9]-[0-9][0-9] "ksecbot [0-9][0-9.]*"'; do
	grep -q -- "$want" "$man" || missing="$missing $want"
done
if [ -z "$missing" ]; then
	ok "man/ksecbot.1 has every promised section (syntax, EXIT STATUS, ENVIRONMENT, HTTP, flags, version, date)"
else
	bad "man/ksecbot.1 lacks:$missing"
fi

# Man page.
if need groff groff-base; then
	if groff -man -ww -z "$here/man/ksecbot.1" 2>"$tmp/groff.log" && [ ! -s "$tmp/groff.log" ]; then
		ok "groff -man -ww man/ksecbot.1"
	else
		cat "$tmp/groff.log"
		bad "groff -man -ww man/ksecbot.1"
	fi
else
	skip "groff is not installed; man/ksecbot.1 not checked"
fi

# logrotate file (parsed in debug mode: nothing is rotated; the su user
# becomes root because this host has no ksecbot user).
if need logrotate logrotate; then
	sed 's/^\([[:space:]]*su\) ksecbot ksecbot$/\1 root root/' "$here/logrotate/ksecbot" >"$tmp/logrotate.conf"
	chmod 0644 "$tmp/logrotate.conf"
	if logrotate --debug --state "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/logrotate.log" 2>&1 &&
		! grep -qi 'error' "$tmp/logrotate.log"; then
		ok "logrotate --debug logrotate/ksecbot"
	else
		cat "$tmp/logrotate.log"
		bad "logrotate --debug logrotate/ksecbot"
	fi
else
	skip "logrotate is not installed; logrotate/ksecbot not checked"
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
