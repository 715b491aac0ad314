// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// CVEFeed reports whether a channel gets the kernel CVE watch's lines:
// the channels that opted in (cve_feed), public and private alike. A
// kernel CNA record is public and a watch line names no bug, so nothing
// is withheld; the decision is still made here, with the other rules of
// what a channel gets, and at send time: a reload that turns cve_feed
// off stops the lines still queued for that channel.
func CVEFeed(ch chat.Channel) bool { return ch.CVEFeed }

// CVEPings reports whether a watch line may highlight a tree that a
// record affects: not a tree without security support (unsupported),
// which is named without a highlight, as it is for bugs that do not name
// it.
func CVEPings(t config.Tree) bool { return !t.Unsupported }
