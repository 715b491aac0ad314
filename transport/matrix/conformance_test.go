// SPDX-License-Identifier: GPL-3.0-or-later

package matrix_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
	"github.com/ksecbot/ksecbot/internal/transporttest"
	"github.com/ksecbot/ksecbot/transport/matrix"
)

// TestConformance runs the transport conformance suite against real
// Dendrite: a maintainer's client (its own device) talks to the bot in a
// fresh room. The bot reaches the homeserver through a front that can cut
// it off (in-flight requests aborted, then 502 until the transport has
// noticed) for the reconnect case.
func TestConformance(t *testing.T) {
	srv := mxtest.Shared(t)
	upstream, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	transporttest.Run(t, func(t *testing.T) *transporttest.Network {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		bot := srv.NewUser(ctx, t, "bot")
		obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "maint"))
		room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
		var down atomic.Bool
		proxy := httputil.NewSingleHostReverseProxy(upstream)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, `{"errcode":"M_UNKNOWN","error":"down"}`, http.StatusBadGateway)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close) // after the transport stopped (cleanups run last-in first-out)
		tr, err := matrix.New(&matrix.Config{
			Homeserver: front.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
			Rooms: []matrix.Room{{ID: string(room)}},
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
			User:      chat.Identity{Network: matrix.Name, Account: string(obs.User.ID)},
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
			Drop: func() {
				down.Store(true)
				front.CloseClientConnections()
				deadline := time.Now().Add(90 * time.Second)
				for tr.Connected() {
					if time.Now().After(deadline) {
						t.Fatal("the transport did not notice the homeserver was gone")
					}
					time.Sleep(20 * time.Millisecond) // polling a state
				}
				down.Store(false)
			},
		}
	})
}
