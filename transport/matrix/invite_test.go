// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// Invites: the bot accepts one to a configured room and rejects one to any
// other room, so nothing is left pending and it never sits in a stray room.
func TestInvitesOnlyToConfiguredRooms(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "bot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))

	configured := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	tr, err := New(&Config{
		Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(configured)}},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	stray := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	got, err := obs.Next(ctx, func(rc mxtest.Received) bool {
		return rc.Event.RoomID == stray && rc.Event.GetStateKey() == string(bot.ID) &&
			(rc.Membership() == event.MembershipLeave || rc.Membership() == event.MembershipJoin)
	})
	if err != nil {
		t.Fatalf("no answer to the invite to an unconfigured room: %v", err)
	}
	if got.Membership() != event.MembershipLeave {
		t.Fatalf("the bot %s the unconfigured room, want it to reject the invite", got.Membership())
	}
	if ok, err := mxtest.IsJoined(ctx, obs.Client, configured, bot.ID); err != nil || !ok {
		t.Errorf("the bot is not in its configured room: %v %v", ok, err)
	}
}

// An admin's ([matrix] admins) invite to an unlisted room is accepted, and
// the bot says there once what it is for and that it serves only its
// configured rooms; a command there does not reach the core.
func TestAdminInviteToUnlistedRoom(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "bot")
	admin := srv.NewUser(ctx, t, "admin")
	obs := srv.Observe(ctx, t, admin)

	configured := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	tr, err := New(&Config{
		Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(configured)}}, Admins: []string{string(admin.ID)},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	unlisted := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	hello := obs.WaitMsg(t, "the bot's note in the unlisted room", mxtest.InRoom(unlisted))
	body := mxtest.Body(hello)
	if !strings.Contains(body, "only in the rooms its configuration lists") || !strings.Contains(body, string(unlisted)) || hello.Content.AsMessage().MsgType != event.MsgNotice {
		t.Errorf("note in the unlisted room = %s %q, want a notice saying it serves only its configured rooms and naming the room", hello.Content.AsMessage().MsgType, body)
	}
	obs.Say(ctx, t, unlisted, "!pending", nil)
	marker := obs.Say(ctx, t, configured, "!marker", nil)
	if m := r.in.next(t); m.ID != string(marker) {
		t.Errorf("the core got %q from %s before the marker: a command in an unlisted room reached it", m.Text, m.Target)
	}
}
