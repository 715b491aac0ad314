// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
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
	tr, err := New(&config.Matrix{
		Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []config.MatrixRoom{{ID: string(configured)}},
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
