// SPDX-License-Identifier: GPL-3.0-or-later

package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// A version 6 database kept its state as joined strings in kv. The
// upgrade moves them to tables with columns and keeps what they meant:
// the held-back logins in their order, every episode's state and number
// (also for channel keys holding a colon), the key outage's cursor; kv
// keeps only what is not state (the CVE basis).
func TestMigrateV6StateTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	db, err := sql.Open("sqlite3", dsn(path, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v6 := &Store{db: db, now: time.Now, write: make(chan struct{}, 1)}
	if err := v6.migrate(ctx, 6); err != nil {
		t.Fatal(err)
	}
	outage := time.Date(2026, 11, 2, 3, 4, 5, 6, time.UTC)
	for _, kv := range [][2]string{
		{"autocc_held:12", "kernel@gentoo.org,hardened@gentoo.org,a@example.org"},
		{"autocc_held:13", ""}, // nothing held: no row
		{"channel_trouble:irc:#kernel", "trouble:2"},
		{"channel_refuses:matrix:!room:example.org", "ok:1"},
		{"network_down:irc", "down:3"},
		{"bugzilla_key_state", "refused:4"},
		{"bugzilla_key_outage", "1793588645000000006"},
		{"cve_basis", "sha256:abc"},
	} {
		if _, err := db.ExecContext(ctx, "INSERT INTO kv(key, value) VALUES (?, ?)", kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if got := fromTS(1793588645000000006); !got.Equal(outage) {
		t.Fatalf("test data: the outage cursor is %v, want %v", got, outage)
	}
	db.Close()

	s := openAt(t, path, newClock())
	if v, _ := s.SchemaVersion(ctx); v != latestSchema {
		t.Fatalf("schema version = %d, want %d", v, latestSchema)
	}
	held, err := s.HeldAutoCC(ctx)
	if want := map[int][]string{12: {"kernel@gentoo.org", "hardened@gentoo.org", "a@example.org"}}; err != nil || !reflect.DeepEqual(held, want) {
		t.Errorf("HeldAutoCC = %v %v, want %v", held, err, want)
	}
	for _, tc := range []struct {
		kind, subject string
		want          Episode
	}{
		{EpisodeChannelTrouble, "irc:#kernel", Episode{"trouble", 2}},
		{EpisodeChannelRefuses, "matrix:!room:example.org", Episode{"ok", 1}},
		{EpisodeNetworkDown, "irc", Episode{"down", 3}},
		{EpisodeBugzillaKey, "", Episode{"refused", 4}},
		{EpisodeNetworkDown, "matrix", Episode{}},
	} {
		if got, err := s.Episode(ctx, tc.kind, tc.subject); err != nil || got != tc.want {
			t.Errorf("Episode(%s, %q) = %+v %v, want %+v", tc.kind, tc.subject, got, err, tc.want)
		}
	}
	if since, baseline, ok, err := s.Outage(ctx); err != nil || !ok || baseline || !since.Equal(outage) {
		t.Errorf("Outage = %v %v %v, want %v", since, ok, err, outage)
	}
	if basis, err := s.CVEBasis(ctx); err != nil || basis != "sha256:abc" {
		t.Errorf("CVEBasis = %q %v", basis, err)
	}
	if n := count(t, s, "SELECT COUNT(*) FROM kv"); n != 1 {
		t.Errorf("%d rows left in kv, want only the CVE basis", n)
	}

	// The tables work as the bot uses them.
	if err := s.HoldAutoCC(ctx, 12, []string{"b@example.org", "a@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseHeldAutoCC(ctx, 99); err != nil {
		t.Fatal(err)
	}
	if held, _ := s.HeldAutoCC(ctx); !reflect.DeepEqual(held, map[int][]string{12: {"b@example.org", "a@example.org"}}) {
		t.Errorf("HeldAutoCC after holding again = %v", held)
	}
	if err := s.ReleaseHeldAutoCC(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if held, _ := s.HeldAutoCC(ctx); len(held) != 0 {
		t.Errorf("HeldAutoCC after release = %v", held)
	}
	if err := s.SetEpisode(ctx, EpisodeNetworkDown, "irc", Episode{"ok", 3}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Episode(ctx, EpisodeNetworkDown, "irc"); got != (Episode{"ok", 3}) {
		t.Errorf("Episode after SetEpisode = %+v", got)
	}
	if began, err := s.BeginOutage(ctx, outage.Add(time.Hour), false); err != nil || began {
		t.Errorf("BeginOutage during the migrated outage = %v %v, want false (it began earlier)", began, err)
	}
	if err := s.EndOutage(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Outage(ctx); ok {
		t.Error("the outage is still recorded after EndOutage")
	}
	if began, err := s.BeginOutage(ctx, outage.Add(time.Hour), false); err != nil || !began {
		t.Errorf("BeginOutage after the end = %v %v, want true", began, err)
	}
}
