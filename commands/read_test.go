// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

func TestParse(t *testing.T) {
	tests := []struct {
		prefix, text string
		name         string
		args         []string
		ok           bool
	}{
		{"!", "!claim 123", "claim", []string{"123"}, true},
		{"!", "  !CC hardened,mips   42 ", "cc", []string{"hardened,mips", "42"}, true},
		{"!", "!pending", "pending", []string{}, true},
		{"!", "! claim", "", nil, false},
		{"!", "!!!", "", nil, false},
		{"!", "!123", "", nil, false},
		{"!", "claim 123", "", nil, false},
		{"!", "", "", nil, false},
		{"!", "!", "", nil, false},
		{"!", "!claim\t7", "claim", []string{"7"}, true},
		{"!", "!cla/im", "", nil, false},
		{"ksec:", "ksec:bug 5", "bug", []string{"5"}, true},
		{"", "!bug 5", "", nil, false},
	}
	for _, tc := range tests {
		name, args, ok := Parse(tc.prefix, tc.text)
		if ok != tc.ok || name != tc.name || (ok && !reflect.DeepEqual(args, tc.args)) {
			t.Errorf("Parse(%q, %q) = %q, %q, %v; want %q, %q, %v", tc.prefix, tc.text, name, args, ok, tc.name, tc.args, tc.ok)
		}
	}
}

func TestReadCommands(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	created := e.clk.Now().Add(-72 * time.Hour)
	var open []int
	for i := range 5 {
		open = append(open, e.bug(bugzillatest.NewBug{Summary: fmt.Sprintf("sys-kernel/gentoo-sources: flaw %d", i), Severity: "major",
			Whiteboard: "B2 [upstream]", Created: created.Add(time.Duration(i) * time.Minute)}))
	}
	claimed := e.bug(bugzillatest.NewBug{Summary: "claimed flaw", AssignedTo: "alice@gentoo.org", Created: created})
	resolved := e.bug(bugzillatest.NewBug{Summary: "fixed flaw", Status: "RESOLVED", Created: created})
	secret := e.bug(bugzillatest.NewBug{Summary: "SECRET embargoed flaw", Groups: []string{"security"}, Created: created.Add(time.Hour)})
	hardenedCCd := e.bug(bugzillatest.NewBug{Summary: "hardened already knows", CC: []string{"hardened@gentoo.org"}, AssignedTo: "bob@gentoo.org", Created: created})
	e.clk.Advance(2 * time.Hour)

	tests := []struct {
		name   string
		who    chat.Identity
		ch     chat.Channel
		text   string
		lines  int // 0: don't check
		want   []string
		hidden []string
	}{
		{name: "bug", who: idNick, ch: chPublic, text: fmt.Sprintf("!bug %d", open[0]), lines: 1,
			want:   []string{fmt.Sprintf("Bug %d", open[0]), "[B2]", "flaw 0", "major", "assigned to security,", fmt.Sprintf("https://bugs.gentoo.org/show_bug.cgi?id=%d", open[0])},
			hidden: []string{"@gentoo.org"}}, // public channels never show e-mail addresses
		{name: "bug in private shows addresses", who: idNick, ch: chPrivate, text: fmt.Sprintf("!bug %d", open[0]), lines: 1,
			want: []string{"assigned to security@gentoo.org"}},
		{name: "bug restricted in public", who: idAlice, ch: chPublic, text: fmt.Sprintf("!bug #%d", secret), lines: 1,
			want: []string{"restricted, details withheld"}, hidden: []string{"SECRET", "embargoed"}},
		{name: "bug restricted in private", who: idAlice, ch: chPrivate, text: fmt.Sprintf("!bug %d", secret), lines: 1,
			want: []string{"SECRET embargoed flaw"}},
		{name: "bug unknown", who: idAlice, ch: chPublic, text: "!bug 999", lines: 1, want: []string{"Bug 999 does not exist"}},
		{name: "bug bad argument", who: idAlice, ch: chPublic, text: "!bug foo", lines: 1, want: []string{"'foo' is not a bug number; usage: !bug <id>."}},
		{name: "pending capped on IRC", who: idNick, ch: chPublic, text: "!pending", lines: 4,
			want: []string{fmt.Sprintf("Bug %d (3d, major, B2): sys-kernel/gentoo-sources: flaw 0", open[0]), "flaw 2",
				// no e-mail address in a public channel, not even in a link
				"and 3 more: https://bugs.gentoo.org/buglist.cgi?component=Kernel&f1=assigned_to&j_top=OR&o1=regexp&product=Gentoo+Security&query_format=advanced&resolution=---&v1=%5Esecurity%40"},
			hidden: []string{"flaw 3", "claimed flaw", "fixed flaw", "SECRET", "gentoo.org&"}},
		{name: "pending capped in a private channel links by address", who: idAlice, ch: chPrivate, text: "!pending", lines: 4,
			want: []string{"and 3 more: https://bugs.gentoo.org/buglist.cgi?component=Kernel&f1=assigned_to&j_top=OR&o1=equals&product=Gentoo+Security&query_format=advanced&resolution=---&v1=security%40gentoo.org"}},
		{name: "pending on Matrix shows more, restricted withheld in public", who: idBobMx, ch: chMatrix, text: "!pending", lines: 6,
			want:   []string{"flaw 4", fmt.Sprintf("Bug %d (3d): restricted, details withheld", secret)},
			hidden: []string{"more", "SECRET", "claimed flaw", "fixed flaw"}},
		{name: "pending in private channel shows restricted", who: idAlice, ch: chPrivate, text: "!pending", lines: 4},
		// gentoo-sources bugs do not concern hardened; bugs naming no tree
		// do, unless hardened is in CC (or assigned)
		{name: "pending for a tree", who: idAlice, ch: chConsole, text: "!pending hardened", lines: 2,
			want: []string{"claimed flaw", "SECRET"}, hidden: []string{"hardened already knows", "fixed flaw", "flaw 0", "flaw 4"}},
		{name: "pending unknown tree", who: idAlice, ch: chPublic, text: "!pending nosuch", lines: 1, want: []string{"I know no tree", "!trees"}},
		{name: "trees", who: idNick, ch: chPublic, text: "!trees", lines: 1,
			want: []string{"3 trees", "gentoo-sources (gentoo-kernel, dist-kernel) <kernel>", "hardened <hardened>", "mips"}, hidden: []string{"@"}},
		{name: "trees in private", who: idNick, ch: chPrivate, text: "!trees", lines: 1,
			want: []string{"gentoo-sources (gentoo-kernel, dist-kernel) <kernel@gentoo.org>", "hardened <hardened@gentoo.org>"}},
		{name: "whoami security", who: idAlice, ch: chPublic, text: "!whoami", lines: 1,
			want: []string{"IRC account alice", "login alice;", "roles: security", "!claim, !unclaim, !cc", "--force", "restricted bugs too"}, hidden: []string{"@gentoo.org"}},
		{name: "whoami tree maintainer", who: idKernel, ch: chPublic, text: "!whoami", lines: 1,
			want: []string{"login kernel;", "roles: maintainer", "maintainer of gentoo-sources", "only the security team"}, hidden: []string{"--force", "@gentoo.org"}},
		{name: "whoami matrix maintainer", who: idBobMx, ch: chMatrix, text: "!whoami", lines: 1,
			want: []string{"Matrix user @bob:example.org", "login bob;", "maintainer of hardened"}},
		{name: "whoami linked without role", who: idCarol, ch: chPublic, text: "!whoami", lines: 1,
			want: []string{"login carol;", "roles: none", "read commands only"}},
		{name: "whoami in private", who: idCarol, ch: chPrivate, text: "!whoami", lines: 1,
			want: []string{"login carol@gentoo.org;"}},
		{name: "whoami unlinked", who: idMallory, ch: chPublic, text: "!whoami", lines: 1, want: []string{"not linked", "[[user]]"}},
		{name: "whoami nick only", who: idNick, ch: chPublic, text: "!whoami", lines: 1, want: []string{"not identified"}},
		{name: "whoami console", who: idConsole, ch: chConsole, text: "!whoami", lines: 1, want: []string{"console operator (admin)", "admin@gentoo.org"}},
		{name: "help", who: idNick, ch: chPublic, text: "!help", lines: 1,
			want: []string{"!bug !pending !mine !claim !unclaim !cc !cve !exposure !trees !whoami !help", "!help <command>"}},
		{name: "help command", who: idNick, ch: chPublic, text: "!help claim", lines: 1,
			want: []string{"Usage: !claim [--force] [bug]", "assign a bug", "security or maintainer or admin"}},
		{name: "help with prefix and alias", who: idNick, ch: chPublic, text: "!commands !pending", lines: 1, want: []string{"Usage: !pending [tree]"}},
		{name: "help unknown", who: idNick, ch: chPublic, text: "!help frob", lines: 1, want: []string{"No command !frob"}},
		{name: "unknown command", who: idNick, ch: chPublic, text: "!frobnicate 3", lines: 1,
			want: []string{"Unknown command !frobnicate", "!help <command>"}},
		{name: "unclaim without bug", who: idAlice, ch: chPublic, text: "!unclaim", lines: 1, want: []string{"Which bug? Give its number; usage: !unclaim <bug>."}},
		{name: "cc without args", who: idAlice, ch: chPublic, text: "!cc", lines: 1, want: []string{"Whom? Give tree names or Bugzilla logins; usage: !cc <tree-or-login>[,...] [bug]."}},
	}
	_ = claimed
	_ = resolved
	_ = hardenedCCd
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			searches, reqs := e.srv.SearchCount(), len(e.srv.Requests())
			outs := e.say(tc.who, tc.ch, tc.text)
			if len(outs) != 1 {
				t.Fatalf("got %d replies: %q", len(outs), text(outs))
			}
			if tc.lines > 0 && len(outs[0].Lines) != tc.lines {
				t.Errorf("%d lines, want %d: %q", len(outs[0].Lines), tc.lines, text(outs))
			}
			got := text(outs)
			mustContain(t, got, tc.want...)
			mustNotContain(t, got, tc.hidden...)
			if strings.HasPrefix(tc.text, "!pending") && (e.srv.SearchCount() != searches || len(e.srv.Requests()) != reqs) {
				t.Errorf("!pending asked Bugzilla")
			}
		})
	}
}

func TestPreviews(t *testing.T) {
	e := newEnv(t, "")
	id := e.bug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: leak", Severity: "minor"})
	secret := e.bug(bugzillatest.NewBug{Summary: "SECRET flaw", Groups: []string{"security"}})
	noPreviews := chPrivate // previews off
	url := fmt.Sprintf("https://bugs.gentoo.org/show_bug.cgi?id=%d", id)

	steps := []struct {
		name    string
		who     chat.Identity
		ch      chat.Channel
		text    string
		advance time.Duration
		want    []int // bugs previewed
		hidden  []string
	}{
		{name: "mention", who: idNick, ch: chPublic, text: fmt.Sprintf("see bug %d please", id), want: []int{id}},
		{name: "same bug again is rate limited", who: idMallory, ch: chPublic, text: fmt.Sprintf("Bug #%d?", id), advance: time.Minute},
		{name: "other channel is not limited", who: idBobMx, ch: chMatrix, text: "what about " + url, want: []int{id}},
		{name: "after the interval", who: idNick, ch: chPublic, text: url + "&foo=1", advance: 10 * time.Minute, want: []int{id}},
		{name: "restricted withheld", who: idNick, ch: chPublic, text: fmt.Sprintf("bug %d", secret), want: []int{secret}, hidden: []string{"SECRET"}},
		{name: "previews off", who: idNick, ch: noPreviews, text: fmt.Sprintf("bug %d", id), advance: time.Hour},
		{name: "other Bugzilla", who: idNick, ch: chMatrix, text: fmt.Sprintf("https://bugzilla.kernel.org/show_bug.cgi?id=%d", id)},
		{name: "unknown bug says nothing", who: idNick, ch: chPublic, text: "bug 98765"},
		{name: "not a mention", who: idNick, ch: chPublic, text: "debug 5 buggy12"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.clk.Advance(s.advance)
			outs := e.say(s.who, s.ch, s.text)
			var got []int
			for _, o := range outs {
				if o.Kind != chat.KindPreview || o.Channel != s.ch.Key {
					t.Errorf("envelope %+v", o)
				}
				got = append(got, o.BugIDs...)
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Errorf("previewed %v, want %v: %q", got, s.want, text(outs))
			}
			mustNotContain(t, text(outs), s.hidden...)
		})
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, "")
	e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: e.bz, Now: e.clk.Now, Logger: e.r.d.Logger})
	// answered counts the answers to 10 commands and the slow-down replies.
	answered := func(who chat.Identity) (n, slow int) {
		for range 10 {
			for _, o := range e.say(who, chPublic, "!help") {
				if strings.HasPrefix(text([]chat.Outgoing{o}), "slow down") {
					slow++
				} else {
					n++
				}
			}
		}
		return n, slow
	}
	if n, slow := answered(idMallory); n != 5 || slow != 1 {
		t.Errorf("burst: %d answers and %d slow-down replies to 10 commands, want 5 and 1", n, slow)
	}
	if n, slow := answered(idCarol); n != 5 || slow != 1 {
		t.Errorf("another sender is limited separately: %d answers and %d slow-down replies, want 5 and 1", n, slow)
	}
	e.clk.Advance(4 * time.Second)
	if n, slow := answered(idMallory); n != 2 || slow != 0 {
		t.Errorf("after 4s: %d answers and %d slow-down replies, want 2 and 0 (one per window)", n, slow)
	}
	e.clk.Advance(SlowDownWindow)
	if n, slow := answered(idMallory); n != 5 || slow != 1 {
		t.Errorf("after the window: %d answers and %d slow-down replies, want 5 and 1", n, slow)
	}
	// Unidentified senders are limited per host, whatever their nick.
	clones := 0
	for i := range 10 {
		who := chat.Identity{Network: "irc", Nick: fmt.Sprintf("clone%d", i), Host: "flood.example.net"}
		for _, o := range e.say(who, chPublic, "!help") {
			if !strings.HasPrefix(text([]chat.Outgoing{o}), "slow down") {
				clones++
			}
		}
	}
	if clones != 5 {
		t.Errorf("10 nicks on one host: %d answers, want 5 (one limit per host)", clones)
	}
}

// Admit classifies without I/O: reads, writes, chat.
func TestAdmitPaths(t *testing.T) {
	e := newEnv(t, "")
	for _, tc := range []struct {
		text string
		want Path
	}{
		{"!help", PathRead},
		{"!pending", PathRead},
		{"!nosuchcommand", PathRead},
		{"!claim 1", PathWrite},
		{"!cc kernel 1", PathWrite},
		{"!unclaim 1", PathWrite},
		{"hello there", PathNone},
		{"see bug 123456", PathRead},
	} {
		in := chat.Incoming{Channel: chPublic, Target: chPublic.Name, Sender: idNick, Text: tc.text}
		if got := e.r.Admit(in).Path; got != tc.want {
			t.Errorf("Admit(%q).Path = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, "")
	e.r.Register(Command{Name: "boom", Usage: "boom", Help: "panics.", Run: func(context.Context, *Request) []chat.Line { panic("kaboom") }})
	got := text(e.say(idAlice, chPublic, "!boom"))
	mustContain(t, got, "something went wrong")
	mustNotContain(t, got, "kaboom")
}

// TestPendingAnonymousLogins: a mirror filled by an anonymous watcher has
// "security" for "security@gentoo.org"; such bugs are still unclaimed.
func TestPendingAnonymousLogins(t *testing.T) {
	e := newEnv(t, "")
	now := e.clk.Now()
	bugs := []bugzilla.Bug{
		{ID: 11, Summary: "short default", Product: "Gentoo Security", Component: "Kernel", Status: "CONFIRMED", IsOpen: true,
			AssignedTo: "security", CC: []string{"kernel"}, CreationTime: now.Add(-time.Hour), LastChangeTime: now},
		{ID: 12, Summary: "short claimed", Product: "Gentoo Security", Component: "Kernel", Status: "CONFIRMED", IsOpen: true,
			AssignedTo: "alice", CreationTime: now.Add(-time.Hour), LastChangeTime: now},
	}
	if err := e.st.SaveBugs(e.ctx, bugs, nil, true); err != nil {
		t.Fatal(err)
	}
	got := text(e.say(idNick, chPublic, "!pending"))
	mustContain(t, got, "Bug 11 (1h): short default")
	mustNotContain(t, got, "Bug 12")
	got = text(e.say(idNick, chPublic, "!pending gentoo-sources"))
	mustContain(t, got, "Bug 12")
	mustNotContain(t, got, "Bug 11")
}

// TestPreviewsScannedOnce: the preview regexes run once per message, in
// Admit; Serve answers the bugs Admit found without scanning the text
// again (here the text it gets no longer names the bug).
func TestPreviewsScannedOnce(t *testing.T) {
	e := newEnv(t, "")
	id := e.bug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: leak"})
	in := chat.Incoming{Channel: chPublic, Target: chPublic.Name, Sender: idNick, Text: fmt.Sprintf("see bug %d please", id)}
	a := e.r.Admit(in)
	if a.Path != PathRead || a.Command || a.Limited {
		t.Fatalf("Admit = %+v, want a preview on the read path", a)
	}
	in.Text = "nothing to see"
	out := e.r.Serve(e.ctx, in, a)
	if len(out) != 1 || len(out[0].BugIDs) != 1 || out[0].BugIDs[0] != id {
		t.Fatalf("Serve = %+v, want the preview of bug %d that Admit found", out, id)
	}
	mustContain(t, text(out), "gentoo-sources: leak")
}
