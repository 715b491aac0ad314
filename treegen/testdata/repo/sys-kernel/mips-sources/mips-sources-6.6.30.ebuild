# Copyright 1999-2024 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8
ETYPE="sources"
inherit kernel-2 eapi7-ver
detect_version
DESCRIPTION="Linux-Mips GIT sources for MIPS-based machines, dated ${EGIT_DATE}"
KEYWORDS="-* ~mips"
IUSE="experimental ip27 ip28 ip30"
