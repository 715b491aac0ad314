// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestAdminVerifiesBotWithEmoji: a room admin listed in [matrix] admins
// verifies the bot user with emoji from a client (mautrix's verification,
// as Element does it); the emoji the admin's client shows are the ones in
// the bot's log, and afterwards the admin's client trusts the bot user
// (its user-signing key signed the bot's master key). A user not in
// admins is turned down.
func TestAdminVerifiesBotWithEmoji(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "verifybot")
	adminUser := srv.NewUser(ctx, t, "roomadmin")
	admin := srv.Observe(ctx, t, adminUser)
	stranger := srv.Observe(ctx, t, srv.NewUser(ctx, t, "stranger"))
	room := admin.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})
	logs := &logBuffer{}
	tr, err := New(&Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password), Encryption: true,
		Admins: []string{string(adminUser.ID)}, Rooms: []Room{{ID: string(room), Private: true}}},
		Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	if trusted, _ := admin.Machine().IsUserTrusted(ctx, bot.ID); trusted {
		t.Fatal("the admin trusts the bot before verifying it")
	}
	var shown string
	err = admin.VerifyUser(ctx, bot.ID, func(emoji string) bool {
		shown = emoji
		waitFor(t, "the emoji in the bot's log", 20*time.Second, func() bool { return logs.count(emoji) > 0 })
		return true
	})
	if err != nil {
		t.Fatalf("verifying the bot: %v", err)
	}
	if trusted, err := admin.Machine().IsUserTrusted(ctx, bot.ID); !trusted || err != nil {
		t.Errorf("after the verification the admin's client trusts the bot: %v (%v)", trusted, err)
	}
	t.Logf("verified with %s", shown)

	err = stranger.VerifyUser(ctx, bot.ID, func(string) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "admins") {
		t.Errorf("a verification by a user not in admins ended with %v, want it turned down", err)
	}
}
