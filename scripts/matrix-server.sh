#!/usr/bin/env bash
# matrix-server.sh: the Matrix test homeserver for ksecbot's tests.
#
#   scripts/matrix-server.sh start   # build (once) and start Dendrite v0.13.8, create test accounts
#   scripts/matrix-server.sh stop    # stop it (by PID)
#   scripts/matrix-server.sh status  # print whether it runs, and the env file
#
# State lives in ${KSECBOT_TESTSERVERS:-$HOME/.cache/ksecbot-testservers}/matrix:
# the signing key, dendrite.yaml, the SQLite databases (data/), the log, the PID
# file and "env", which tests read:
#   KSECBOT_MATRIX_URL      client-server API base URL
#   KSECBOT_MATRIX_SECRET   registration shared secret
#   KSECBOT_MATRIX_DENDRITE the dendrite binary (tests may run their own instance)
#   KSECBOT_MATRIX_CONFIG   dendrite.yaml; its data directory is KSECBOT_MATRIX_DATA
#   KSECBOT_MATRIX_DATA     the data directory named in dendrite.yaml
#   KSECBOT_MATRIX_EPOCH    changes whenever the server DB is reset: client crypto
#                           DBs kept across test runs must be reset when it changes
#   KSECBOT_MATRIX_USERS    "name:password" pairs of the accounts created here
# Settings (environment):
#   KSECBOT_MATRIX_PORT     client port on 127.0.0.1; when unset, the first free
#                           one of 8008 and 18008-18108. A set port that is taken
#                           is an error, so a shared machine's other servers are
#                           never used by mistake.
# The binaries are built with `go install` into $(go env GOPATH)/bin, outside the
# clone, so later runs reuse them.
set -euo pipefail

DENDRITE_VERSION=v0.13.8
SHARED_SECRET=complement
ROOT=${KSECBOT_TESTSERVERS:-$HOME/.cache/ksecbot-testservers}
STATE=$ROOT/matrix
PIDFILE=$STATE/dendrite.pid
ENVFILE=$STATE/env
# Accounts created for tests: name:password.
ACCOUNTS=(ksecbot:pw-ksecbot-123456 alice:pw-alice-123456 observer:pw-observer-123456)

log() { printf 'matrix-server: %s\n' "$*" >&2; }

gobin() {
	local gopath
	gopath=$(go env GOPATH)
	printf '%s/bin\n' "${gopath%%:*}"
}

running() {
	[[ -f $PIDFILE ]] || return 1
	local pid
	pid=$(<"$PIDFILE")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local p
	if [[ -n ${KSECBOT_MATRIX_PORT:-} ]]; then
		if ! [[ $KSECBOT_MATRIX_PORT =~ ^[0-9]+$ ]] || ((KSECBOT_MATRIX_PORT < 1 || KSECBOT_MATRIX_PORT > 65535)); then
			log "KSECBOT_MATRIX_PORT=$KSECBOT_MATRIX_PORT is not a port number (1-65535)"
			return 1
		fi
		if ! port_free "$KSECBOT_MATRIX_PORT"; then
			log "KSECBOT_MATRIX_PORT=$KSECBOT_MATRIX_PORT: the port is in use; choose a free one"
			return 1
		fi
		printf '%s\n' "$KSECBOT_MATRIX_PORT"
		return 0
	fi
	for p in 8008 $(seq 18008 18108); do
		if port_free "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	log "no free port"
	return 1
}

build() {
	local bin
	bin=$(gobin)
	if [[ -x $bin/dendrite && -x $bin/generate-keys && -x $bin/generate-config ]]; then
		return 0
	fi
	log "building dendrite $DENDRITE_VERSION into $bin (takes about 2 minutes cold)"
	CGO_ENABLED=1 GOBIN=$bin go install \
		"github.com/matrix-org/dendrite/cmd/dendrite@$DENDRITE_VERSION" \
		"github.com/matrix-org/dendrite/cmd/generate-keys@$DENDRITE_VERSION" \
		"github.com/matrix-org/dendrite/cmd/generate-config@$DENDRITE_VERSION"
}

configure() {
	local bin=$1
	mkdir -p "$STATE/data"
	if [[ ! -f $STATE/matrix_key.pem ]]; then
		"$bin/generate-keys" -private-key "$STATE/matrix_key.pem" >/dev/null
	fi
	if [[ ! -f $STATE/dendrite.yaml ]]; then
		"$bin/generate-config" -ci -dir "$STATE/data" | sed \
			-e "s#private_key: matrix_key.pem#private_key: $STATE/matrix_key.pem#" \
			-e 's/disable_federation: false/disable_federation: true/' \
			-e 's/registration_disabled: false/registration_disabled: true/' \
			-e 's/  level: trace/  level: warn/' >"$STATE/dendrite.yaml.tmp"
		mv "$STATE/dendrite.yaml.tmp" "$STATE/dendrite.yaml"
		# A new server DB: client crypto DBs from an older one are invalid.
		date +%s%N >"$STATE/epoch"
	fi
	[[ -f $STATE/epoch ]] || date +%s%N >"$STATE/epoch"
}

wait_ready() {
	local url=$1 i
	for ((i = 0; i < 400; i++)); do
		if curl -fsS -o /dev/null "$url/_matrix/client/versions" 2>/dev/null; then
			return 0
		fi
		if ! running; then
			log "dendrite exited; see $STATE/dendrite.log"
			tail -n 20 "$STATE/dendrite.log" >&2 || true
			return 1
		fi
		sleep 0.05
	done
	log "dendrite did not answer within 20 s; see $STATE/dendrite.log"
	return 1
}

# register NAME PASSWORD: shared-secret registration; an existing account is fine.
register() {
	local url=$1 user=$2 pass=$3 nonce mac body code
	nonce=$(curl -fsS "$url/_synapse/admin/v1/register" | sed -n 's/.*"nonce":"\([^"]*\)".*/\1/p')
	[[ -n $nonce ]] || { log "no registration nonce"; return 1; }
	mac=$(printf '%s\0%s\0%s\0notadmin' "$nonce" "$user" "$pass" |
		openssl dgst -sha1 -hmac "$SHARED_SECRET" | sed 's/^.*= //')
	body=$(printf '{"nonce":"%s","username":"%s","password":"%s","admin":false,"mac":"%s","inhibit_login":true}' \
		"$nonce" "$user" "$pass" "$mac")
	code=$(curl -sS -o "$STATE/register.out" -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "$body" "$url/_synapse/admin/v1/register")
	if [[ $code == 200 ]] || grep -q M_USER_IN_USE "$STATE/register.out"; then
		return 0
	fi
	log "registering $user failed (HTTP $code): $(cat "$STATE/register.out")"
	return 1
}

start() {
	local bin port url pid a
	if running; then
		log "already running (pid $(<"$PIDFILE"))"
		cat "$ENVFILE"
		return 0
	fi
	build
	bin=$(gobin)
	configure "$bin"
	port=$(pick_port)
	url=http://127.0.0.1:$port
	(
		cd "$STATE"
		exec "$bin/dendrite" --config "$STATE/dendrite.yaml" --http-bind-address "127.0.0.1:$port" \
			>"$STATE/dendrite.log" 2>&1
	) &
	pid=$!
	printf '%s\n' "$pid" >"$PIDFILE"
	wait_ready "$url"
	local users=()
	for a in "${ACCOUNTS[@]}"; do
		register "$url" "${a%%:*}" "${a#*:}"
		users+=("$a")
	done
	{
		printf 'KSECBOT_MATRIX_URL=%s\n' "$url"
		printf 'KSECBOT_MATRIX_SECRET=%s\n' "$SHARED_SECRET"
		printf 'KSECBOT_MATRIX_DENDRITE=%s\n' "$bin/dendrite"
		printf 'KSECBOT_MATRIX_CONFIG=%s\n' "$STATE/dendrite.yaml"
		printf 'KSECBOT_MATRIX_DATA=%s\n' "$STATE/data"
		printf 'KSECBOT_MATRIX_EPOCH=%s\n' "$(<"$STATE/epoch")"
		printf 'KSECBOT_MATRIX_USERS="%s"\n' "${users[*]}"
	} >"$ENVFILE.tmp"
	mv "$ENVFILE.tmp" "$ENVFILE"
	log "dendrite running at $url (pid $pid)"
	cat "$ENVFILE"
}

stop() {
	local pid i
	if [[ ! -f $PIDFILE ]]; then
		log "not running"
		return 0
	fi
	pid=$(<"$PIDFILE")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "dendrite (pid $pid) ignored TERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$PIDFILE" "$ENVFILE"
	log "stopped"
}

status() {
	if running; then
		log "running (pid $(<"$PIDFILE"))"
		cat "$ENVFILE"
	else
		log "not running"
		return 1
	fi
}

reset() {
	stop
	rm -rf "$STATE"
	log "state removed"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) status ;;
reset) reset ;;
*)
	printf 'usage: %s start|stop|status|reset\n' "$0" >&2
	exit 2
	;;
esac
