// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"slices"
	"strings"

	"github.com/ksecbot/ksecbot/bugzilla"
)

// AutoCCDecision is what auto-CC may do to one bug now.
type AutoCCDecision struct {
	// Add are the logins to add to the bug's CC list now.
	Add []string
	// Held are the logins held back because the bug is restricted: the
	// private channels are told, and they are added once the bug is
	// public.
	Held []string
}

// AutoCC decides which of the logins auto-CC wants on bug b (want:
// [announce] auto_cc plus the matched trees' auto_cc logins, those already
// in CC left out) it may add now. On a public bug: all of them. On a
// restricted bug (Restricted) only those listed in [announce] restricted_auto_cc
// (restrictedOK, logins the operator knows are in the security group),
// matched exactly (case-insensitively, whole address): Bugzilla lets every
// CC'd user read a restricted bug and mails it to them, so anyone else
// would receive the embargoed report. The rest are held back.
func AutoCC(want []string, b *bugzilla.Bug, restrictedOK []string) AutoCCDecision {
	restricted := Restricted(b)
	var d AutoCCDecision
	for _, l := range want {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if !restricted || slices.ContainsFunc(restrictedOK, func(ok string) bool { return SameAddress(ok, l) }) {
			d.Add = append(d.Add, l)
		} else {
			d.Held = append(d.Held, l)
		}
	}
	return d
}
