#!/usr/bin/env bash
# The whole test suite against real servers, as CI runs it:
#   1. starts InspIRCd + Atheme and ngIRCd (apt-installed when missing) and
#      Dendrite (built with `go install` into GOPATH/bin when missing, then
#      reused), and installs Chromium for the status page's browser test;
#   2. runs scripts/lint.sh (SPDX headers, gofmt, go vet, staticcheck, the
#      build guard) and `go test -race` with the goolm tag;
#   3. stops the servers it started.
# Extra arguments go to `go test` (e.g. scripts/test.sh -run Announce ./bot/).
set -euo pipefail
cd "$(dirname "$0")/.."

base=${KSECBOT_TESTSERVERS:-$HOME/.cache/ksecbot-testservers}
export KSECBOT_TESTSERVERS=$base

# Stop at the end only the servers this run started, so a developer's
# already running servers (and other test runs using them) keep working.
started=()
cleanup() {
	for s in "${started[@]}"; do
		"scripts/$s-server.sh" stop || true
	done
}
trap cleanup EXIT

for s in irc ngircd matrix; do
	if ! "scripts/$s-server.sh" status >/dev/null 2>&1; then
		started+=("$s")
	fi
	"scripts/$s-server.sh" start
done
# The status page's browser test drives Debian's Chromium.
KSECBOT_CHROMIUM=$(scripts/browser.sh install)
export KSECBOT_CHROMIUM

set -a
# shellcheck source=/dev/null
. "$base/irc/env"
# shellcheck source=/dev/null
. "$base/ngircd/env"
# shellcheck source=/dev/null
. "$base/matrix/env"
set +a

scripts/lint.sh

pkgs=./...
args=()
for a in "$@"; do
	case $a in
	./*) pkgs=$a ;;
	*) args+=("$a") ;;
	esac
done
go test -race -tags goolm -timeout 25m -count=1 "${args[@]}" "$pkgs"
