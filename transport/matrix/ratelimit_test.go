// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// limiter is a proxy in front of the real homeserver that answers
// M_LIMIT_EXCEEDED (429 with retry_after_ms in the body and no
// Retry-After header, as Dendrite does) to the first sends into one room.
type limiter struct {
	*httptest.Server
	room    atomic.Value // id.RoomID whose sends are refused
	refuse  atomic.Int32 // how many more sends to refuse
	refused atomic.Int32
}

func newLimiter(t *testing.T, upstream string) *limiter {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	l := &limiter{}
	l.room.Store(id.RoomID(""))
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		room := l.room.Load().(id.RoomID)
		if r.Method == http.MethodPut && room != "" && strings.Contains(r.URL.Path, "/rooms/"+string(room)+"/send/") && l.refuse.Add(-1) >= 0 {
			l.refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":1500}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(l.Close) // after the transport stopped (cleanups run last-in first-out)
	return l
}

// logBuffer is a slog handler's output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// TestRateLimitedRoomDelaysOnlyItself checks one send queue per room, the
// 429 count and the log on the real homeserver behind a proxy that
// rate-limits one room: a reply there waits as the homeserver asks
// (retry_after_ms) and is posted once, while a reply in the other room
// goes out meanwhile; an announcement into the limited room fails at once
// (the core's outbox goes on with the other rooms) while one into the
// other room is posted; the episode is logged once however many 429s, and
// its end once; every 429 is counted.
func TestRateLimitedRoomDelaysOnlyItself(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "rlbot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	slow := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	fast := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})
	lim := newLimiter(t, srv.URL)

	logs := &logBuffer{}
	tr, err := New(&Config{
		Homeserver: lim.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(slow)}, {ID: string(fast)}},
	}, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	lim.room.Store(slow)
	lim.refuse.Store(2)
	line := func(s string) []chat.Line { return []chat.Line{chat.Line{}.Text(s)} }
	began := time.Now()
	slowDone := make(chan error, 1)
	go func() {
		_, err := tr.Send(ctx, chat.Outgoing{Key: "reply/slow", Kind: chat.KindReply, Target: string(slow), Lines: line("slow reply")})
		slowDone <- err
	}()
	waitFor(t, "the homeserver to refuse the slow room's reply", 10*time.Second, func() bool { return lim.refused.Load() >= 1 })

	if _, err := tr.Send(ctx, chat.Outgoing{Key: "reply/fast", Kind: chat.KindReply, Target: string(fast), Lines: line("fast reply")}); err != nil {
		t.Fatalf("reply in the other room: %v", err)
	}
	select {
	case err := <-slowDone:
		t.Fatalf("the rate-limited reply returned (%v) before the other room's reply went out: one queue for both rooms", err)
	default:
	}
	_, err = tr.Send(ctx, chat.Outgoing{Key: "announce/9/slow", Kind: chat.KindAnnounce, Target: string(slow), Lines: line("slow announcement")})
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, mautrix.MLimitExceeded) || rl.Room != string(slow) {
		t.Errorf("announcement into the rate-limited room: %v, want a *RateLimitedError naming it at once", err)
	}
	if _, err := tr.Send(ctx, chat.Outgoing{Key: "announce/9/fast", Kind: chat.KindAnnounce, Target: string(fast), Lines: line("fast announcement")}); err != nil {
		t.Errorf("announcement into the other room: %v", err)
	}

	if err := <-slowDone; err != nil {
		t.Fatalf("the rate-limited reply: %v", err)
	}
	waited := time.Since(began)
	if waited < 3*time.Second {
		t.Errorf("the rate-limited reply was retried after %s, sooner than retry_after_ms (1.5 s, twice)", waited)
	}
	// The announcement is tried again once the room may send, as the
	// core's outbox does, and goes out once.
	waitFor(t, "the announcement to go out after the rate limit", 10*time.Second, func() bool {
		_, err := tr.Send(ctx, chat.Outgoing{Key: "announce/9/slow", Kind: chat.KindAnnounce, Target: string(slow), Lines: line("slow announcement")})
		return err == nil
	})
	marker, err := tr.Send(ctx, chat.Outgoing{Key: "announce/10/slow", Kind: chat.KindAnnounce, Target: string(slow), Lines: line("marker")})
	if err != nil {
		t.Fatal(err)
	}
	obs.WaitMsg(t, "the marker", func(e *event.Event) bool { return string(e.ID) == marker })
	for _, body := range []string{"slow reply", "fast reply", "slow announcement", "fast announcement"} {
		if n := obs.Count(func(e *event.Event) bool { return mxtest.Body(e) == body }); n != 1 {
			t.Errorf("%q was posted %d times, want once", body, n)
		}
	}
	if got, want := tr.RateLimited(), int64(lim.refused.Load()); got != want || got < 2 {
		t.Errorf("RateLimited() = %d, want the %d 429 answers the homeserver gave", got, want)
	}
	if n := logs.count("the homeserver is rate limiting the bot (429)"); n != 1 {
		t.Errorf("the rate limit was logged %d times, want once for the episode; log:\n%s", n, logs.buf.String())
	}
	if n := logs.count("rate limit over"); n != 1 {
		t.Errorf("the end of the rate limit was logged %d times, want once", n)
	}
	t.Logf("two 429 answers: the reply in the limited room went out after %s; the other room's reply and announcement went out meanwhile", waited.Round(10*time.Millisecond))
}
