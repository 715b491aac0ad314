// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

func roomNames(cs []chat.Channel) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// ReloadChannels on a transport that is not running: needRestart for
// other [matrix] changes, invalid room lists rejected with the old ones
// kept.
func TestReloadChannelsConfig(t *testing.T) {
	t.Parallel()
	base := func() *Config {
		return &Config{
			Homeserver: "http://127.0.0.1:1", UserID: "@bot:localhost", Password: "pw",
			StatePath: "/nonexistent/matrix.db",
			Rooms:     []Room{{ID: "!a:localhost"}, {ID: "#b:localhost", Private: true}},
			Admins:    []string{"@alice:localhost"},
		}
	}
	no := false
	tests := []struct {
		name        string
		edit        func(c *Config)
		wantRestart bool
		wantErr     string
		want        []string
	}{
		{"unchanged", func(*Config) {}, false, "", []string{"!a:localhost", "#b:localhost"}},
		{"rooms only", func(c *Config) {
			c.Rooms = []Room{{ID: "#b:localhost", Previews: &no}, {ID: "!c:localhost", Private: true}}
		}, false, "", []string{"#b:localhost", "!c:localhost"}},
		{"no rooms", func(c *Config) { c.Rooms = nil }, false, "", nil},
		{"homeserver", func(c *Config) { c.Homeserver = "http://127.0.0.1:2" }, true, "", []string{"!a:localhost", "#b:localhost"}},
		{"encryption", func(c *Config) { c.Encryption = true }, true, "", []string{"!a:localhost", "#b:localhost"}},
		// the next login uses it: a network stopped by a refused token
		// or password tries the fixed one on SIGHUP
		{"password", func(c *Config) { c.Password = "new" }, false, "", []string{"!a:localhost", "#b:localhost"}},
		{"admins and a room", func(c *Config) {
			c.Admins = nil
			c.Rooms = append(c.Rooms, Room{ID: "!c:localhost"})
		}, true, "", []string{"!a:localhost", "#b:localhost", "!c:localhost"}},
		{"invalid id", func(c *Config) {
			c.Rooms = append(c.Rooms, Room{ID: "room"})
		}, false, "neither a room ID", []string{"!a:localhost", "#b:localhost"}},
		{"duplicate", func(c *Config) {
			c.Rooms = append(c.Rooms, Room{ID: "!a:localhost"})
		}, false, "listed twice", []string{"!a:localhost", "#b:localhost"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := New(base(), Options{Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			next := base()
			tc.edit(next)
			restart, err := tr.ReloadChannels(next)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReloadChannels error = %v, want one containing %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ReloadChannels: %v", err)
			}
			if restart != tc.wantRestart {
				t.Errorf("needRestart = %v, want %v", restart, tc.wantRestart)
			}
			got := tr.Channels()
			if names := roomNames(got); !slices.Equal(names, tc.want) {
				t.Fatalf("Channels() = %v, want %v", names, tc.want)
			}
			if tc.name == "password" && tr.password.Reveal() != "new" {
				t.Errorf("the next login's password is not the reloaded one")
			}
			if tc.name == "rooms only" && (got[0].Previews || got[0].Private || !got[1].Private || got[1].Key != "matrix:!c:localhost") {
				t.Errorf("new flags not taken: %+v", got)
			}
		})
	}
	t.Run("no [matrix] section", func(t *testing.T) {
		tr, err := New(base(), Options{Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		if restart, err := tr.ReloadChannels(nil); restart || err != nil {
			t.Errorf("ReloadChannels without [matrix] = %v, %v; want false, nil", restart, err)
		}
		if len(tr.Channels()) != 2 {
			t.Errorf("Channels() = %+v", tr.Channels())
		}
	})
}

// A running transport gets one room added (by alias), one removed and a
// new flag for the kept one: it joins and leaves on the same client, the
// kept room's messages carry the new flag and a Send to the new room
// arrives.
func TestServerReloadChannels(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	botUser := srv.NewUser(ctx, t, "bot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	keep := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true, Name: "keep"})
	gone := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true, Name: "gone"})
	alias := mxtest.RandName("ksec-new-")
	added := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true, Name: "new", Alias: alias})
	aliasStr := "#" + alias + ":localhost"

	cfg := &Config{
		Homeserver: srv.URL, UserID: string(botUser.ID), Password: config.Secret(botUser.Password),
		Rooms: []Room{{ID: string(keep)}, {ID: string(gone)}},
	}
	tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)
	obs.WaitJoined(t, keep, botUser.ID)
	obs.WaitJoined(t, gone, botUser.ID)
	tr.mu.Lock()
	cli, token := tr.cli, tr.cli.AccessToken
	tr.mu.Unlock()

	next := *cfg
	next.Rooms = []Room{{ID: string(keep), Private: true}, {ID: aliasStr}}
	restart, err := tr.ReloadChannels(&next)
	if err != nil || restart {
		t.Fatalf("ReloadChannels = %v, %v; want false, nil", restart, err)
	}
	got := tr.Channels()
	if names := roomNames(got); !slices.Equal(names, []string{string(keep), aliasStr}) || !got[0].Private {
		t.Fatalf("Channels() right after the reload = %+v", got)
	}

	obs.WaitJoined(t, added, botUser.ID)
	waitCtx, waitCancel := context.WithTimeout(ctx, 30*time.Second)
	defer waitCancel()
	if _, err := obs.Next(waitCtx, func(r mxtest.Received) bool {
		return r.Event.RoomID == gone && r.Event.GetStateKey() == string(botUser.ID) && r.Membership() == event.MembershipLeave
	}); err != nil {
		t.Fatalf("the bot did not leave the removed room: %v", err)
	}
	r.waitJoined(t)

	evID, err := tr.Send(ctx, chat.Outgoing{Key: "reload/added", Kind: chat.KindAnnounce, Target: aliasStr,
		Lines: []chat.Line{chat.Line{}.Text("to the new room")}})
	if err != nil {
		t.Fatalf("Send to the added room: %v", err)
	}
	if evt := obs.WaitMsg(t, "the message in the added room", mxtest.InRoom(added)); string(evt.ID) != evID || mxtest.Body(evt) != "to the new room" {
		t.Errorf("observer got %s %q, want %s", evt.ID, mxtest.Body(evt), evID)
	}

	obs.Say(ctx, t, keep, "!pending", nil)
	if m := r.in.next(t); m.Text != "!pending" || m.Target != string(keep) || !m.Channel.Private {
		t.Errorf("command in the kept room = %+v, want it with the new private flag", m)
	}

	tr.mu.Lock()
	sameCli, sameToken := tr.cli == cli, tr.cli.AccessToken == token
	tr.mu.Unlock()
	if !sameCli || !sameToken || !tr.Connected() {
		t.Errorf("the reload replaced the client or session (same client %v, same token %v, connected %v)", sameCli, sameToken, tr.Connected())
	}
}
