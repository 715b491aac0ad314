// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

func kernelBug(summary string) bugzillatest.NewBug {
	return bugzillatest.NewBug{Summary: summary, Severity: "major", Whiteboard: "A2 [upstream]"}
}

func TestWriteCommands(t *testing.T) {
	const key = "key-ksecbot"
	tests := []struct {
		name   string
		apiKey string
		setup  func(e *env) int // returns the bug under test
		who    chat.Identity
		ch     chat.Channel
		text   string // %d is replaced by the bug id
		reply  []string
		hidden []string // must not appear in the reply
		writes int      // PUT/POST requests expected
		check  func(t *testing.T, e *env, id int)
	}{
		{
			name: "claim", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("sys-kernel/gentoo-sources: use-after-free")) },
			who:   idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"Claimed", "assigned to alice."}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				b := e.sbug(id)
				if b.AssignedTo != "alice@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
				if c := lastComment(b); c != "Claimed from #gentoo-kernel via ksecbot by alice." {
					t.Errorf("comment = %q", c)
				}
				m, ok, err := e.st.Bug(e.ctx, id)
				if err != nil || !ok || m.AssignedTo != "alice@gentoo.org" {
					t.Errorf("mirror not refreshed: %+v %v %v", m, ok, err)
				}
				a := e.audit()
				if len(a) == 0 || a[0].Result != "ok" || a[0].Command != "claim" || a[0].BugID != id || a[0].Login != "alice@gentoo.org" || a[0].Account != "alice" {
					t.Errorf("audit = %+v", a)
				}
			},
		},
		{
			name: "claim without number takes the last announced bug", apiKey: key,
			setup: func(e *env) int {
				old := e.bug(kernelBug("older"))
				e.announce(chPublic, old, "")
				e.clk.Advance(time.Minute)
				id := e.bug(kernelBug("newer"))
				e.announce(chPublic, id, "")
				e.clk.Advance(14 * time.Minute)
				return id
			},
			who: idKernel, ch: chPublic, text: "!claim",
			reply: []string{"Claimed", "assigned to kernel."}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "kernel@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
				if b := e.sbug(id - 1); b.AssignedTo != "security@gentoo.org" {
					t.Errorf("older bug changed: %q", b.AssignedTo)
				}
			},
		},
		{
			name: "claim without number after the window", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("stale"))
				e.announce(chPublic, id, "")
				e.clk.Advance(16 * time.Minute)
				return id
			},
			who: idAlice, ch: chPublic, text: "!claim",
			reply: []string{"Which bug?", "!claim <bug>"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "security@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
			},
		},
		{
			name: "claim by Matrix reply to an announcement, tree maintainer by matrix ID", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("replied"))
				e.announce(chMatrix, id, "$announce1")
				e.bug(kernelBug("announced later"))
				e.announce(chMatrix, id+1, "$announce2")
				return id
			},
			who: idBobMx, ch: chMatrix, text: "!claim", // ReplyTo set below
			reply: []string{"Claimed", "assigned to bob."}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "bob@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
				if c := lastComment(e.sbug(id)); c != "Claimed from !room:example.org via ksecbot by @bob:example.org." {
					t.Errorf("comment = %q", c)
				}
			},
		},
		{
			name: "claim of a claimed bug names the owner and changes nothing", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("taken"))
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "hardened@gentoo.org" })
				return id
			},
			who: idKernel, ch: chPublic, text: "!claim %d",
			reply: []string{"already claimed by hardened;", "--force"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "hardened@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
			},
		},
		{
			name: "claim --force by a maintainer is refused", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("taken"))
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "hardened@gentoo.org" })
				return id
			},
			who: idKernel, ch: chPublic, text: "!claim --force %d",
			reply: []string{"needs the security or admin role"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "hardened@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
			},
		},
		{
			name: "claim --force by the console admin", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("taken"))
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "hardened@gentoo.org" })
				return id
			},
			who: idConsole, ch: chConsole, text: "!claim --force %d",
			reply: []string{"Claimed", "admin@gentoo.org"}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "admin@gentoo.org" || lastComment(b) != "Claimed from the ksecbot console via ksecbot by console." {
					t.Errorf("assignee = %q, comment %q", b.AssignedTo, lastComment(b))
				}
			},
		},
		{
			name: "unclaim", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("mine"))
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "alice@gentoo.org" })
				e.mirror(id)
				return id
			},
			who: idAlice, ch: chPublic, text: "!unclaim %d",
			reply: []string{"Unclaimed", "back with security."}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				b := e.sbug(id)
				if b.AssignedTo != "security@gentoo.org" || lastComment(b) != "Unclaimed from #gentoo-kernel via ksecbot by alice." {
					t.Errorf("assignee = %q, comment %q", b.AssignedTo, lastComment(b))
				}
				if m, _, _ := e.st.Bug(e.ctx, id); m == nil || m.AssignedTo != "security@gentoo.org" {
					t.Errorf("mirror not refreshed: %+v", m)
				}
			},
		},
		{
			name: "unclaim of someone else's bug by a maintainer", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("theirs"))
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "alice@gentoo.org" })
				return id
			},
			who: idKernel, ch: chPublic, text: "!unclaim %d",
			reply: []string{"assigned to alice, not you"}, writes: 0,
		},
		{
			name: "cc tree", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("sys-kernel/hardened-sources: overflow")) },
			who:   idAlice, ch: chPublic, text: "!cc hardened %d",
			reply: []string{"CC'd on bug", ": hardened https", "hardened: blueness"}, hidden: []string{"@gentoo.org"}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				b := e.sbug(id)
				if !slices.Contains(b.CC, "hardened@gentoo.org") || !slices.Contains(b.CC, "kernel@gentoo.org") {
					t.Errorf("CC = %v", b.CC)
				}
				if m, _, _ := e.st.Bug(e.ctx, id); m == nil || !slices.Contains(m.CC, "hardened@gentoo.org") {
					t.Errorf("mirror not refreshed: %+v", m)
				}
			},
		},
		{
			name: "cc several trees and a login, only the missing ones", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPublic, text: "!cc gentoo-kernel,hardened,bob@gentoo.org %d",
			reply: []string{"bob, hardened", "gentoo-sources: mpagano", "hardened: blueness"}, writes: 1,
			hidden: []string{"@gentoo.org", "kernel,"},
			check: func(t *testing.T, e *env, id int) {
				b := e.sbug(id)
				want := []string{"bob@gentoo.org", "hardened@gentoo.org", "kernel@gentoo.org"}
				got := slices.Sorted(slices.Values(b.CC))
				if !slices.Equal(got, want) {
					t.Errorf("CC = %v, want %v", got, want)
				}
			},
		},
		{
			name: "cc login", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPrivate, text: "!cc bob@gentoo.org %d",
			reply: []string{"CC'd on bug", "bob@gentoo.org"}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); !slices.Contains(b.CC, "bob@gentoo.org") {
					t.Errorf("CC = %v", b.CC)
				}
			},
		},
		{
			name: "cc already present", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) }, // kernel@ is the component's default CC
			who:   idAlice, ch: chPublic, text: "!cc gentoo-sources %d",
			reply: []string{"Already in CC", ": kernel;", "nothing changed"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if a := e.audit(); len(a) == 0 || !strings.HasPrefix(a[0].Result, "no-op") {
					t.Errorf("audit = %+v", a)
				}
			},
		},
		{
			name: "cc unknown login", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPublic, text: "!cc mips %d",
			reply: []string{"does not know", "!trees"}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); slices.Contains(b.CC, "nobody-mips@gentoo.org") {
					t.Errorf("CC = %v", b.CC)
				}
				if a := e.audit(); len(a) == 0 || a[0].ErrCode != "51" {
					t.Errorf("audit = %+v", a)
				}
			},
		},
		{
			name: "cc of something that is neither tree nor login", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPublic, text: "!cc nosuchtree %d",
			reply: []string{"I know no tree", "!trees"}, writes: 0,
		},
		{
			name: "read-only mode", apiKey: "",
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"read-only: no Bugzilla API key"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "security@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
			},
		},
		{
			name: "unlinked user", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idMallory, ch: chPublic, text: "!claim %d",
			reply: []string{"Sorry", "not linked", `irc_account = "mallory"`}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				if a := e.audit(); len(a) == 0 || a[0].Result != "refused" || a[0].Account != "mallory" {
					t.Errorf("audit = %+v", a)
				}
			},
		},
		{
			name: "nick-only IRC user", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idNick, ch: chPublic, text: "!cc hardened %d",
			reply: []string{"not identified", "NickServ"}, writes: 0,
		},
		{
			name: "IRC account named console is not the console", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   chat.Identity{Network: "irc", Account: "console", Nick: "console"}, ch: chPublic, text: "!claim %d",
			reply: []string{"not linked"}, writes: 0,
		},
		{
			name: "wrong role", apiKey: key,
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idCarol, ch: chPublic, text: "!claim %d",
			reply: []string{"Sorry", "needs the role", "carol@gentoo.org"}, writes: 0,
		},
		{
			name: "restricted bug in a public channel", apiKey: "key-security", // the bot may see restricted bugs
			setup: func(e *env) int {
				return e.bug(bugzillatest.NewBug{Summary: "SECRET embargoed flaw", Whiteboard: "A1 [embargo]", Groups: []string{"security"}})
			},
			who: idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"Claimed", "assigned to alice."}, hidden: []string{"SECRET", "embargo", "@gentoo.org"}, writes: 1,
			check: func(t *testing.T, e *env, id int) {
				if b := e.sbug(id); b.AssignedTo != "alice@gentoo.org" {
					t.Errorf("assignee = %q", b.AssignedTo)
				}
			},
		},
		{
			name: "bug outside the watches", apiKey: key,
			setup: func(e *env) int {
				return e.srv.CreateBug(bugzillatest.NewBug{Product: "Gentoo Linux", Component: "Current packages", Summary: "x"})
			},
			who: idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"does not watch"}, writes: 0,
		},
		{
			name: "unknown bug", apiKey: key,
			setup: func(e *env) int { return 4242 },
			who:   idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"Bug 4242 does not exist"}, writes: 0,
		},
		{
			name: "bad API key goes to the log, not the channel", apiKey: "key-revoked",
			setup: func(e *env) int { return e.bug(kernelBug("overflow")) },
			who:   idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"refused ksecbot's credentials", "operator"}, hidden: []string{"key-revoked"}, writes: 0,
		},
		{
			name: "Bugzilla down", apiKey: key,
			setup: func(e *env) int {
				id := e.bug(kernelBug("overflow"))
				e.srv.FailNext(10, 503)
				return id
			},
			who: idAlice, ch: chPublic, text: "!claim %d",
			reply: []string{"not answering", "try again"}, writes: 0,
			check: func(t *testing.T, e *env, id int) {
				e.srv.ClearFault()
				if a := e.audit(); len(a) == 0 || a[0].ErrCode == "" {
					t.Errorf("audit = %+v", a)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.apiKey)
			id := tc.setup(e)
			e.clk.Advance(30 * time.Second) // Bugzilla has second precision
			before := e.writes()
			txt := tc.text
			if strings.Contains(txt, "%d") {
				txt = fmt.Sprintf(txt, id)
			}
			in := chat.Incoming{Channel: tc.ch, Target: tc.ch.Name, Sender: tc.who, Text: txt, ID: "$cmd1"}
			if tc.ch.Network == "matrix" {
				in.ReplyTo = "$announce1"
			}
			outs := e.r.Handle(e.ctx, in)
			if len(outs) != 1 {
				t.Fatalf("got %d replies, want 1: %q", len(outs), text(outs))
			}
			o := outs[0]
			if o.Kind != chat.KindReply || o.Channel != tc.ch.Key || o.Target != tc.ch.Name || o.ReplyTo != "$cmd1" || o.Key != "reply/$cmd1" {
				t.Errorf("reply envelope = %+v", o)
			}
			got := text(outs)
			mustContain(t, got, tc.reply...)
			mustNotContain(t, got, tc.hidden...)
			if n := e.writes() - before; n != tc.writes {
				t.Errorf("%d Bugzilla writes, want %d", n, tc.writes)
			}
			if tc.check != nil {
				tc.check(t, e, id)
			}
		})
	}
}

// TestConcurrentClaims: two users claim the same bug at the same moment;
// one wins, the other is told who has it.
func TestConcurrentClaims(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	id := e.bug(kernelBug("race"))
	who := []chat.Identity{idAlice, idKernel}
	replies := make([]string, len(who))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, w := range who {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = text(e.r.Handle(e.ctx, chat.Incoming{Channel: chPublic, Target: chPublic.Name, Sender: w, Text: fmt.Sprintf("!claim %d", id)}))
		}()
	}
	close(start)
	wg.Wait()
	b := e.sbug(id)
	winner := -1
	for i, r := range replies {
		if strings.HasPrefix(r, "Claimed") {
			if winner >= 0 {
				t.Fatalf("both claims won: %q", replies)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("nobody won: %q", replies)
	}
	loser := 1 - winner
	wantLogin := map[int]string{0: "alice@gentoo.org", 1: "kernel@gentoo.org"}
	if b.AssignedTo != wantLogin[winner] {
		t.Errorf("assignee %q, winner %d", b.AssignedTo, winner)
	}
	mustContain(t, replies[loser], "already claimed by "+strings.TrimSuffix(wantLogin[winner], "@gentoo.org")+";")
	claims := 0
	for _, c := range b.Comments {
		if strings.HasPrefix(c.Text, "Claimed from") {
			claims++
		}
	}
	if claims != 1 {
		t.Errorf("%d claim comments, want 1", claims)
	}
}

// racingBugzilla is the in-process Bugzilla, except that every update is
// answered as if someone else had assigned the bug to other at the same
// moment (a claim outside this process).
type racingBugzilla struct {
	Bugzilla
	other string
}

func (f racingBugzilla) Update(ctx context.Context, id int, u bugzilla.Update) (bugzilla.UpdateResult, error) {
	b, err := f.Bug(ctx, id)
	if err != nil {
		return bugzilla.UpdateResult{}, err
	}
	return bugzilla.UpdateResult{ID: id, LastChangeTime: b.LastChangeTime.Add(time.Second),
		Changes: map[string]bugzilla.Change{"assigned_to": {Removed: b.AssignedTo, Added: f.other}}}, nil
}

// TestClaimRaceComparesWholeAddresses: a caller linked to the bare login
// "kernel" whose claim lost to kernel@evil.example is told so; the login
// at another domain is another account (policy.SameAddress), so the bot
// neither reports the claim as the caller's nor records it.
func TestClaimRaceComparesWholeAddresses(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	e.cfg.Users = append(e.cfg.Users, config.User{Bugzilla: "kernel", Accounts: map[string]string{"irc": "kbare"}, Roles: []string{config.RoleMaintainer}})
	e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: racingBugzilla{Bugzilla: e.bz, other: "kernel@evil.example"}, Now: e.clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RateBurst: 1000, RateEvery: time.Millisecond})
	id := e.bug(kernelBug("sys-kernel/gentoo-sources: race"))
	kbare := chat.Identity{Network: "irc", Account: "kbare", Nick: "kbare"}
	got := text(e.say(kbare, chPrivate, fmt.Sprintf("!claim %d", id)))
	mustContain(t, got, "is now assigned to", "kernel@evil.example", "who claimed it at the same moment")
	mustNotContain(t, got, "Claimed:")
	if b, ok, err := e.st.Bug(e.ctx, id); err != nil || !ok || b.AssignedTo != "kernel@evil.example" {
		t.Errorf("mirror: %+v, %v, %v; want assigned to kernel@evil.example", b, ok, err)
	}
}

// TestUnclaimedAnonymousLogins: a mirror filled by an anonymous watcher
// shows "security" for the default assignee "security@gentoo.org"; the bug
// is still unclaimed (reminders fire), and a bug assigned to a linked
// user's short login is claimed. Only this recognition compares logins by
// name; rights and CCs use whole addresses.
func TestUnclaimedAnonymousLogins(t *testing.T) {
	e := newEnv(t, "")
	for _, tc := range []struct {
		assignee string
		want     bool
	}{
		{"security", true},
		{"security@gentoo.org", true},
		{"SECURITY@gentoo.org", true},
		{"alice", false},
		{"alice@gentoo.org", false},
		{"security@evil.example", false},
	} {
		b := &bugzilla.Bug{ID: 1, Product: "Gentoo Security", Component: "Kernel", AssignedTo: tc.assignee}
		if got := e.r.unclaimed(e.ctx, b); got != tc.want {
			t.Errorf("Unclaimed(assigned to %q) = %v, want %v", tc.assignee, got, tc.want)
		}
	}
}
