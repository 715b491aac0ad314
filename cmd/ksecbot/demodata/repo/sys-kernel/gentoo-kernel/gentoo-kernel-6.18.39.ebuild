# Copyright 1999-2026 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2
# (ksecbot demo: a name and its KEYWORDS, all ksecbot reads of an ebuild)

EAPI=8

KEYWORDS="~amd64 ~arm ~arm64 ~hppa ~loong ~ppc ~ppc64 ~riscv ~sparc ~x86"
