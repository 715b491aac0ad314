// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
)

// The release of held-back auto-CC logins runs every 5 s; it reads the
// held records and their bugs only when something changed since its last
// pass. Here a record written behind its back, for a public bug, is left
// alone until the mirror changes, and then released (one PUT).
func TestHeldReleaseSkippedWhileNothingChanged(t *testing.T) {
	ctx := context.Background()
	srv := bugzillatest.New()
	t.Cleanup(srv.Close)
	id := srv.CreateBug(bugzillatest.NewBug{Summary: "sys-kernel/hardened-sources: held"})
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ksecbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bz, err := bugzilla.New(bugzilla.Options{BaseURL: srv.URL(), APIKey: "key-ksecbot", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	public, err := bz.Bug(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	restricted := *public // another bug, restricted: its logins stay held
	restricted.ID, restricted.Groups = id+1000, []string{"security"}
	if err := st.SaveBugs(ctx, []bugzilla.Bug{*public, restricted}, nil, false); err != nil {
		t.Fatal(err)
	}
	if err := st.HoldAutoCC(ctx, restricted.ID, []string{"hardened@gentoo.org"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("[bugzilla]\nurl = \""+srv.URL()+"\"\n"), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(Options{Config: cfg, Store: st, Bugzilla: bz})
	a := &AutoCC{current: func() autoCCConfig { return live.Snapshot() }, store: st, bz: bz, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	puts := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Method == "PUT" {
				n++
			}
		}
		return n
	}

	a.releaseHeldAutoCC(ctx) // reads: the restricted bug stays held
	if err := st.HoldAutoCC(ctx, id, []string{"hardened@gentoo.org"}); err != nil {
		t.Fatal(err)
	}
	a.releaseHeldAutoCC(ctx)
	if n := puts(); n != 0 {
		t.Fatalf("%d PUTs: the pass read the held records although neither they (through the bot) nor the mirror changed", n)
	}
	restricted.Whiteboard = "B2"
	restricted.LastChangeTime = restricted.LastChangeTime.Add(time.Minute)
	if err := st.SaveBugs(ctx, []bugzilla.Bug{restricted}, nil, false); err != nil {
		t.Fatal(err)
	}
	a.releaseHeldAutoCC(ctx)
	if n := puts(); n != 1 {
		t.Fatalf("%d PUTs after the mirror changed, want the public bug's held login added once", n)
	}
	held, err := st.HeldAutoCC(ctx)
	if err != nil || len(held) != 1 || held[restricted.ID] == nil {
		t.Errorf("held after the release = %v %v, want only the restricted bug's", held, err)
	}
	a.releaseHeldAutoCC(ctx)
	a.releaseHeldAutoCC(ctx)
	if n := puts(); n != 1 {
		t.Errorf("%d PUTs after two more passes, want still 1", n)
	}
}
