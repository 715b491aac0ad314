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
	F = policy.Full
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
			if got := p.See(b, ch, what); got != v {
				t.Errorf("%s: See = %s, want %s", name, got, v)
			}
			hs := p.Highlights(b, ch, what)
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
	if got := p.See(nil, pub, policy.Announce); got != policy.Withheld {
		t.Errorf("unknown bug in a public channel: %s, want withheld", got)
	}
	if got := p.See(nil, chat.Channel{Key: "irc:#s", Private: true}, policy.Announce); got != policy.Full {
		t.Errorf("unknown bug in a private channel: %s, want full", got)
	}
	if hs := p.Highlights(nil, pub, policy.Announce); hs != nil {
		t.Errorf("unknown bug highlights %v", hs)
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

// TreeHighlights names the trees a bug concerns whatever the bug's
// restriction (it is for counting, not for a line), and Highlights gives
// exactly those where the channel sees the bug in full, none elsewhere.
func TestTreeHighlights(t *testing.T) {
	reg := trees.New([]config.Tree{
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Handles: map[string][]string{"irc": {"hardnick"}}},
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Handles: map[string][]string{"irc": {"mpagano"}}},
	})
	p := &policy.Policy{Trees: reg}
	pub := chat.Channel{Key: "irc:#c", Name: "#c"}
	priv := chat.Channel{Key: "irc:#s", Name: "#s", Private: true}
	for _, restricted := range []bool{false, true} {
		b := &bugzilla.Bug{ID: 7, Summary: "sys-kernel/hardened-sources: overflow"}
		if restricted {
			b.Groups = []string{"security"}
		}
		hs := p.TreeHighlights(b)
		if len(hs) != 1 || hs[0].Tree != "hardened" {
			t.Errorf("restricted=%v: TreeHighlights = %v, want the hardened tree", restricted, hs)
		}
		if got := p.Highlights(b, priv, policy.Announce); fmt.Sprint(got) != fmt.Sprint(hs) {
			t.Errorf("restricted=%v: private Highlights = %v, want %v", restricted, got, hs)
		}
		if got := p.Highlights(b, pub, policy.Announce); restricted != (len(got) == 0) {
			t.Errorf("restricted=%v: public Highlights = %v", restricted, got)
		}
	}
	if hs := p.TreeHighlights(nil); hs != nil {
		t.Errorf("unknown bug: TreeHighlights = %v", hs)
	}
	var none *policy.Policy
	if hs := none.TreeHighlights(&bugzilla.Bug{Summary: "sys-kernel/hardened-sources"}); hs != nil {
		t.Errorf("nil policy: TreeHighlights = %v", hs)
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
	if got := (&policy.Policy{}).See(b, dm.Channel, policy.Describe); got != policy.Withheld {
		t.Errorf("restricted bug in a private message: %s, want withheld", got)
	}
	if got := policy.ShowLogin("alice@gentoo.org", policy.Private(dm.Channel)); got != "alice" {
		t.Errorf("login in a private message: %q, want alice", got)
	}
	if !policy.Private(chat.Channel{Key: "irc:#s", Private: true}) {
		t.Error("a channel marked private is not private")
	}
}
