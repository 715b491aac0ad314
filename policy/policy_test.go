// SPDX-License-Identifier: GPL-3.0-or-later

package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/trees"
)

// This file is where the embargo rules are written down, one table per
// side: what a channel may see and whom it may highlight (TestVisibility),
// who may change what (write.go's table), what auto-CC may add
// (autocc.go's table). Change a rule here first.

const (
	F = policy.InFull
	W = policy.Withheld
	N = policy.Nothing
)

// visibility is one row: a bug (restricted or not) shown in a channel
// (private or not) with announce.restricted set to mode, and what the
// channel may see for each kind of line, plus whether announcements,
// digests and reminders highlight the bug's trees there.
type visibility struct {
	restricted, private                                           bool
	mode                                                          string
	announce, digest, remind, changeState, changeDetail, describe policy.View
	highlights                                                    bool
}

var visibilityTable = []visibility{
	// Public bugs: everything, everywhere, whatever the mode.
	{false, false, policy.RestrictedWithhold, F, F, F, F, F, F, true},
	{false, false, policy.RestrictedSkip, F, F, F, F, F, F, true},
	{false, true, policy.RestrictedWithhold, F, F, F, F, F, F, true},
	{false, true, policy.RestrictedSkip, F, F, F, F, F, F, true},
	// Restricted bugs in private channels: everything, with highlights.
	{true, true, policy.RestrictedWithhold, F, F, F, F, F, F, true},
	{true, true, policy.RestrictedSkip, F, F, F, F, F, F, true},
	// Restricted bugs in public channels: number and link only, no
	// highlight; content-revealing changes never; "skip" says nothing
	// unless asked.
	{true, false, policy.RestrictedWithhold, W, W, W, W, N, W, false},
	{true, false, "", W, W, W, W, N, W, false}, // the default is withhold
	{true, false, policy.RestrictedSkip, N, N, N, N, N, W, false},
}

func TestVisibility(t *testing.T) {
	reg := trees.New([]config.Tree{
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Handles: map[string][]string{"irc": {"hardnick"}, "matrix": {"@hard:example.org"}}, Members: map[string][]string{"matrix": {"@hard:example.org"}}},
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"mpagano"}}},
	})
	for _, row := range visibilityTable {
		p := &policy.Policy{Restricted: row.mode, Trees: reg}
		// A restricted row holds for the bugs ksecbot cannot vouch are
		// public too: gone out of its sight (restricted into a group its
		// account is not in, deleted), or not read since Bugzilla began
		// refusing the API key.
		bugs := map[string]*bugzilla.Bug{"public": {ID: 7, Summary: "sys-kernel/hardened-sources: overflow", Sight: bugzilla.Sight{Confirmed: time.Unix(1, 0)}}}
		if row.restricted {
			bugs = map[string]*bugzilla.Bug{
				"restricted":  {ID: 7, Summary: "sys-kernel/hardened-sources: overflow", Groups: []string{"security"}},
				"gone":        {ID: 7, Summary: "sys-kernel/hardened-sources: overflow", Sight: bugzilla.Sight{Gone: true}},
				"unconfirmed": {ID: 7, Summary: "sys-kernel/hardened-sources: overflow", Sight: bugzilla.Sight{Unconfirmed: true}},
			}
		}
		for kind, b := range bugs {
			checkVisibility(t, p, row, kind, b)
		}
	}
}

func checkVisibility(t *testing.T, p *policy.Policy, row visibility, kind string, b *bugzilla.Bug) {
	t.Helper()
	{
		ch := chat.Channel{Key: "irc:#c", Network: "irc", Name: "#c", Private: row.private}
		want := map[policy.What]policy.View{
			policy.Announce: row.announce, policy.Digest: row.digest, policy.Remind: row.remind,
			policy.ChangeState: row.changeState, policy.ChangeDetail: row.changeDetail, policy.Describe: row.describe,
		}
		for what, v := range want {
			name := fmt.Sprintf("%s/private=%v/mode=%q/%s", kind, row.private, row.mode, what)
			seen := p.See(b, ch, what)
			if got := seen.View(); got != v {
				t.Errorf("%s: See = %s, want %s", name, got, v)
			}
			f, full := seen.Full()
			if full != (v == policy.InFull) || full && f.Bug() != b {
				t.Errorf("%s: Full = %v (bug %p), want %v (bug %p): details only where the view is full", name, full, f.Bug(), v == policy.InFull, b)
			}
			if seen.ID() != b.ID {
				t.Errorf("%s: ID = %d, want %d", name, seen.ID(), b.ID)
			}
			hs := f.Highlights()
			highlights := row.highlights && (what == policy.Announce || what == policy.Digest || what == policy.Remind)
			if highlights != (len(hs) > 0) {
				t.Errorf("%s: Highlights = %v, want highlights: %v", name, hs, highlights)
			}
			if highlights && (len(hs) != 1 || hs[0].Tree != "hardened") {
				t.Errorf("%s: Highlights = %v, want the hardened tree only", name, hs)
			}
		}
	}
}

// A bug that is not in the mirror is treated as restricted.
func TestUnknownBugIsWithheld(t *testing.T) {
	p := &policy.Policy{Restricted: policy.RestrictedWithhold}
	pub := chat.Channel{Key: "irc:#c"}
	seen := p.See(nil, pub, policy.Announce)
	if got := seen.View(); got != policy.Withheld {
		t.Errorf("unknown bug in a public channel: %s, want withheld", got)
	}
	if f, ok := seen.Full(); ok || f.Bug() != nil || f.Highlights() != nil {
		t.Errorf("unknown bug: details %v %+v, highlights %v", ok, f.Bug(), f.Highlights())
	}
	// In a private channel the view is full, but there are no details to
	// show: the line stays withheld.
	private := p.See(nil, chat.Channel{Key: "irc:#s", Private: true}, policy.Announce)
	if got := private.View(); got != policy.InFull {
		t.Errorf("unknown bug in a private channel: %s, want full", got)
	}
	if _, ok := private.Full(); ok {
		t.Error("an unknown bug has details")
	}
}

func TestChangeWhat(t *testing.T) {
	for kind, want := range map[string]policy.What{
		"reopened": policy.ChangeState, "resolved": policy.ChangeState, "restricted": policy.ChangeState,
		"severity": policy.ChangeDetail, "whiteboard": policy.ChangeDetail, "something-new": policy.ChangeDetail,
	} {
		if got := policy.ChangeWhat(kind); got != want {
			t.Errorf("ChangeWhat(%q) = %s, want %s", kind, got, want)
		}
	}
}

// The zero Seen and the zero Full, the only ones code outside this
// package can make, show nothing: no view, no bug, no highlight.
func TestZeroValuesShowNothing(t *testing.T) {
	var s policy.Seen
	if s.View() != policy.Nothing || s.ID() != 0 || s.Embargoed() {
		t.Errorf("zero Seen: view %s, id %d, restricted %v", s.View(), s.ID(), s.Embargoed())
	}
	if f, ok := s.Full(); ok || f.Bug() != nil {
		t.Errorf("zero Seen gives details: %v %+v", ok, f.Bug())
	}
	var f policy.Full
	if f.Bug() != nil || f.Highlights() != nil || f.Trees() != nil || f.Embargoed() {
		t.Errorf("zero Full: bug %+v, highlights %v, trees %v", f.Bug(), f.Highlights(), f.Trees())
	}
}

// A private message is not a private channel: the transports give it a
// channel that is not marked private, and it sees what a public channel
// sees (no restricted details, no e-mail addresses).
func TestPrivateMessageIsNotPrivate(t *testing.T) {
	dm := chat.Incoming{Channel: chat.Channel{Key: chat.ChannelKey("irc", "alice"), Network: "irc", Name: "alice"}, Direct: true}
	if policy.Private(dm.Channel) {
		t.Fatal("a private message counts as a private channel")
	}
	b := &bugzilla.Bug{ID: 7, Groups: []string{"security"}}
	if got := (&policy.Policy{}).See(b, dm.Channel, policy.Describe).View(); got != policy.Withheld {
		t.Errorf("restricted bug in a private message: %s, want withheld", got)
	}
	if got := policy.ShowLogin("alice@gentoo.org", dm.Channel); got != "alice" {
		t.Errorf("login in a private message: %q, want alice", got)
	}
	if !policy.Private(chat.Channel{Key: "irc:#s", Private: true}) {
		t.Error("a channel marked private is not private")
	}
}
