#!/usr/bin/env bash
# browser.sh: the browser for ksecbot's web page tests (Debian's Chromium,
# driven headless by chromedp; see internal/browsertest).
#
#   scripts/browser.sh install   # apt-get install chromium when missing; print its path
#
# Tests find it through KSECBOT_CHROMIUM (scripts/test.sh exports it) or on
# PATH; without one they skip, or fail when CI=true.
set -euo pipefail

log() { printf 'browser: %s\n' "$*" >&2; }

find_browser() {
	local p
	for p in "${KSECBOT_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do
		if [[ -n $p && -x $p ]]; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

install() {
	if find_browser; then
		return 0
	fi
	log "installing chromium"
	local sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" apt-get update >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends chromium >&2
	find_browser || {
		log "chromium is not on this machine after apt-get install"
		return 1
	}
}

case ${1:-} in
install) install ;;
*)
	echo "usage: $0 install" >&2
	exit 64
	;;
esac
