// SPDX-License-Identifier: GPL-3.0-or-later

package announce

import (
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
)

// Intents are rendered from the bug and channel given at send time; text
// queued before (old rows, notices) is sent only while the channel may see
// every bug it names in full.
func TestIntentRenderedAtSendTime(t *testing.T) {
	r := testRenderer()
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	pub := bugzilla.Bug{ID: 5, Summary: "sys-kernel/hardened-sources: secret overflow", CreationTime: now.Add(-5 * time.Hour)}
	res := pub
	res.Groups = []string{"security"}
	oldText := []chat.Line{chat.Line{}.Text("New kernel security bug 5: sys-kernel/hardened-sources: secret overflow | hardened: blueness zorry")}
	moved := store.EventData{Kind: store.EventMovedIn, New: "Gentoo Security/Kernel"}
	tests := []struct {
		name string
		in   store.Intent
		bug  *bugzilla.Bug // nil: not in the mirror
		ch   chat.Channel
		want string // "" : not sent
	}{
		{"announce, public bug", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}}, &pub, public, "secret overflow https://bugs.gentoo.org/show_bug.cgi?id=5 | hardened: blueness zorry"},
		{"announce, restricted since", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}}, &res, public, "New restricted kernel security bug 5, details withheld"},
		{"announce, not in the mirror", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}}, nil, public, "New restricted kernel security bug 5, details withheld"},
		{"announce, private channel", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}}, &res, private, "hardened: blueness zorry"},
		{"moved in, restricted", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}, Event: &moved}, &res, public, "Restricted kernel security bug 5 moved into Gentoo Security/Kernel, details withheld"},
		{"moved in, not in the mirror", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}, Event: &moved}, nil, public, "Restricted kernel security bug 5 moved into Gentoo Security/Kernel, details withheld"},
		{"moved in, private channel", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}, Event: &moved}, &res, private, "Bug 5 moved into Gentoo Security/Kernel"},
		{"remind, restricted", store.Intent{Kind: chat.KindRemind, BugIDs: []int{5}}, &res, public, "Still unclaimed after 5h: restricted bug 5, details withheld"},
		{"change, restricted", store.Intent{Kind: chat.KindChange, BugIDs: []int{5}, Event: &store.EventData{Kind: "resolved", New: "FIXED"}}, &res, public, "Bug 5 (restricted) resolved FIXED"},
		{"grade change, restricted", store.Intent{Kind: chat.KindChange, BugIDs: []int{5}, Event: &store.EventData{Kind: "whiteboard", Old: "B2", New: "A1"}}, &res, public, ""},
		{"old text, still public", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}, Lines: oldText}, &pub, public, "| hardened: blueness zorry"},
		{"old text, restricted since", store.Intent{Kind: chat.KindAnnounce, BugIDs: []int{5}, Lines: oldText}, &res, public, "New restricted kernel security bug 5, details withheld"},
		{"old change text, restricted since", store.Intent{Kind: chat.KindChange, BugIDs: []int{5}, Lines: oldText}, &res, public, ""},
		{"notice without bugs", store.Intent{Kind: chat.KindReply, Lines: []chat.Line{chat.Line{}.Text("hello")}}, nil, public, "hello"},
		{"system notice, private channel", store.Intent{Kind: chat.KindSystem, Lines: []chat.Line{chat.Line{}.Text("ksecbot cannot join #k on irc")}}, nil, private, "cannot join #k"},
		{"system notice, channel made public since", store.Intent{Kind: chat.KindSystem, Lines: []chat.Line{chat.Line{}.Text("ksecbot cannot join #k on irc")}}, nil, public, ""},
	}
	for _, tc := range tests {
		bugs := map[int]*bugzilla.Bug{}
		if tc.bug != nil {
			bugs[5] = tc.bug
		}
		out, ok := r.Intent(tc.in, bugs, tc.ch, now)
		got := strings.Join(out.Plain("irc"), "\n")
		switch {
		case tc.want == "" && ok:
			t.Errorf("%s: sent %q, want nothing", tc.name, got)
		case tc.want != "" && (!ok || !strings.Contains(got, tc.want)):
			t.Errorf("%s: got %q (sent %v), want %q", tc.name, got, ok, tc.want)
		}
		if ok && !tc.ch.Private && tc.bug != &pub && tc.in.Kind != chat.KindReply {
			for _, secret := range []string{"secret", "hardened", "blueness"} {
				if strings.Contains(got, secret) {
					t.Errorf("%s: %q contains %q", tc.name, got, secret)
				}
			}
		}
		if ok && (out.Channel != tc.ch.Key || out.Target != tc.ch.Name) {
			t.Errorf("%s: addressed to %s/%s, want the channel as configured now", tc.name, out.Channel, out.Target)
		}
	}
}
