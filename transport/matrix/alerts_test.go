// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
	"github.com/ksecbot/ksecbot/transport"
)

// alertInbox is an Inbox that hears of channel trouble
// (transport.Alerts), as the core's does.
type alertInbox struct {
	mu     sync.Mutex
	events []string // "trouble <room>: <problem>" or "ok <room>"
}

var _ transport.Alerts = (*alertInbox)(nil)

func (a *alertInbox) Receive(context.Context, chat.Incoming) {}

func (a *alertInbox) ChannelTrouble(_ context.Context, ch chat.Channel, problem string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, "trouble "+ch.Name+": "+problem)
}

func (a *alertInbox) ChannelRecovered(_ context.Context, ch chat.Channel) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, "ok "+ch.Name)
}

func (a *alertInbox) seen() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.events...)
}

// runWithAlerts runs tr with an alertInbox until the test ends.
func runWithAlerts(t *testing.T, tr *Transport) *alertInbox {
	al := &alertInbox{}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, al) }()
	t.Cleanup(func() { stop(); <-done })
	return al
}

func countPrefix(events []string, prefix string) int {
	n := 0
	for _, e := range events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// TestRoomJoinTroubleReported: a configured room the bot is banned from is
// reported to an Inbox that implements transport.Alerts (with the
// homeserver's refusal and what to do), and the room it could join is
// reported joined; when the ban is lifted the retries get the bot in and
// that is reported too. A plain Inbox keeps working (the other tests).
func TestRoomJoinTroubleReported(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bot := srv.NewUser(ctx, t, "bot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	open := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true})
	banned := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true})
	if _, err := obs.Client.BanUser(ctx, banned, &mautrix.ReqBanUser{UserID: bot.ID, Reason: "alert test"}); err != nil {
		t.Fatal(err)
	}
	tr, err := New(&Config{
		Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(open)}, {ID: string(banned)}},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", JoinRetryMin: 100 * time.Millisecond, JoinRetryMax: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	al := runWithAlerts(t, tr)

	waitFor(t, "the ban reported and the join retried", 30*time.Second, func() bool {
		return countPrefix(al.seen(), "trouble "+string(banned)) >= 1 && tr.Stats().JoinAttempts >= 4
	})
	ev := al.seen()
	if countPrefix(ev, "ok "+string(open)) != 1 {
		t.Errorf("the joined room was not reported joined once: %q", ev)
	}
	for _, e := range ev {
		if strings.HasPrefix(e, "trouble "+string(banned)) && (!strings.Contains(e, "M_FORBIDDEN") || !strings.Contains(e, "unban")) {
			t.Errorf("the report does not say what is wrong and what to do: %q", e)
		}
	}
	if countPrefix(ev, "ok "+string(banned)) != 0 || countPrefix(ev, "trouble "+string(open)) != 0 {
		t.Errorf("reports: %q", ev)
	}

	if _, err := obs.Client.UnbanUser(ctx, banned, &mautrix.ReqUnbanUser{UserID: bot.ID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the banned room joined and reported", 30*time.Second, func() bool {
		return countPrefix(al.seen(), "ok "+string(banned)) >= 1
	})
	ev = al.seen()
	if n := countPrefix(ev, "ok "+string(banned)); n != 1 {
		t.Errorf("the room was reported joined %d times, want once: %q", n, ev)
	}
	if last := ev[len(ev)-1]; last != "ok "+string(banned) {
		t.Errorf("last report %q, want the room joined: %q", last, ev)
	}
	t.Logf("reports: %q", ev)
}

// A room the bot is in that refuses its messages (its power level below
// the room's events_default: 403 M_FORBIDDEN) makes Send fail with
// transport.ErrRefused, which the core reports per channel (the IRC
// equivalent, +m, is irc.TestModeratedChannelReported); nothing is
// posted, and once the power level allows it Send works again.
func TestPowerLevelTooLowIsRefused(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bot := srv.NewUser(ctx, t, "bot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true})
	tr, err := New(&Config{
		Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(room)}},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	var pl event.PowerLevelsEventContent
	if err := obs.Client.StateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	pl.EventsDefault = 50
	if _, err := obs.Client.SendStateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	out := chat.ChannelMessage(tr.Channels()[0], chat.KindAnnounce, "refused-1", chat.Line{}.Text("refused while muted"))
	var sendErr error
	waitFor(t, "a refused send", 20*time.Second, func() bool {
		_, sendErr = tr.Send(ctx, out)
		return sendErr != nil
	})
	if !errors.Is(sendErr, transport.ErrRefused) || !errors.Is(sendErr, mautrix.MForbidden) {
		t.Fatalf("Send in a room the bot may not speak in = %v, want transport.ErrRefused (M_FORBIDDEN)", sendErr)
	}
	t.Logf("Send: %v", sendErr)

	pl.EventsDefault = 0
	if _, err := obs.Client.SendStateEvent(ctx, room, event.StatePowerLevels, "", &pl); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Send to work again", 20*time.Second, func() bool {
		_, err := tr.Send(ctx, out)
		return err == nil
	})
}
