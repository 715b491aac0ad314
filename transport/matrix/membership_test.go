// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestKickedFromRooms kicks the bot from two configured rooms on the real
// homeserver: each kick is reported to the core (who kicked, the reason,
// what to do); from the public room the bot joins again by itself and says
// it is back; from the invite-only room its attempts are refused with a
// growing delay until it is invited again, when it joins at once.
func TestKickedFromRooms(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bot := srv.NewUser(ctx, t, "kickbot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "moderator"))
	public := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true})
	closed := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	tr, err := New(&Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(public)}, {ID: string(closed)}}},
		Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", JoinRetryMin: 200 * time.Millisecond, JoinRetryMax: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	al := runWithAlerts(t, tr)
	waitFor(t, "both rooms joined", 30*time.Second, func() bool {
		ev := al.seen()
		return countPrefix(ev, "ok "+string(public)) == 1 && countPrefix(ev, "ok "+string(closed)) == 1
	})
	say := func(room id.RoomID, key string) error {
		_, err := tr.Send(ctx, chat.Outgoing{Key: key, Kind: chat.KindAnnounce, Target: string(room), Lines: []chat.Line{chat.Line{}.Text(key)}})
		return err
	}

	if _, err := obs.Client.KickUser(ctx, public, &mautrix.ReqKickUser{UserID: bot.ID, Reason: "testing kicks"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot back in the public room", 30*time.Second, func() bool { return countPrefix(al.seen(), "ok "+string(public)) == 2 })
	trouble := al.seen()[2]
	if !strings.HasPrefix(trouble, "trouble "+string(public)+": kicked by "+string(obs.Client.UserID)) || !strings.Contains(trouble, `"testing kicks"`) || !strings.Contains(trouble, "invite it again") {
		t.Errorf("the kick was reported as %q, want who kicked, the reason and what to do", trouble)
	}
	if err := say(public, "announce/1/after-kick"); err != nil {
		t.Errorf("sending after the rejoin: %v", err)
	}
	obs.WaitMsg(t, "the announcement after the rejoin", func(e *event.Event) bool { return mxtest.Body(e) == "announce/1/after-kick" })

	before := tr.Stats().JoinAttempts
	if _, err := obs.Client.KickUser(ctx, closed, &mautrix.ReqKickUser{UserID: bot.ID, Reason: "closed room"}); err != nil {
		t.Fatal(err)
	}
	// Refused attempts: 200 ms, 400 ms, 800 ms, 1.6 s, 3.2 s... apart.
	waitFor(t, "five refused attempts to join the invite-only room", 40*time.Second, func() bool { return tr.Stats().JoinAttempts >= before+5 })
	if countPrefix(al.seen(), "ok "+string(closed)) != 1 {
		t.Fatal("the bot got back into the invite-only room without an invite")
	}
	invited := time.Now()
	if _, err := obs.Client.InviteUser(ctx, closed, &mautrix.ReqInviteUser{UserID: bot.ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot back in the invite-only room", 20*time.Second, func() bool { return countPrefix(al.seen(), "ok "+string(closed)) == 2 })
	t.Logf("back in %s after the invite (the next attempt was up to %s away)", time.Since(invited).Round(time.Millisecond), 6400*time.Millisecond)
	if err := say(closed, "announce/2/after-invite"); err != nil {
		t.Errorf("sending after the invite: %v", err)
	}
	ev := al.seen()
	if n := countPrefix(ev, "trouble "+string(closed)+": kicked by"); n != 1 {
		t.Errorf("the kick from the invite-only room was reported %d times as a kick, want once: %q", n, ev)
	}
}

// TestTombstoneFollowed upgrades a configured room on the real
// homeserver (a new room, then m.room.tombstone in the old one): the bot
// joins the replacement, the messages for the configured name go there,
// its private room is told, and after a restart it still sends there.
func TestTombstoneFollowed(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bot := srv.NewUser(ctx, t, "upbot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "admin"))
	old := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	private := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	stateDir := t.TempDir()
	cfg := &Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(old)}, {ID: string(private), Private: true}}}
	newTransport := func() *Transport {
		tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: stateDir, Version: "test", RetryMax: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := newTransport()
	r := start(t, tr)
	r.waitJoined(t)

	// The upgrade as Element does it: the new room (invite-only), the
	// tombstone in the old one, then the old room's members invited.
	repl := obs.CreateRoom(ctx, t, mxtest.RoomSpec{})
	if _, err := obs.Client.SendStateEvent(ctx, old, event.StateTombstone, "", &event.TombstoneEventContent{Body: "This room has been replaced", ReplacementRoom: repl}); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.Client.InviteUser(ctx, repl, &mautrix.ReqInviteUser{UserID: bot.ID}); err != nil {
		t.Fatal(err)
	}
	obs.WaitJoined(t, repl, bot.ID)
	note := obs.WaitMsg(t, "the note in the private room", mxtest.InRoom(private))
	if b := mxtest.Body(note); !strings.Contains(b, string(old)) || !strings.Contains(b, string(repl)) || !strings.Contains(b, "upgraded") {
		t.Errorf("note in the private room = %q, want it to name the old and the new room", b)
	}
	send := func(tr *Transport, key string) id.EventID {
		t.Helper()
		ev, err := tr.Send(ctx, chat.Outgoing{Key: key, Kind: chat.KindAnnounce, Channel: "matrix:" + string(old), Target: string(old), Lines: []chat.Line{chat.Line{}.Text(key)}})
		if err != nil {
			t.Fatal(err)
		}
		return id.EventID(ev)
	}
	ev := send(tr, "announce/1/upgraded")
	if got := obs.WaitMsg(t, "the announcement", func(e *event.Event) bool { return e.ID == ev }); got.RoomID != repl {
		t.Errorf("the announcement for %s went to %s, want the replacement %s", old, got.RoomID, repl)
	}

	r.stop()
	tr2 := newTransport()
	r2 := start(t, tr2)
	r2.waitJoined(t)
	ev2 := send(tr2, "announce/2/after-restart")
	if got := obs.WaitMsg(t, "the announcement after a restart", func(e *event.Event) bool { return e.ID == ev2 }); got.RoomID != repl {
		t.Errorf("after a restart the announcement went to %s, want the replacement %s", got.RoomID, repl)
	}
	if n := obs.Count(func(e *event.Event) bool { return e.RoomID == private && strings.Contains(mxtest.Body(e), "upgraded") }); n != 1 {
		t.Errorf("the private room was told %d times, want once", n)
	}
}
