# Copyright 2025 Gentoo Authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit acct-user

DESCRIPTION="User for net-irc/ksecbot"
# Overlays may pick a free ID at install time; ::gentoo needs a fixed one,
# requested as contrib/gentoo/ACCT-IDS.md explains.
ACCT_USER_ID=-1
ACCT_USER_HOME=/var/lib/ksecbot
ACCT_USER_HOME_PERMS=0750
ACCT_USER_GROUPS=( ksecbot )

acct-user_add_deps
