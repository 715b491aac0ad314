#!/bin/sh
# Lints the packaging in contrib/ with the linters Debian has:
#   - shellcheck on the OpenRC service (POSIX sh: openrc-run scripts are sh
#     with a #!/sbin/openrc-run shebang, which shellcheck does not know, so
#     the shell is given with -s sh) and its conf.d, and on the ebuilds
#     (bash; SC2034 is off there: the package manager reads those variables);
#   - systemd-analyze verify on the unit, when systemd-analyze works here
#     (in some containers it cannot: that is reported, not a failure);
#   - groff warnings on the man page, xmllint on metadata.xml, if installed;
#   - behaviour: the OpenRC start_pre and status, run in a test shell with
#     the real ksecbot binary ($KSECBOT_BIN, else built with go) as the user
#     nobody when run as root, refuse what the daemon refuses (printing each
#     problem) and say why; the systemd unit does
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

# The OpenRC service's start_pre and status, in a test shell with
# openrc-run's helpers as stand-ins (checkpath creates and chowns,
# default_status answers as told) and the real setpriv and ksecbot: as
# root the check runs as the user nobody, as the daemon would run as
# ksecbot. start_pre must refuse, with each problem on eerror and in the
# log, what the daemon refuses, with its exit status; pass a good file
# without creating the database; and status must say why the daemon
# stopped.
bin=${KSECBOT_BIN:-}
if [ -z "$bin" ] && command -v go >/dev/null 2>&1; then
	if (cd "$here/.." && go build -tags goolm -o "$tmp/ksecbot" ./cmd/ksecbot) >"$tmp/build.log" 2>&1; then
		bin=$tmp/ksecbot
	else
		cat "$tmp/build.log"
	fi
fi
svc_user=$(id -un)
svc_group=$(id -gn)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	svc_user=nobody
	svc_group=$(id -gn nobody)
fi
if [ -n "$bin" ] && [ -x "$bin" ]; then
	chmod 0755 "$tmp"
	if [ "$bin" != "$tmp/ksecbot" ]; then
		cp "$bin" "$tmp/ksecbot" && bin=$tmp/ksecbot
	fi
	net='[irc]\nserver = "irc.example.org:6697"\ntls = true\nnick = "ksecbot"\n'
	# shellcheck disable=SC2059 # the formats are the files
	{
		printf '[bugzilla]\nurl = "https://bugs.example.org"\nnot_a_key = 1\n[irc]\nserver = "irc.example.org:6697"\ntls = true\nnick = "9bot"\n' >"$tmp/broken.toml"
		printf "[bugzilla]\nurl = \"https://bugs.example.org\"\n[store]\npath = \"state/ksecbot.db\"\n[http]\nwebhook_secret_file = \"w.secret\"\n$net" >"$tmp/good.toml"
		printf "[bugzilla]\nurl = \"https://bugs.example.org\"\n[http]\nwebhook_secret_file = \"missing.secret\"\n$net" >"$tmp/nosecret.toml"
		printf "[bugzilla]\nurl = \"https://bugs.example.org\"\n[http]\nwebhook_secret_file = \"root.secret\"\n$net" >"$tmp/rootsecret.toml"
		printf '[bugzilla]\nurl = "https://bugs.example.org"\n[store]\npath = "state/ksecbot.db"\n' >"$tmp/nonet.toml"
	}
	chmod 0644 "$tmp"/*.toml
	printf 'secret\n' >"$tmp/w.secret"
	printf 'secret\n' >"$tmp/root.secret"
	chmod 600 "$tmp/w.secret" "$tmp/root.secret"
	chown "$svc_user:$svc_group" "$tmp/w.secret" 2>/dev/null
	# in_shell CONFIG OPTS FUNCTION: runs the service's FUNCTION; prints its
	# output, then "rc=N".
	in_shell() {
		KSECBOT_CONFIG=$1 KSECBOT_OPTS=$2 KSECBOT_USER=$svc_user KSECBOT_GROUP=$svc_group \
			KSECBOT_STATEDIR=$tmp/state KSECBOT_LOGDIR=$tmp/log INITD=$here/openrc/ksecbot.initd BIN=$bin \
			STATUS=${STATUS:-0} sh -c '
			eerror() { echo "ERROR: $*"; }
			ewarn() { echo "WARN: $*"; }
			einfo() { echo "INFO: $*"; }
			ebegin() { :; }
			eend() { return "${1:-0}"; }
			default_status() { return "$STATUS"; }
			checkpath() { # the options the service uses: -d|-f -m MODE -o OWNER PATH
				kind=$1 mode=$3 owner=$5 path=$6
				if [ "$kind" = -d ]; then mkdir -p "$path"; else touch "$path"; fi &&
					chmod "$mode" "$path" && chown "$owner" "$path"
			}
			. "$INITD"
			command=$BIN
			'"$3"'
			echo "rc=$?"' 2>&1
	}
	expect() { # NAME OUTPUT PATTERN...: every pattern is in OUTPUT
		_name=$1 _out=$2
		shift 2
		for _p; do
			if ! printf '%s\n' "$_out" | grep -q -- "$_p"; then
				printf '%s\n' "$_out" | sed 's/^/      /'
				bad "$_name: no line matches: $_p"
				return
			fi
		done
		ok "$_name"
	}
	out=$(in_shell "$tmp/broken.toml" "" start_pre)
	expect "openrc start_pre refuses a broken file: each problem on eerror, exit 78" "$out" \
		"^ERROR: $tmp/broken.toml:3: bugzilla.not_a_key: unknown key" \
		"^ERROR: $tmp/broken.toml:7: irc.nick: .*not a valid IRC nick" \
		"^ERROR: ksecbot (OpenRC): not started: the check as user $svc_user failed with exit status 78" '^rc=78$'
	expect "openrc start_pre writes why to the daemon's log" "$(cat "$tmp/log/ksecbot.log")" \
		"ksecbot (OpenRC): not started: the check as user $svc_user failed with exit status 78" \
		"^$tmp/broken.toml:3: bugzilla.not_a_key: unknown key"
	out=$(STATUS=3 in_shell "$tmp/broken.toml" "" status)
	expect "openrc status of a stopped service says why, from the log" "$out" \
		"^ERROR: .*ksecbot (OpenRC): not started" "^ERROR: $tmp/broken.toml:7: irc.nick" '^rc=3$'
	printf 'time=2026-01-01T00:00:00Z level=INFO msg="ksecbot stopped" failed=false\n' >>"$tmp/log/ksecbot.log"
	out=$(STATUS=3 in_shell "$tmp/broken.toml" "" status)
	if printf '%s\n' "$out" | grep -q '^ERROR'; then
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc status after a clean stop blames an old failure"
	else
		ok "openrc status after a clean stop says nothing more"
	fi
	out=$(in_shell "$tmp/nosecret.toml" "" start_pre)
	expect "openrc start_pre: a missing secret file fails (secrets are read)" "$out" \
		"^ERROR: $tmp/nosecret.toml:4: http.webhook_secret_file: secret file $tmp/missing.secret does not exist" '^rc=78$'
	if [ "$svc_user" = nobody ]; then
		out=$(in_shell "$tmp/rootsecret.toml" "" start_pre)
		expect "openrc start_pre checks as the service user: a secret only root can read fails" "$out" \
			"^ERROR: $tmp/rootsecret.toml:4: http.webhook_secret_file: cannot open secret file: .*permission denied" '^rc=78$'
	else
		skip "openrc start_pre as the service user: needs root (to run the check as nobody)"
	fi
	chmod 644 "$tmp/w.secret"
	out=$(in_shell "$tmp/good.toml" "" start_pre)
	expect "openrc start_pre refuses a world-readable secret file, as the daemon does" "$out" "chmod 600 $tmp/w.secret" '^rc=78$'
	out=$(in_shell "$tmp/good.toml" "--allow-insecure-secrets" start_pre)
	expect "openrc start_pre passes KSECBOT_OPTS to the check (--allow-insecure-secrets: a warning)" "$out" \
		"^WARN: .*w.secret has mode 0644" '^rc=0$'
	chmod 600 "$tmp/w.secret"
	out=$(in_shell "$tmp/good.toml" "--log-levl debug" start_pre)
	expect "openrc start_pre refuses a bad KSECBOT_OPTS (exit 64)" "$out" "unknown flag: --log-levl" \
		"exit status 64 (a usage mistake: check KSECBOT_OPTS" '^rc=64$'
	out=$(in_shell "$tmp/nonet.toml" "" start_pre)
	expect "openrc start_pre refuses a file with no chat network" "$out" "no chat network would run" '^rc=78$'
	mkdir -p "$tmp/state" && : >"$tmp/state/ksecbot.db" && chmod 0666 "$tmp/state/ksecbot.db"
	out=$(in_shell "$tmp/good.toml" "" start_pre)
	expect "openrc start_pre refuses an empty database (exit 65)" "$out" \
		"store.path: the database is corrupted: $tmp/state/ksecbot.db is empty" '^rc=65$'
	rm -f "$tmp/state/ksecbot.db"
	out=$(in_shell "$tmp/good.toml" "" start_pre)
	if printf '%s\n' "$out" | grep -q '^rc=0$' && ! printf '%s\n' "$out" | grep -q '^ERROR' && [ ! -e "$tmp/state/ksecbot.db" ]; then
		ok "openrc start_pre passes a good configuration and creates no database"
	else
		printf '%s\n' "$out" | sed 's/^/      /'
		bad "openrc start_pre on a good configuration"
	fi
else
	bad "no ksecbot binary to test the OpenRC service with (set KSECBOT_BIN or install go)"
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
