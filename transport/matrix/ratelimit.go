// SPDX-License-Identifier: GPL-3.0-or-later

// Rate limits: every 429 the homeserver answers is counted (Stats,
// RateLimited, ksecbot_transport_rate_limited_total on /metrics) and
// logged once per episode (a run of 429s in one room, or outside rooms,
// until a request there goes through); each room has its own send queue,
// which knows until when the homeserver asked it to wait.

package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// roomQueue is one room's send queue: one message at a time, and the time
// until which the homeserver asked this room to wait. Safe for concurrent
// use.
type roomQueue struct {
	room id.RoomID
	sem  chan struct{}

	mu    sync.Mutex
	until time.Time // the homeserver's Retry-After, from its last 429 here
}

// queue returns rid's send queue.
func (t *Transport) queue(rid id.RoomID) *roomQueue {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.queues[rid]
	if q == nil {
		q = &roomQueue{room: rid, sem: make(chan struct{}, 1)}
		t.queues[rid] = q
	}
	return q
}

// acquire takes the queue. A caller that does not wait (wait false) is
// refused at once, with a *RateLimitedError, while the room is
// rate-limited, also after waiting for its turn.
func (q *roomQueue) acquire(ctx context.Context, wait bool, now time.Time) error {
	if !wait {
		if err := q.limited(now); err != nil {
			return err
		}
	}
	select {
	case q.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if !wait {
		if err := q.limited(time.Now()); err != nil {
			q.release()
			return err
		}
	}
	return nil
}

func (q *roomQueue) release() { <-q.sem }

// limited returns a *RateLimitedError while the room must wait.
func (q *roomQueue) limited(now time.Time) error {
	q.mu.Lock()
	until := q.until
	q.mu.Unlock()
	if now.Before(until) {
		return &RateLimitedError{Room: string(q.room), Err: fmt.Errorf("%w: waiting %s more as the homeserver asked", mautrix.MLimitExceeded, until.Sub(now).Round(time.Millisecond))}
	}
	return nil
}

func (q *roomQueue) setUntil(t time.Time) {
	q.mu.Lock()
	if t.After(q.until) {
		q.until = t
	}
	q.mu.Unlock()
}

// limitEpisode is a run of 429 answers in one scope (a room, or "" for
// requests outside rooms).
type limitEpisode struct {
	start time.Time
	count int
}

// limitWatch is the HTTP transport of the client: it counts and logs the
// homeserver's 429 answers and tells the room's queue how long to wait.
// When a 429 has retry_after_ms in its body but no Retry-After header
// (Dendrite), it adds the header, which is what mautrix's retry honours.
type limitWatch struct {
	next http.RoundTripper
	t    *Transport
}

// RoundTrip implements http.RoundTripper.
func (w limitWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	scope := roomOfPath(req.URL.Path)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait := retryAfter(resp)
		w.t.rateLimited(req, scope, wait)
	case resp.StatusCode < 400:
		w.t.rateLimitOver(scope)
	}
	return resp, nil
}

// rateLimited counts a 429 in scope, logs it if it starts an episode and
// makes the room's queue wait.
func (t *Transport) rateLimited(req *http.Request, scope id.RoomID, wait time.Duration) {
	t.rateLimits.Add(1)
	now := t.opts.Now()
	if scope != "" {
		t.queue(scope).setUntil(now.Add(wait))
	}
	t.limitMu.Lock()
	ep, ongoing := t.episodes[scope]
	if !ongoing {
		ep = &limitEpisode{start: now}
		t.episodes[scope] = ep
	}
	ep.count++
	t.limitMu.Unlock()
	if ongoing {
		return
	}
	args := []any{"retry_after", wait, "request", req.Method + " " + pathKind(req.URL.Path)}
	if scope != "" {
		args = append(args, "room_id", scope)
	}
	t.log.Warn("the homeserver is rate limiting the bot (429); waiting as asked (logged once until requests go through again; ksecbot_transport_rate_limited_total counts them)", args...)
}

// rateLimitOver ends scope's episode, if there is one, with one line.
func (t *Transport) rateLimitOver(scope id.RoomID) {
	t.limitMu.Lock()
	ep, ok := t.episodes[scope]
	delete(t.episodes, scope)
	t.limitMu.Unlock()
	if !ok {
		return
	}
	args := []any{"answers_429", ep.count, "lasted", t.opts.Now().Sub(ep.start).Round(time.Millisecond)}
	if scope != "" {
		args = append(args, "room_id", scope)
	}
	t.log.Info("rate limit over", args...)
}

// RateLimited returns how many 429 answers the homeserver gave (for
// /metrics).
func (t *Transport) RateLimited() int64 { return t.rateLimits.Load() }

// retryAfter reads how long a 429 asks to wait: the Retry-After header,
// else the body's retry_after_ms (then copied into the header), else 1 s.
func retryAfter(resp *http.Response) time.Duration {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if at, err := http.ParseTime(s); err == nil {
			return max(time.Until(at), 0)
		}
	}
	const bodyLimit = 64 << 10
	body, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return time.Second
	}
	var e struct {
		RetryAfterMs int64 `json:"retry_after_ms"`
	}
	if json.Unmarshal(body, &e) != nil || e.RetryAfterMs <= 0 {
		return time.Second
	}
	d := time.Duration(e.RetryAfterMs) * time.Millisecond
	resp.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	return d
}

// roomOfPath returns the room ID of a client API path under /rooms/, or "".
func roomOfPath(p string) id.RoomID {
	parts := strings.Split(p, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "rooms" && strings.HasPrefix(parts[i+1], "!") {
			return id.RoomID(parts[i+1])
		}
	}
	return ""
}

// pathKind names a request for the log without its IDs: the path up to
// the room ID or the first ID-like segment.
func pathKind(p string) string {
	parts := strings.Split(p, "/")
	var out []string
	for _, s := range parts {
		if strings.HasPrefix(s, "!") || strings.HasPrefix(s, "@") || strings.HasPrefix(s, "$") || strings.HasPrefix(s, "ksecbot-") {
			out = append(out, "…")
			continue
		}
		out = append(out, s)
	}
	return strings.Join(out, "/")
}
