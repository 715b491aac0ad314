# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit acct-group

DESCRIPTION="Group for net-irc/ksecbot"
# Overlays may pick a free ID at install time; ::gentoo needs a fixed one,
# requested as contrib/gentoo/ACCT-IDS.md explains.
ACCT_GROUP_ID=-1
