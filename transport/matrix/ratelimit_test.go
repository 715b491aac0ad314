// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// A homeserver that answers M_LIMIT_EXCEEDED (429 with Retry-After) to the
// first sends: Send waits as told and the message is posted exactly once.
func TestRateLimitedSendIsRetried(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "bot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{bot.ID}})

	upstream, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	var limited atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/m.room.message/") && limited.Add(1) <= 2 {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":1000}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close) // after the transport stopped (cleanups run last-in first-out)

	tr, err := New(&Config{
		Homeserver: front.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password),
		Rooms: []Room{{ID: string(room)}},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	start := time.Now()
	out := chat.Outgoing{Key: "announce/1/rl", Kind: chat.KindAnnounce, Target: string(room), Lines: []chat.Line{chat.Line{}.Text("rate limited once")}}
	if _, err := tr.Send(ctx, out); err != nil {
		t.Fatalf("Send after M_LIMIT_EXCEEDED: %v", err)
	}
	waited := time.Since(start)
	if got := limited.Load(); got < 3 {
		t.Fatalf("the homeserver saw %d sends, want 2 refused and 1 accepted", got)
	}
	if waited < 2*time.Second {
		t.Errorf("Send retried after %s, sooner than Retry-After (1 s, twice)", waited)
	}
	// A later message is the barrier: a duplicate would have come before it.
	marker := chat.Outgoing{Key: "announce/2/rl", Kind: chat.KindAnnounce, Target: string(room), Lines: []chat.Line{chat.Line{}.Text("marker")}}
	if _, err := tr.Send(ctx, marker); err != nil {
		t.Fatal(err)
	}
	obs.WaitMsg(t, "the marker", func(e *event.Event) bool { return mxtest.Body(e) == "marker" })
	n := obs.Count(func(e *event.Event) bool { return mxtest.Body(e) == "rate limited once" })
	if n != 1 {
		t.Errorf("the message was posted %d times, want 1", n)
	}
	t.Logf("two 429 answers, posted once after %s", waited.Round(10*time.Millisecond))
}
