// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{"!claim 1", "!cc hardened,mips 2", "! x", "!!", "!\x00", "!ÄÖ", "!a\tb\nc", " !help  claim "} {
		f.Add("!", s)
	}
	f.Add("ksec:", "ksec:bug 5")
	f.Fuzz(func(t *testing.T, prefix, text string) {
		name, args, ok := Parse(prefix, text)
		if !ok {
			if name != "" || args != nil {
				t.Fatalf("not a command but name=%q args=%q", name, args)
			}
			return
		}
		if !validName(name) || !strings.Contains(strings.ToLower(text), name) {
			t.Fatalf("bad name %q from %q", name, text)
		}
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\n\r") {
				t.Fatalf("bad argument %q from %q", a, text)
			}
		}
	})
}

// noWrites is a Bugzilla that fails the test on any write.
type noWrites struct {
	Bugzilla
	t testing.TB
}

func (n noWrites) Update(ctx context.Context, id int, u bugzilla.Update) (bugzilla.UpdateResult, error) {
	n.t.Fatalf("unauthorised Bugzilla write to bug %d: %+v", id, u)
	return bugzilla.UpdateResult{}, nil
}

// FuzzUnauthorisedHandle: no input makes a write happen without
// authorization.
func FuzzUnauthorisedHandle(f *testing.F) {
	for _, s := range []string{"!claim 1", "!claim --force 1", "!claim", "!unclaim 1", "!cc hardened 1", "!cc bob@gentoo.org,hardened",
		"!CLAIM 1", "!cc\thardened\t1", "bug 1", "!help claim", "!pending", "!whoami", "!bug 1", "!claim -f 2 3"} {
		for who := range 5 {
			f.Add(uint8(who), s, "")
			f.Add(uint8(who), s, "$announce")
		}
	}
	e := newEnv(f, "key-admin")
	id := e.bug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: overflow"})
	e.announce(chMatrix, id, "$announce")
	e.announce(chPublic, id, "")
	e.r = New(Deps{Config: e.cfg, Store: e.st, Bugzilla: noWrites{Bugzilla: e.bz, t: f}, Now: e.clk.Now,
		Logger: e.r.d.Logger, RateBurst: 1 << 30, RateEvery: time.Nanosecond})
	unauthorised := []chat.Identity{
		idNick, idMallory, idCarol,
		{Network: "irc", Account: "console", Nick: "console"},
		{Network: "matrix", Account: "@alice:evil.org"},
		{Network: "matrix", Account: ""},
		{Network: "irc", Account: "", Nick: "mpagano"},
	}
	channels := []chat.Channel{chPublic, chMatrix, chPrivate}
	f.Fuzz(func(t *testing.T, who uint8, text, replyTo string) {
		e.r.d.Bugzilla = noWrites{Bugzilla: e.bz, t: t}
		ch := channels[int(who)%len(channels)]
		in := chat.Incoming{Channel: ch, Target: ch.Name, Sender: unauthorised[int(who)%len(unauthorised)], Text: text, ReplyTo: replyTo, ID: "$x"}
		before := e.writes()
		outs := e.r.Handle(context.Background(), in)
		if e.writes() != before {
			t.Fatalf("Bugzilla got a write for %q from %+v", text, in.Sender)
		}
		for _, o := range outs {
			for _, l := range o.Plain("irc") {
				if !utf8.ValidString(l) && utf8.ValidString(text) {
					t.Fatalf("invalid UTF-8 in reply %q", l)
				}
			}
		}
	})
}
