// SPDX-License-Identifier: GPL-3.0-or-later

package fault

import (
	"context"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/e2e/e2etest"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// mxWorld is a bot account and an observer with one unencrypted room the
// bot is invited to, on one homeserver. The observer does not sync: it
// reads the room's history.
type mxWorld struct {
	hsURL string
	bot   mxtest.User
	obs   *mautrix.Client
	room  id.RoomID
}

func newMXWorld(ctx context.Context, t *testing.T, hs mxtest.Server) *mxWorld {
	t.Helper()
	w := &mxWorld{hsURL: hs.URL, bot: hs.NewUser(ctx, t, "ksecbot-")}
	w.obs = hs.Login(ctx, t, hs.NewUser(ctx, t, "observer-"))
	var err error
	if w.room, err = mxtest.CreateRoom(ctx, w.obs, mxtest.RoomSpec{Name: "ksecbot fault", Public: true, Invite: []id.UserID{w.bot.ID}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// matrixConf is the [matrix] part of the bot's config.
func (w *mxWorld) matrixConf() *e2etest.Matrix {
	return &e2etest.Matrix{Homeserver: w.hsURL, UserID: string(w.bot.ID), Password: w.bot.Password, Rooms: []string{string(w.room)}}
}

// waitBotJoined waits until the bot is a member of the room.
func (w *mxWorld) waitBotJoined(ctx context.Context, t *testing.T) {
	t.Helper()
	e2etest.Eventually(t, 60*time.Second, "ksecbot to join "+string(w.room), func() bool {
		ok, err := mxtest.IsJoined(ctx, w.obs, w.room, w.bot.ID)
		return err == nil && ok
	})
}

// announcements reads the room's history (/messages) and counts the bot's
// announcement events per bug.
func (w *mxWorld) announcements(ctx context.Context) (map[int]int, error) {
	hist, err := mxtest.History(ctx, w.obs, w.room)
	if err != nil {
		return nil, err
	}
	counts := map[int]int{}
	for _, e := range hist {
		if e.Sender != w.bot.ID || e.Type != event.EventMessage {
			continue
		}
		if n, ok := bugOf(mxtest.Body(e)); ok {
			counts[n]++
		}
	}
	return counts, nil
}

// waitAnnounced waits until the room's history holds every one of ids and
// returns the counts per bug.
func (w *mxWorld) waitAnnounced(ctx context.Context, t *testing.T, timeout time.Duration, ids []int) map[int]int {
	t.Helper()
	var counts map[int]int
	e2etest.Eventually(t, timeout, fmt.Sprintf("%d announcements in the room's history", len(ids)), func() bool {
		c, err := w.announcements(ctx)
		if err != nil {
			return false
		}
		counts = c
		for _, id := range ids {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
	return counts
}
