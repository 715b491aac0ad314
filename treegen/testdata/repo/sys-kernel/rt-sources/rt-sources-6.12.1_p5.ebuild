# Copyright 1999-2024 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8
ETYPE="sources"
	K_SECURITY_UNSUPPORTED=1 # only this slot
inherit kernel-2
detect_version
DESCRIPTION="Full Linux ${KV_MAJOR}.${KV_MINOR} kernel sources with the CONFIG_PREEMPT_RT patch"
KEYWORDS="~amd64 ~x86"
