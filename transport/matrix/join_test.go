// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// joinedRoom reports whether the transport has joined room.
func (r *running) joinedRoom(room id.RoomID) bool {
	r.tr.mu.Lock()
	defer r.tr.mu.Unlock()
	_, ok := r.tr.rooms[room]
	return ok
}

// TestJoinBackoff: an invite-only room the bot may not join yet is tried
// once and then left to its backoff, however many syncs come (the old code
// started a join per sync); when the bot is invited it joins at once; and a
// room that becomes public is joined by the retries alone.
func TestJoinBackoff(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("invite-only room: one attempt per backoff, joined when invited", func(t *testing.T) {
		bot := srv.NewUser(ctx, t, "bot")
		obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
		open := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
		locked := obs.CreateRoom(ctx, t, mxtest.RoomSpec{}) // private_chat: invite only, the bot is not invited
		// A backoff of an hour cannot expire during the test: every
		// attempt after the first must come from an invite.
		tr, err := New(&Config{
			Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
			Rooms: []Room{{ID: string(open)}, {ID: string(locked)}},
		}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", JoinRetryMin: time.Hour, JoinRetryMax: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, tr)
		waitFor(t, "the open room joined and the locked one tried", 30*time.Second, func() bool {
			return tr.Connected() && r.joinedRoom(open) && tr.Stats().JoinAttempts >= 2
		})

		// Ten messages, each handed to the inbox before the next is sent:
		// ten syncs that each see the locked room missing.
		for i := range 10 {
			text := fmt.Sprintf("sync %d", i)
			obs.SayContent(ctx, t, open, &event.MessageEventContent{MsgType: event.MsgText, Body: text})
			if m := r.in.next(t); m.Text != text {
				t.Fatalf("inbox got %q, want %q", m.Text, text)
			}
		}
		if n := tr.Stats().JoinAttempts; n != 2 {
			t.Errorf("%d join attempts after 10 syncs with the locked room missing, want 2 (one per room; the next is an hour away)", n)
		}
		if r.joinedRoom(locked) {
			t.Fatalf("joined the invite-only room without an invite")
		}

		if _, err := obs.Client.InviteUser(ctx, locked, &mautrix.ReqInviteUser{UserID: bot.ID}); err != nil {
			t.Fatal(err)
		}
		obs.WaitJoined(t, locked, bot.ID)
		waitFor(t, "the transport to record the locked room as joined", 30*time.Second, func() bool { return r.joinedRoom(locked) })
		out := chat.Outgoing{Key: "join-backoff/hello", Target: string(locked), Lines: []chat.Line{chat.Line{}.Text("hello after the invite")}}
		if _, err := tr.Send(ctx, out); err != nil {
			t.Fatalf("send to the room joined after the invite: %v", err)
		}
		obs.NextMsg(t, "the message in the locked room", mxtest.InRoom(locked))
		t.Logf("joined %s after the invite; %d join attempts in all", locked, tr.Stats().JoinAttempts)
	})

	t.Run("room made public: joined by the backoff retries", func(t *testing.T) {
		bot := srv.NewUser(ctx, t, "bot")
		obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
		room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{})
		tr, err := New(&Config{
			Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
			Rooms: []Room{{ID: string(room)}},
		}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", JoinRetryMin: 100 * time.Millisecond, JoinRetryMax: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, tr)
		waitFor(t, "two failed join attempts", 30*time.Second, func() bool { return tr.Stats().JoinAttempts >= 2 })
		if r.joinedRoom(room) {
			t.Fatal("joined the invite-only room")
		}
		if _, err := obs.Client.SendStateEvent(ctx, room, event.StateJoinRules, "", &event.JoinRulesEventContent{JoinRule: event.JoinRulePublic}); err != nil {
			t.Fatal(err)
		}
		obs.WaitJoined(t, room, bot.ID)
		waitFor(t, "the transport to record the room as joined", 30*time.Second, func() bool { return r.joinedRoom(room) })
		t.Logf("joined after the room became public; %d join attempts", tr.Stats().JoinAttempts)
	})
}

// TestSyncRetryJitter: the delays after failed syncs grow from RetryMin to
// RetryMax, each within [d/2, d] of its step, and two transports failing
// together do not retry in lockstep.
func TestSyncRetryJitter(t *testing.T) {
	newSyncer := func() *syncer {
		tr, err := New(&Config{Homeserver: "http://127.0.0.1:1", UserID: "@bot:localhost", AccessToken: "x"},
			Options{Logger: testLogger(t), StateDir: t.TempDir(), RetryMin: time.Second, RetryMax: 16 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return &syncer{t: tr}
	}
	differ := false
	for range 20 {
		a, b := newSyncer(), newSyncer()
		for step := range 7 {
			want := min(time.Second<<step, 16*time.Second)
			da, err := a.OnFailedSync(nil, fmt.Errorf("connection refused"))
			if err != nil {
				t.Fatal(err)
			}
			db, _ := b.OnFailedSync(nil, fmt.Errorf("connection refused"))
			if da < want/2 || da > want {
				t.Fatalf("failure %d: retry in %s, want within [%s, %s]", step+1, da, want/2, want)
			}
			differ = differ || da != db
		}
	}
	if !differ {
		t.Errorf("two transports failing together always retried at the same moments")
	}
}
