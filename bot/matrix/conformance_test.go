// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/bot/matrix"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
	"github.com/ksecbot/ksecbot/internal/transporttest"
)

// TestConformance runs the transport conformance suite against real
// Dendrite: a maintainer's client (its own device) talks to the bot in a
// fresh room. The reconnect case is skipped here: the transport has no
// connection to cut (it syncs over HTTP); e2e/fault kills the homeserver
// with messages pending instead.
func TestConformance(t *testing.T) {
	srv := mxtest.Shared(t)
	transporttest.Run(t, func(t *testing.T) *transporttest.Network {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		bot := srv.NewUser(ctx, t, "bot")
		obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "maint"))
		room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
		tr, err := matrix.New(&config.Matrix{
			Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
			Rooms: []config.MatrixRoom{{ID: string(room)}},
		}, matrix.Options{Logger: slog.New(slog.DiscardHandler), StateDir: t.TempDir(), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		var joined atomic.Bool
		go func() {
			if obs.AwaitJoin(ctx, room, bot.ID) == nil {
				joined.Store(true)
			}
		}()
		return &transporttest.Network{
			Transport: tr,
			Channel:   tr.Channels()[0],
			User:      chat.Identity{Network: chat.NetMatrix, Account: string(obs.User.ID)},
			Say: func(text string) bool {
				_, err := mxtest.Send(ctx, obs.Client, room, text, nil)
				return err == nil
			},
			Seen: func() []string {
				var out []string
				for _, e := range obs.Messages() {
					if e.RoomID == room && e.Sender == bot.ID {
						out = append(out, strings.Split(mxtest.Body(e), "\n")...)
					}
				}
				return out
			},
			Ready: joined.Load,
		}
	})
}
