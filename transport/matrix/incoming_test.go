// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// A command sent after the bot joined its room but before its first sync
// (which also brings the room's history) is answered: the history before
// the start is dropped, not everything the first sync brings. A proxy in
// front of the real homeserver holds the first sync until the command is
// sent.
func TestCommandBeforeFirstSync(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "firstsync")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	obs.Say(ctx, t, room, "!old before the bot started", nil)

	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	release := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sync") && r.URL.Query().Get("since") == "" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	tr, err := New(&Config{Homeserver: front.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password), Rooms: []Room{{ID: string(room)}}},
		Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	obs.WaitJoined(t, room, bot.ID)
	cmd := obs.Say(ctx, t, room, "!pending", nil)
	close(release)
	if m := r.in.next(t); m.ID != string(cmd) {
		t.Errorf("the first message the core got is %q (%s), want the command sent while the bot joined, not history", m.Text, m.ID)
	}
}
