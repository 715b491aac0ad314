# Copyright 2020-2024 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

KERNEL_IUSE_GENERIC_UKI=1
KERNEL_IUSE_MODULES_SIGN=1

inherit kernel-build toolchain-funcs

DESCRIPTION="Linux kernel built with Gentoo patches"
HOMEPAGE="https://wiki.gentoo.org/wiki/Project:Distribution_Kernel"
KEYWORDS="~amd64 ~arm ~arm64 ~ppc64 ~riscv ~x86"
IUSE="debug experimental hardened"
