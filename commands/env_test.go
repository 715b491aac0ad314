// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/fakeclock"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport/irc"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// env is a router wired to a real store and the in-process Bugzilla.
type env struct {
	t     testing.TB
	ctx   context.Context
	clk   *fakeclock.Clock
	srv   *bugzillatest.Server
	st    *store.Store
	bz    *bugzilla.Client
	cfg   *config.Config
	r     *Router
	nextM int
}

// Channels used by the tests.
var (
	chPublic  = chat.Channel{Key: "irc:#gentoo-kernel", Network: "irc", Name: "#gentoo-kernel", Previews: true, Terse: true}
	chPrivate = chat.Channel{Key: "irc:#gentoo-security", Network: "irc", Name: "#gentoo-security", Private: true, Terse: true}
	chMatrix  = chat.Channel{Key: "matrix:!room:example.org", Network: "matrix", Name: "!room:example.org", Previews: true}
	chConsole = chat.Channel{Key: "console", Network: chat.NetConsole, Name: "console", Private: true}
)

// Identities used by the tests.
var (
	idAlice   = ircID("alice", "alice")                                                                       // security
	idKernel  = ircID("mpagano", "mpagano")                                                                   // maintainer via tree login
	idBobMx   = mxID("@bob:example.org")                                                                      // maintainer via tree matrix list
	idCarol   = ircID("carol", "carol")                                                                       // linked, no role
	idMallory = ircID("mallory", "mallory")                                                                   // not linked
	idNick    = ircID("", "alice")                                                                            // nick only
	idConsole = chat.Identity{Network: chat.NetConsole, Account: "console", Nick: "operator", Operator: true} // admin
)

// ircID and mxID build identities as the IRC and Matrix transports hand
// them to the core.
func ircID(account, nick string) chat.Identity {
	return chat.Identity{Network: "irc", Account: account, Nick: nick,
		Kind: "IRC account", HowToIdentify: "log in to your services account (/msg NickServ IDENTIFY ...)"}
}

func mxID(account string) chat.Identity {
	return chat.Identity{Network: "matrix", Account: account, Nick: account, Kind: "Matrix user"}
}

func testConfig(url string) *config.Config {
	return &config.Config{
		Bugzilla: config.Bugzilla{URL: url, PublicURL: "https://bugs.gentoo.org"},
		Watches:  []config.Watch{{Product: "Gentoo Security", Component: "Kernel"}},
		Commands: config.Commands{Prefix: "!", PendingLines: 3},
		Networks: []config.Network{irc.Network.Config, matrix.Network.Config},
		Sections: map[string]config.Section{irc.Name: &irc.Config{Nick: "ksecbot"}, matrix.Name: &matrix.Config{UserID: "@ksecbot:example.org"}},
		Trees: []config.Tree{
			{Name: "gentoo-sources", Aliases: []string{"gentoo-kernel", "dist-kernel"}, Packages: []string{"sys-kernel/gentoo-sources"},
				Bugzilla: []string{"kernel@gentoo.org"}, Handles: map[string][]string{"irc": {"mpagano"}, "matrix": {"@mpagano:example.org"}}, Members: map[string][]string{"matrix": {"@mpagano:example.org"}}},
			{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"},
				Bugzilla: []string{"hardened@gentoo.org"}, Handles: map[string][]string{"irc": {"blueness"}, "matrix": {"@bob:example.org"}}, Members: map[string][]string{"matrix": {"@bob:example.org"}}},
			{Name: "mips", Packages: []string{"sys-kernel/mips-sources"}, Bugzilla: []string{"nobody-mips@gentoo.org"}},
		},
		Users: []config.User{
			{Bugzilla: "alice@gentoo.org", Accounts: map[string]string{"irc": "alice", "matrix": "@alice:example.org"}, Roles: []string{"security"}},
			{Bugzilla: "kernel@gentoo.org", Accounts: map[string]string{"irc": "mpagano"}},
			{Bugzilla: "bob@gentoo.org", Accounts: map[string]string{"matrix": "@bob:example.org"}},
			{Bugzilla: "carol@gentoo.org", Accounts: map[string]string{"irc": "carol"}},
			{Bugzilla: "admin@gentoo.org", Roles: []string{"admin"}},
		},
	}
}

// newEnv starts bugzillatest, opens a store in t.TempDir() and builds a
// router with the bot's API key (apiKey "" = read-only).
func newEnv(t testing.TB, apiKey string, srvOpts ...bugzillatest.Option) *env {
	t.Helper()
	ctx := context.Background()
	clk := fakeclock.New(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	srv := bugzillatest.New(append([]bugzillatest.Option{bugzillatest.WithNow(clk.Now)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksecbot.db"), store.WithNow(clk.Now))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: srv.URL(), APIKey: apiKey, Retries: 0})
	if err != nil {
		t.Fatalf("bugzilla.New: %v", err)
	}
	cfg := testConfig(srv.URL())
	if err := st.SetComponentDefault(ctx, "Gentoo Security/Kernel", "security@gentoo.org"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := New(Deps{Config: cfg, Store: st, Bugzilla: bz, Now: clk.Now, Logger: log, RateBurst: 1000, RateEvery: time.Millisecond})
	return &env{t: t, ctx: ctx, clk: clk, srv: srv, st: st, bz: bz, cfg: cfg, r: r}
}

// bug files a bug in bugzillatest, mirrors it (baseline) and returns its id.
func (e *env) bug(nb bugzillatest.NewBug) int {
	id := e.srv.CreateBug(nb)
	e.mirror(id)
	return id
}

// mirror copies bugs from Bugzilla into the store, as the watcher would.
func (e *env) mirror(ids ...int) {
	admin, err := bugzilla.New(bugzilla.Options{BaseURL: e.srv.URL(), APIKey: "key-admin"})
	if err != nil {
		e.t.Fatal(err)
	}
	bugs, err := admin.Bugs(e.ctx, ids)
	if err != nil || len(bugs) != len(ids) {
		e.t.Fatalf("mirror %v: %d bugs, %v", ids, len(bugs), err)
	}
	if err := e.st.SaveBugs(e.ctx, bugs, nil, true); err != nil {
		e.t.Fatal(err)
	}
}

// announce records that bug id was announced in ch with network ID netID.
func (e *env) announce(ch chat.Channel, id int, netID string) {
	e.t.Helper()
	key := fmt.Sprintf("announce/%d/%s/%s", id, ch.Key, netID)
	if err := e.st.Enqueue(e.ctx, chat.Outgoing{Key: key, Kind: chat.KindAnnounce, Channel: ch.Key, Target: ch.Name,
		Lines: []chat.Line{chat.Line{}.Text("x")}, BugIDs: []int{id}}); err != nil {
		e.t.Fatal(err)
	}
	items, err := e.st.NextOutbox(e.ctx, []string{ch.Key}, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.Msg.Key == key {
			if err := e.st.MarkSent(e.ctx, it.ID, netID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// say sends a message and returns the replies.
func (e *env) say(who chat.Identity, ch chat.Channel, text string) []chat.Outgoing {
	e.nextM++
	in := chat.Incoming{Channel: ch, Target: ch.Name, Sender: who, Text: text}
	if ch.Network == "matrix" {
		in.ID = "$ev" + strings.Repeat("x", e.nextM%3) + string(rune('a'+e.nextM%26))
	}
	return e.r.Handle(e.ctx, in)
}

// text renders replies as plain IRC text, one string.
func text(outs []chat.Outgoing) string {
	var parts []string
	for _, o := range outs {
		parts = append(parts, strings.Join(o.Plain("irc"), "\n"))
	}
	return strings.Join(parts, "\n")
}

// writes counts PUT and POST requests bugzillatest received.
func (e *env) writes() int {
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

// sbug returns the server's bug.
func (e *env) sbug(id int) bugzillatest.Bug {
	e.t.Helper()
	b, ok := e.srv.Bug(id)
	if !ok {
		e.t.Fatalf("bug %d not on the server", id)
	}
	return b
}

// audit returns the audit log, newest first.
func (e *env) audit() []store.AuditEntry {
	e.t.Helper()
	log, err := e.st.AuditLog(e.ctx, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return log
}

func mustContain(t testing.TB, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("reply %q does not contain %q", got, w)
		}
	}
}

func mustNotContain(t testing.TB, got string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(got, b) {
			t.Errorf("reply %q contains %q", got, b)
		}
	}
}

func lastComment(b bugzillatest.Bug) string {
	if len(b.Comments) == 0 {
		return ""
	}
	return b.Comments[len(b.Comments)-1].Text
}
