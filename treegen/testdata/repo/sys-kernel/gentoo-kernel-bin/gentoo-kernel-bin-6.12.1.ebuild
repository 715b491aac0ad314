# Copyright 2020-2024 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit kernel-install toolchain-funcs unpacker

DESCRIPTION="Pre-built Linux kernel with Gentoo patches"
HOMEPAGE="https://wiki.gentoo.org/wiki/Project:Distribution_Kernel"
KEYWORDS="~amd64 ~arm64 ~ppc64 ~x86"
