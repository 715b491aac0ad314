#!/usr/bin/env bash
# irc-server.sh: the IRC test servers for ksecbot (InspIRCd 3 + Atheme from
# Debian, on 127.0.0.1).
#
#   scripts/irc-server.sh start|stop|status|restart-ircd|stop-ircd|start-ircd
#
# start         install missing packages, render the configs, start inspircd
#               and atheme, wait until services are linked, register the test
#               accounts and write $STATE/env. Idempotent.
# stop          stop exactly the PIDs this script started.
# stop-ircd     kill only inspircd (tests of reconnects); start-ircd brings it
#               back; restart-ircd does both.
#
# Environment (all optional):
#   KSECBOT_TESTSERVERS     base state folder (default ~/.cache/ksecbot-testservers)
#   KSECBOT_IRC_STATE       this instance's folder (default $KSECBOT_TESTSERVERS/irc)
#   KSECBOT_IRC_PORT        lenient client port (6667)
#   KSECBOT_IRC_STRICT_PORT strict (Libera-like flood limits) client port (6668)
#   KSECBOT_IRC_TLS_PORT    TLS client port, self-signed certificate (6697)
#   KSECBOT_IRC_LINK_PORT   server link port for atheme (7000)
#   KSECBOT_IRC_SASL        "off" leaves out InspIRCd's sasl module (tests of
#                           the NickServ IDENTIFY fallback)
#   KSECBOT_IRC_STS         "on" advertises an STS policy (IRCv3 strict
#                           transport security) for the TLS port
# Tests run private instances by setting these to free ports and another
# KSECBOT_IRC_STATE.
#
# Test accounts (password = name + "-pass"): ksecbot alice bob carol observer.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
base=${KSECBOT_TESTSERVERS:-$HOME/.cache/ksecbot-testservers}
state=${KSECBOT_IRC_STATE:-$base/irc}
port=${KSECBOT_IRC_PORT:-6667}
strict_port=${KSECBOT_IRC_STRICT_PORT:-6668}
tls_port=${KSECBOT_IRC_TLS_PORT:-6697}
link_port=${KSECBOT_IRC_LINK_PORT:-7000}
sasl=${KSECBOT_IRC_SASL:-on}
sts=${KSECBOT_IRC_STS:-off}
accounts=(ksecbot alice bob carol observer)

log() { printf 'irc-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_ms() { date +%s%3N; }

alive() { # alive PIDFILE
	[[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

port_open() { # port_open PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local limit=$1 what=$2
	shift 2
	local deadline=$(($(now_ms) + limit * 1000))
	until "$@"; do
		(($(now_ms) < deadline)) || die "timed out after ${limit}s waiting for $what"
		sleep 0.02
	done
}

install_packages() {
	if [[ -x /usr/sbin/inspircd && -x /usr/bin/atheme-services ]]; then
		return
	fi
	log "installing inspircd and atheme-services"
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y inspircd atheme-services
}

render() { # render TEMPLATE OUT
	local drop=()
	if [[ $sasl == off ]]; then
		drop=(-e '/<module name="sasl">/d' -e '/^<sasl /d')
	fi
	sed "${drop[@]}" -e "s#@DIR@#$state#g" -e "s#@PORT@#$port#g" -e "s#@STRICT_PORT@#$strict_port#g" \
		-e "s#@TLS_PORT@#$tls_port#g" -e "s#@LINK_PORT@#$link_port#g" "$1" >"$2"
}

make_cert() {
	[[ -s $state/cert.pem && -s $state/key.pem ]] && return
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$state/key.pem" -out "$state/cert.pem" \
		-days 3650 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
	chmod 600 "$state/key.pem"
}

start_ircd() {
	if alive "$state/inspircd.pid"; then
		return
	fi
	(
		cd "$state"
		ulimit -c 0
		exec /usr/sbin/inspircd --config "$state/inspircd.conf" --nofork --runasroot >>"$state/inspircd.out" 2>&1
	) &
	echo $! >"$state/inspircd.pid"
	wait_for 10 "inspircd on port $port" port_open "$port"
	wait_for 10 "inspircd on port $strict_port" port_open "$strict_port"
	wait_for 10 "inspircd on port $tls_port" port_open "$tls_port"
}

linked() {
	grep -q "finished synching with uplink" "$state/atheme.out" 2>/dev/null
}

start_atheme() {
	if alive "$state/atheme.pid"; then
		return
	fi
	: >"$state/atheme.out"
	(
		cd "$state"
		ulimit -c 0
		exec /usr/bin/atheme-services -n -c "$state/atheme.conf" -D "$state" -l "$state/atheme.log" \
			-p "$state/atheme.pidfile" >>"$state/atheme.out" 2>&1
	) &
	echo $! >"$state/atheme.pid"
	wait_for 20 "atheme to link" linked
}

# register NAME: registers the services account NAME (password NAME-pass)
# over a plain connection; an existing account is fine.
register() {
	local name=$1 line fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$port"
	printf 'NICK %s\r\nUSER %s 0 * :test account\r\n' "$name" "$name" >&"$fd"
	local deadline=$(($(now_ms) + 15000)) sent=0 result=""
	while (($(now_ms) < deadline)) && IFS= read -r -t 15 -u "$fd" line; do
		line=${line%$'\r'}
		case $line in
		PING*) printf 'PONG %s\r\n' "${line#PING }" >&"$fd" ;;
		*" 001 "*)
			printf 'PRIVMSG NickServ :REGISTER %s %s@example.com\r\n' "$name-pass" "$name" >&"$fd"
			sent=1
			;;
		*" 433 "*) result="nick $name in use"; break ;;
		*"is now registered to"* | *"is already registered"*) result=ok; break ;;
		esac
	done
	{ printf 'QUIT :done\r\n' >&"$fd"; } 2>/dev/null || true
	exec {fd}>&-
	[[ $result == ok ]] || die "registering account $name failed (sent=$sent): ${result:-no answer}"
}

write_env() {
	cat >"$state/env.tmp" <<ENV
# written by scripts/irc-server.sh; source it before running tests
export KSECBOT_IRC_ADDR=127.0.0.1:$port
export KSECBOT_IRC_STRICT_ADDR=127.0.0.1:$strict_port
export KSECBOT_IRC_TLS_ADDR=127.0.0.1:$tls_port
export KSECBOT_IRC_CA_FILE=$state/cert.pem
export KSECBOT_IRC_ACCOUNTS="${accounts[*]}"
ENV
	mv "$state/env.tmp" "$state/env"
}

cmd_start() {
	local t0
	t0=$(now_ms)
	install_packages
	mkdir -p "$state"
	if alive "$state/inspircd.pid" && alive "$state/atheme.pid" && [[ -s $state/env ]]; then
		log "already running (state $state)"
		return
	fi
	render "$here/irc/inspircd.conf.in" "$state/inspircd.conf"
	if [[ $sts == on ]]; then
		printf '<module name="ircv3_sts">\n<sts host="localhost" port="%s" duration="300" preload="no">\n' \
			"$tls_port" >>"$state/inspircd.conf"
	fi
	render "$here/irc/atheme.conf.in" "$state/atheme.conf"
	make_cert
	start_ircd
	start_atheme
	local pids=() name
	for name in "${accounts[@]}"; do
		register "$name" &
		pids+=($!)
	done
	local pid
	for pid in "${pids[@]}"; do
		wait "$pid" || die "account registration failed"
	done
	write_env
	log "ready in $(($(now_ms) - t0)) ms; source $state/env"
}

stop_pid() { # stop_pid PIDFILE
	local f=$1 pid
	[[ -s $f ]] || return 0
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
}

cmd_stop() {
	stop_pid "$state/atheme.pid"
	stop_pid "$state/inspircd.pid"
	rm -f "$state/env" "$state/core"
	log "stopped"
}

cmd_stop_ircd() {
	[[ -s $state/inspircd.pid ]] || die "inspircd is not running"
	stop_pid "$state/inspircd.pid"
	rm -f "$state/core"
}

cmd_start_ircd() {
	[[ -s $state/inspircd.conf ]] || die "run start first"
	start_ircd
}

cmd_status() {
	local rc=0
	if alive "$state/inspircd.pid"; then
		echo "inspircd: running (pid $(cat "$state/inspircd.pid"))"
	else
		echo "inspircd: stopped"
		rc=1
	fi
	if alive "$state/atheme.pid"; then
		echo "atheme: running (pid $(cat "$state/atheme.pid"))"
	else
		echo "atheme: stopped"
		rc=1
	fi
	[[ -s $state/env ]] && echo "env: $state/env"
	return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
stop-ircd) cmd_stop_ircd ;;
start-ircd) cmd_start_ircd ;;
restart-ircd)
	cmd_stop_ircd
	cmd_start_ircd
	;;
*)
	echo "usage: $0 start|stop|status|restart-ircd|stop-ircd|start-ircd" >&2
	exit 2
	;;
esac
