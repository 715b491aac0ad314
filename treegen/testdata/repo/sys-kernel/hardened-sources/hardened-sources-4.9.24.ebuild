# Copyright 1999-2017 Gentoo Foundation
# Distributed under the terms of the GNU General Public License v2

EAPI="5"
ETYPE="sources"
K_SECURITY_UNSUPPORTED="1"
inherit kernel-2
detect_version

DESCRIPTION="Hardened kernel sources (kernel series ${KV_MAJOR}.${KV_MINOR})"
KEYWORDS="amd64 x86"
