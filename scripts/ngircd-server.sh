#!/usr/bin/env bash
# ngircd-server.sh: a second IRC test server for ksecbot, unlike InspIRCd:
# ngIRCd from Debian (no services, no SASL, no account-tag, no
# echo-message), on 127.0.0.1.
#
#   scripts/ngircd-server.sh start|stop|status
#
# start   install ngircd when missing (apt-get), render the config, start it,
#         wait for its port and write $STATE/env. Idempotent.
# stop    stop exactly the PID this script started.
#
# Environment (all optional):
#   KSECBOT_TESTSERVERS    base state folder (default ~/.cache/ksecbot-testservers)
#   KSECBOT_NGIRCD_STATE   this instance's folder (default $KSECBOT_TESTSERVERS/ngircd)
#   KSECBOT_NGIRCD_PORT    client port (default 6680)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base=${KSECBOT_TESTSERVERS:-$HOME/.cache/ksecbot-testservers}
state=${KSECBOT_NGIRCD_STATE:-$base/ngircd}
port=${KSECBOT_NGIRCD_PORT:-6680}

log() { printf 'ngircd-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_ms() { date +%s%3N; }

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_package() {
	[[ -x /usr/sbin/ngircd ]] && return
	log "installing ngircd"
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update
	# the package's own service is not wanted: tests start their instance
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y ngircd
	if [[ -d /run/systemd/system ]]; then
		"${sudo[@]}" systemctl disable --now ngircd 2>/dev/null || true
	fi
}

write_env() {
	cat >"$state/env.tmp" <<ENV
# written by scripts/ngircd-server.sh; source it before running tests
export KSECBOT_NGIRCD_ADDR=127.0.0.1:$port
ENV
	mv "$state/env.tmp" "$state/env"
}

cmd_start() {
	local t0
	t0=$(now_ms)
	install_package
	mkdir -p "$state"
	if alive "$state/ngircd.pid" && [[ -s $state/env ]]; then
		log "already running (state $state)"
		return
	fi
	sed -e "s#@PORT@#$port#g" "$here/irc/ngircd.conf.in" >"$state/ngircd.conf"
	(
		cd "$state"
		exec /usr/sbin/ngircd --nodaemon --config "$state/ngircd.conf" >>"$state/ngircd.out" 2>&1
	) &
	echo $! >"$state/ngircd.pid"
	local deadline=$(($(now_ms) + 10000))
	until port_open "$port"; do
		alive "$state/ngircd.pid" || die "ngircd exited: $(tail -3 "$state/ngircd.out")"
		(($(now_ms) < deadline)) || die "timed out waiting for ngircd on port $port"
		sleep 0.02
	done
	write_env
	log "ready in $(($(now_ms) - t0)) ms; source $state/env"
}

cmd_stop() {
	local f=$state/ngircd.pid pid
	if [[ -s $f ]]; then
		pid=$(cat "$f")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			local i
			for ((i = 0; i < 250; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.02
			done
			if kill -0 "$pid" 2>/dev/null; then
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
		rm -f "$f"
	fi
	rm -f "$state/env"
	log "stopped"
}

cmd_status() {
	if alive "$state/ngircd.pid"; then
		echo "ngircd: running (pid $(cat "$state/ngircd.pid"))"
		[[ -s $state/env ]] && echo "env: $state/env"
		return 0
	fi
	echo "ngircd: stopped"
	return 1
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
