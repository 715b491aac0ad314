# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit go-module systemd

DESCRIPTION="Announces Gentoo kernel security bugs on IRC and Matrix, CCs their maintainers"
HOMEPAGE="https://github.com/ksecbot/ksecbot"

if [[ ${PV} == 9999 ]]; then
	inherit git-r3
	EGIT_REPO_URI="https://github.com/ksecbot/ksecbot.git"
else
	# A release needs the module dependencies as a tarball made with
	# "go mod vendor" (or "go mod download" into go-mod/) next to it.
	SRC_URI="
		https://github.com/ksecbot/ksecbot/archive/v${PV}.tar.gz -> ${P}.tar.gz
		https://github.com/ksecbot/ksecbot/releases/download/v${PV}/${P}-deps.tar.xz
	"
	KEYWORDS="~amd64 ~arm64"
fi

# ksecbot itself, then the licences of the vendored Go modules.
LICENSE="GPL-2 Apache-2.0 BSD MIT MPL-2.0"
SLOT="0"

RDEPEND="
	acct-group/ksecbot
	acct-user/ksecbot
"
# src_install gives directories to the ksecbot user.
DEPEND="${RDEPEND}"
BDEPEND=">=dev-lang/go-1.26"

src_unpack() {
	if [[ ${PV} == 9999 ]]; then
		git-r3_src_unpack
		go-module_live_vendor
	else
		go-module_src_unpack
	fi
}

src_compile() {
	local version=${PV}
	[[ ${PV} == 9999 ]] && version=${EGIT_VERSION}
	# goolm: mautrix's pure-Go Olm (no libolm); cgo stays on for SQLite.
	ego build -tags goolm -trimpath \
		-ldflags "-X main.version=${version}" \
		-o ksecbot ./cmd/ksecbot
}

src_test() {
	# -short: the tests that need InspIRCd/Atheme or Dendrite skip.
	ego test -tags goolm -short ./...
}

src_install() {
	dobin ksecbot

	newinitd contrib/openrc/ksecbot.initd ksecbot
	newconfd contrib/openrc/ksecbot.confd ksecbot
	systemd_dounit contrib/systemd/ksecbot.service
	doman contrib/man/ksecbot.1

	insinto /usr/share/ksecbot
	doins config.sample.toml

	# The configuration and the secret files beside it are readable by
	# the ksecbot group only.
	diropts -m0750 -g ksecbot
	insinto /etc/ksecbot
	insopts -m0640 -g ksecbot
	newins config.sample.toml ksecbot.toml

	diropts -m0750 -o ksecbot -g ksecbot
	keepdir /var/lib/ksecbot /var/log/ksecbot
}

pkg_postinst() {
	if [[ -z ${REPLACING_VERSIONS} ]]; then
		elog "Edit /etc/ksecbot/ksecbot.toml (every key is explained in it), then"
		elog "generate the kernel trees from your Gentoo repository:"
		elog "  ksecbot trees --repo /var/db/repos/gentoo"
		elog "and paste its [[tree]] entries into the configuration, adding the"
		elog "maintainers' IRC nicks and Matrix IDs."
		elog "Put each secret (Bugzilla API key, IRC password, Matrix token) in its"
		elog "own file, owned by ksecbot with mode 0600, and check everything with:"
		elog "  ksecbot check-config --secrets /etc/ksecbot/ksecbot.toml"
		elog "Then start the service: rc-service ksecbot start, or"
		elog "systemctl enable --now ksecbot. Reload re-reads the configuration."
	fi
}
