// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
)

// TestWritePolicyEnforced runs the write commands through the router
// against the in-process Bugzilla and checks that every refusal of the
// write policy (package policy) reaches Bugzilla as no write at all, and
// that the allowed cases do write. The rules themselves are in
// policy/write_test.go; this test shows commands asks the policy.
func TestWritePolicyEnforced(t *testing.T) {
	restricted := func(e *env) int {
		return e.bug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: SECRET embargoed flaw", Whiteboard: "A1", Groups: []string{"security"}})
	}
	restrictedCCd := func(e *env) int {
		return e.bug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: SECRET embargoed flaw", Whiteboard: "A1", Groups: []string{"security"},
			CC: []string{"hardened@gentoo.org"}})
	}
	public := func(e *env) int { return e.bug(kernelBug("sys-kernel/hardened-sources: overflow")) }
	tests := []struct {
		name    string
		setup   func(e *env) int
		who     chat.Identity
		ch      chat.Channel
		text    string
		reply   []string
		hidden  []string
		writes  int
		noReads bool // refused before Bugzilla is asked anything
		audit   string
	}{
		{name: "tree maintainer claims a restricted bug", setup: restricted, who: idKernel, ch: chPrivate, text: "!claim %d",
			reply: []string{"is restricted", "only the security team", "nothing was changed"}, audit: "refused: restricted"},
		{name: "tree maintainer ccs on a restricted bug", setup: restricted, who: idKernel, ch: chPrivate, text: "!cc hardened %d",
			reply: []string{"is restricted", "only the security team"}, audit: "refused: restricted"},
		{name: "matrix tree maintainer ccs on a restricted bug", setup: restricted, who: idBobMx, ch: chMatrix, text: "!cc gentoo-sources %d",
			reply: []string{"is restricted"}, hidden: []string{"SECRET"}, audit: "refused: restricted"},
		{name: "tree maintainer unclaims a restricted bug assigned to them",
			setup: func(e *env) int {
				id := restricted(e)
				e.srv.UpdateBug(id, func(b *bugzillatest.Bug) { b.AssignedTo = "kernel@gentoo.org" })
				return id
			},
			who: idKernel, ch: chPrivate, text: "!unclaim %d", reply: []string{"is restricted"}, audit: "refused: restricted"},
		{name: "security ccs an outside login on a restricted bug", setup: restricted, who: idAlice, ch: chPrivate, text: "!cc eve@example.com %d",
			reply: []string{"CC'd on bug", "eve@example.com"}, writes: 1, audit: "ok"},
		{name: "security ccs a tree on a restricted bug in a public channel", setup: restricted, who: idAlice, ch: chPublic, text: "!cc hardened %d",
			reply: []string{"CC'd on restricted bug", "details withheld"}, hidden: []string{"hardened", "blueness", "SECRET", "@"}, writes: 1, audit: "ok"},
		// Who is CC'd already on a restricted bug tells which trees it
		// concerns: in a public channel the reply names no login.
		{name: "security ccs a tree already in CC of a restricted bug in a public channel", setup: restrictedCCd, who: idAlice, ch: chPublic, text: "!cc hardened %d",
			reply: []string{"Already in CC of restricted bug", "nothing changed"}, hidden: []string{"hardened", "blueness", "SECRET", "@"}, audit: "no-op: already in CC"},
		{name: "security ccs a tree already in CC of a restricted bug in a private channel", setup: restrictedCCd, who: idAlice, ch: chPrivate, text: "!cc hardened %d",
			reply: []string{"Already in CC of bug", "hardened@gentoo.org"}, audit: "no-op: already in CC"},
		{name: "security claims a restricted bug", setup: restricted, who: idAlice, ch: chPrivate, text: "!claim %d",
			reply: []string{"Claimed"}, writes: 1, audit: "ok"},
		{name: "tree maintainer ccs an outside login", setup: public, who: idKernel, ch: chPublic, text: "!cc eve@example.com %d",
			reply: []string{"may !cc only tree names", "eve is none of them", "nothing was changed"}, hidden: []string{"@example.com"},
			noReads: true, audit: "refused: outside-login"},
		{name: "tree maintainer ccs a tree login at another domain", setup: public, who: idKernel, ch: chPrivate, text: "!cc gentoo-sources,kernel@example.net %d",
			reply: []string{"kernel@example.net is none of them"}, noReads: true, audit: "refused: outside-login"},
		{name: "tree maintainer ccs a linked user's login", setup: public, who: idKernel, ch: chPublic, text: "!cc carol@gentoo.org %d",
			reply: []string{"CC'd on bug", "carol"}, hidden: []string{"carol@"}, writes: 1, audit: "ok"},
		{name: "tree maintainer claims a public bug", setup: public, who: idKernel, ch: chPublic, text: "!claim %d",
			reply: []string{"Claimed"}, writes: 1, audit: "ok"},
		{name: "tree maintainer forces a claim", setup: public, who: idKernel, ch: chPublic, text: "!claim --force %d",
			reply: []string{"--force needs the security or admin role"}, noReads: true, audit: "refused: force"},
		{name: "repeated tree highlights once", setup: public, who: idAlice, ch: chPublic, text: "!cc hardened,hardened,HARDENED %d",
			reply: []string{"hardened: blueness"}, writes: 1, audit: "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "key-security") // the bot's account may see restricted bugs
			e.srv.AddUser(bugzillatest.User{Login: "eve@example.com", RealName: "Eve"})
			e.srv.AddUser(bugzillatest.User{Login: "carol@gentoo.org", RealName: "Carol"})
			id := tc.setup(e)
			e.clk.Advance(30 * time.Second)
			before, reqs := e.writes(), len(e.srv.Requests())
			got := text(e.say(tc.who, tc.ch, fmt.Sprintf(tc.text, id)))
			mustContain(t, got, tc.reply...)
			mustNotContain(t, got, tc.hidden...)
			if n := e.writes() - before; n != tc.writes {
				t.Errorf("%d Bugzilla writes, want %d", n, tc.writes)
			}
			if tc.noReads && len(e.srv.Requests()) != reqs {
				t.Errorf("Bugzilla was asked %d requests for a command refused up front", len(e.srv.Requests())-reqs)
			}
			if a := e.audit(); len(a) == 0 || a[0].Result != tc.audit {
				t.Errorf("audit = %+v, want newest result %q", a, tc.audit)
			}
			if strings.Count(got, "blueness") > 1 {
				t.Errorf("a nick is highlighted more than once: %q", got)
			}
		})
	}
}

// TestTreeLoginMatchesExactly: a [[user]] whose login has a tree login's
// local part at another domain is not that tree's maintainer.
func TestTreeLoginMatchesExactly(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	e.cfg.Users = append(e.cfg.Users, config.User{Bugzilla: "kernel@evil.example", Accounts: map[string]string{"irc": "eve"}})
	e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: e.bz, Now: e.clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateBurst: 1000, RateEvery: time.Millisecond})
	id := e.bug(kernelBug("sys-kernel/gentoo-sources: overflow"))
	eve := chat.Identity{Network: "irc", Account: "eve", Nick: "eve"}
	mustNotContain(t, text(e.say(eve, chPrivate, "!whoami")), "maintainer of")
	before := e.writes()
	got := text(e.say(eve, chPrivate, fmt.Sprintf("!claim %d", id)))
	mustContain(t, got, "needs the role")
	if e.writes() != before {
		t.Errorf("a write was made for a login at another domain")
	}
}

// TestBugOutsideWatchesOnlyLink: !bug and previews of a bug in another
// product give only the link.
func TestBugOutsideWatchesOnlyLink(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	id := e.srv.CreateBug(bugzillatest.NewBug{Product: "Gentoo Linux", Component: "Current packages", Summary: "private-ish other product summary",
		AssignedTo: "someone@example.org"})
	for _, ch := range []chat.Channel{chPublic, chPrivate} {
		got := text(e.say(idNick, ch, fmt.Sprintf("!bug %d", id)))
		mustContain(t, got, fmt.Sprintf("Bug %d: https://bugs.gentoo.org/show_bug.cgi?id=%d", id, id))
		mustNotContain(t, got, "summary", "someone", "Current packages")
	}
	got := text(e.say(idNick, chPublic, fmt.Sprintf("look at bug %d please", id)))
	mustContain(t, got, fmt.Sprintf("show_bug.cgi?id=%d", id))
	mustNotContain(t, got, "summary", "someone")
}

// dm sends a private message to the bot, as the IRC transport hands it
// over (a channel named after the sender, never marked private), and
// returns the replies.
func (e *env) dm(who chat.Identity, text string) []chat.Outgoing {
	ch := chat.Channel{Key: chat.ChannelKey(who.Network, who.Nick), Network: who.Network, Name: who.Nick}
	return e.r.Handle(e.ctx, chat.Incoming{Channel: ch, Target: who.Nick, Direct: true, Sender: who, Text: text})
}

// TestPrivateMessageSeesWhatPublicSees: a private message is not a
// private channel (policy.Private): anyone can open one, so it gets no
// e-mail address, no restricted bug's details, no per-tree statistics and
// no restricted bug in the CVE counts, exactly as a public channel; a
// channel marked private gets them.
func TestPrivateMessageSeesWhatPublicSees(t *testing.T) {
	e := newEnv(t, "key-ksecbot")
	secret := e.bug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: SECRET embargoed flaw", Groups: []string{"security"}})
	// A per-tree figure for !stats: hardened CC'd an hour after filing.
	b, _, err := e.st.Bug(e.ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	b.CC, b.LastChangeTime = append(b.CC, "hardened@gentoo.org"), b.CreationTime.Add(time.Hour)
	if err := e.st.SaveBugs(e.ctx, []bugzilla.Bug{*b}, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, who := range []chat.Identity{idNick, idAlice} {
		for _, cmd := range []string{"!trees", "!whoami", fmt.Sprintf("!bug %d", secret), "!stats"} {
			got := text(e.dm(who, cmd))
			mustNotContain(t, got, "@gentoo.org", "SECRET", "To CC per tree", "hardened median")
		}
	}
	mustContain(t, text(e.dm(idAlice, fmt.Sprintf("!bug %d", secret))), "restricted, details withheld")
	mustContain(t, text(e.dm(idAlice, "!stats")), "shown in private channels only")
	got := text(e.say(idAlice, chPrivate, "!stats"))
	mustContain(t, got, "To CC per tree: hardened")
	mustContain(t, text(e.say(idAlice, chPrivate, "!trees")), "hardened@gentoo.org")
	mustNotContain(t, text(e.say(idAlice, chPublic, "!stats")), "To CC per tree")
}
