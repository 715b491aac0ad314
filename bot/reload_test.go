// SPDX-License-Identifier: GPL-3.0-or-later

package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bot"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/transport/irc"
)

// reloadLive builds the configuration-derived state as the daemon
// does, for a SIGHUP to replace.
func reloadLive(t *testing.T, h *harness) *bot.Live {
	t.Helper()
	st, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: h.cfg.Bugzilla.URL, APIKey: h.cfg.Bugzilla.APIKey.Reveal(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return bot.NewLive(bot.Options{Config: h.cfg, Store: st, Bugzilla: bz, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// A SIGHUP applies trees at once and says which changed sections wait for
// a restart: every [bugzilla] key (the watcher and client are built once),
// catch_up and public_url included, used to be dropped without a word
// unless it was the URL, the key or the poll interval.
func TestReloadReportsWhatNeedsARestart(t *testing.T) {
	h := newHarness(t, "")
	s := reloadLive(t, h)
	for _, tc := range []struct {
		name   string
		edit   func(c *config.Config)
		want   []string
		trees  int
		catch  time.Duration
		public string
	}{
		{"new tree", func(c *config.Config) {
			c.Trees = append(slices.Clone(c.Trees), config.Tree{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}})
		}, nil, 3, h.cfg.Bugzilla.CatchUp.Duration, h.cfg.Bugzilla.PublicURL},
		{"catch_up", func(c *config.Config) { c.Bugzilla.CatchUp.Duration = 72 * time.Hour }, []string{"[bugzilla]"}, 2, h.cfg.Bugzilla.CatchUp.Duration, h.cfg.Bugzilla.PublicURL},
		{"public_url", func(c *config.Config) { c.Bugzilla.PublicURL = "https://b.example.org" }, []string{"[bugzilla]"}, 2, h.cfg.Bugzilla.CatchUp.Duration, h.cfg.Bugzilla.PublicURL},
		{"[irc] added", func(c *config.Config) {
			c.Sections = map[string]config.Section{irc.Name: &irc.Config{Server: "irc.example.org:6697", Nick: "ksecbot"}}
		}, []string{"[irc]"}, 2, h.cfg.Bugzilla.CatchUp.Duration, h.cfg.Bugzilla.PublicURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := *h.cfg
			tc.edit(&cfg)
			got := s.Reload(&cfg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("needs a restart: %q, want %q", got, tc.want)
			}
			now := s.Config()
			if len(now.Trees) != tc.trees || now.Bugzilla.CatchUp.Duration != tc.catch || now.Bugzilla.PublicURL != tc.public {
				t.Errorf("in effect: %d trees, catch_up %s, public_url %q; want %d, %s, %q (kept until a restart)",
					len(now.Trees), now.Bugzilla.CatchUp.Duration, now.Bugzilla.PublicURL, tc.trees, tc.catch, tc.public)
			}
			if now.Section(irc.Name) != nil {
				t.Errorf("[irc] applied without a restart: %+v", now.Section(irc.Name))
			}
		})
	}
}

// The per-sender command limit survives a SIGHUP: a flood that used up its
// burst is still limited by the router of the new configuration.
func TestReloadKeepsCommandLimits(t *testing.T) {
	h := newHarness(t, "")
	s := reloadLive(t, h)
	ch := chat.Channel{Key: "memnet:#k", Network: "memnet", Name: "#k"}
	in := func(i int) chat.Incoming {
		return chat.Incoming{Channel: ch, Target: "#k", Text: "!help", ID: fmt.Sprint(i),
			Sender: chat.Identity{Network: "memnet", Account: "flooder", Nick: "flooder"}}
	}
	limited := 0
	for i := range 20 {
		if s.Router().Admit(in(i)).Limited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("20 commands at once were never limited: the test cannot see the limit")
	}
	cfg := *h.cfg
	s.Reload(&cfg)
	if a := s.Router().Admit(in(99)); !a.Limited {
		t.Errorf("right after a reload the flooder's command was admitted: the reload reset the limit")
	}
}

// Writes to one bug take turns across a SIGHUP: a !claim that is waiting
// for Bugzilla when the reload builds a new command router still holds
// the bug, and a !cc of the same bug through the new router reads the bug
// only after the claim is written (the locks used to live in the router,
// so the new router's write went ahead on a read from before the claim).
func TestReloadKeepsBugWriteLocks(t *testing.T) {
	h := newHarness(t, `
[[user]]
bugzilla = "alice@gentoo.org"
irc_account = "alice"
roles = ["security"]
`)
	s := reloadLive(t, h)
	id := h.srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/gentoo-sources: a write race"})
	ch := chat.Channel{Key: "irc:#gentoo-security", Network: "irc", Name: "#gentoo-security", Private: true}
	alice := chat.Identity{Network: "irc", Account: "alice", Nick: "alice"}
	bugPath := fmt.Sprintf("/rest/bug/%d", id)
	requests := func() []string {
		var out []string
		for _, r := range h.srv.Requests() {
			if r.Path == bugPath {
				out = append(out, r.Method)
			}
		}
		return out
	}

	// Bugzilla holds every request for the bug: the claim's fresh read
	// waits, with the bug's lock held.
	h.srv.SetFault(bugzillatest.Fault{Mode: bugzillatest.FaultHang, Path: bugPath})
	replies := make(chan string, 2)
	before := s.Router()
	go func() { replies <- "claim: " + ask(t, before, ch, alice, fmt.Sprintf("!claim %d", id)) }()
	waitUntil(t, 10*time.Second, "the claim's read of the bug", func() bool { return len(requests()) == 1 })

	cfg := *h.cfg
	s.Reload(&cfg)
	if s.Router() == before {
		t.Fatal("the reload kept the old router: the test shows nothing")
	}
	after := s.Router()
	go func() { replies <- "cc: " + ask(t, after, ch, alice, fmt.Sprintf("!cc hardened %d", id)) }()
	// The !cc either waits for the bug's lock (right) or reads the bug
	// while the claim holds it (wrong: a second request).
	waitUntil(t, 10*time.Second, "the !cc to wait for the lock or read the bug", func() bool {
		return s.BugLocks().Waiting() == 1 || len(requests()) > 1
	})
	h.srv.ClearFault()
	got := []string{<-replies, <-replies}
	slices.Sort(got)
	t.Logf("replies: %q", got)
	if !strings.Contains(got[0], "hardened") || !strings.Contains(got[1], "claim") {
		t.Errorf("replies %q, want the claim's and the CC's", got)
	}
	if seq := requests(); !slices.Equal(seq, []string{"GET", "PUT", "GET", "PUT"}) {
		t.Errorf("Bugzilla saw %v for bug %d, want the claim's read and write, then the CC's: GET PUT GET PUT", seq, id)
	}
	b, ok := h.srv.Bug(id)
	if !ok || b.AssignedTo != "alice@gentoo.org" || !slices.Contains(b.CC, "hardened@gentoo.org") {
		t.Errorf("bug %d in Bugzilla: assignee %q, CC %v; want alice's claim and hardened's CC", id, b.AssignedTo, b.CC)
	}
}
