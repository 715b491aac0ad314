# Copyright 2026 ksecbot authors
# Distributed under the terms of the GNU General Public License v3
#
# A test ebuild written for ksecbot (not from ::gentoo): only its name and
# KEYWORDS matter. pf-sources X.Y_pN is the pf-kernel patch set on X.Y,
# which already carries stable updates of its own.

EAPI=8
ETYPE="sources"
K_SECURITY_UNSUPPORTED="1"
DESCRIPTION="Linux kernel fork that includes the pf-kernel patchset"
KEYWORDS="amd64 ~x86"
