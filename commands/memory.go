// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"golang.org/x/time/rate"
)

// Memory is what the router remembers of senders and channels: each
// sender's command limit and when each bug was last previewed in each
// channel. It outlives the router: a reload (SIGHUP) builds a new router
// with the same Memory (Deps.Memory), so it hands no sender a fresh
// burst and no channel a repeated preview. Safe for concurrent use.
type Memory struct {
	mu       sync.Mutex
	limiters map[string]*limiter
	previews map[string]time.Time // "<channel>\x00<bug>" -> last preview
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{limiters: map[string]*limiter{}, previews: map[string]time.Time{}}
}

// senderKey identifies a sender for rate limiting: the account when
// identified, else the host (so that nick changes and clones on one host
// share a limit), else the nick.
func senderKey(id chat.Identity) string {
	switch {
	case id.Account != "":
		return id.Network + "\x00a\x00" + strings.ToLower(id.Account)
	case id.Host != "":
		return id.Network + "\x00h\x00" + strings.ToLower(id.Host)
	}
	return id.Network + "\x00n\x00" + strings.ToLower(id.Nick)
}

// limiter is one sender's token bucket and when it was last told to slow
// down.
type limiter struct {
	*rate.Limiter
	warned time.Time
}

// allow applies the per-sender token bucket.
func (r *Router) allow(in chat.Incoming) bool {
	if in.Sender.Operator {
		return true // the local operator cannot flood a network
	}
	now := r.now()
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	return r.limiter(in, now).AllowN(now, 1)
}

// NoticeDue reports whether the sender of in may be told "busy" now: a
// sender hears "busy" or "slow down" at most once per SlowDownWindow. It
// records the notice. Safe for concurrent use.
func (r *Router) NoticeDue(in chat.Incoming) bool { return r.warnDue(in) }

// warnDue reports whether a sender is to be told to slow down (or that the
// bot is busy) now: once per SlowDownWindow; and records it.
func (r *Router) warnDue(in chat.Incoming) bool {
	now := r.now()
	r.mem.mu.Lock()
	defer r.mem.mu.Unlock()
	l := r.limiter(in, now)
	if !l.warned.IsZero() && now.Sub(l.warned) < SlowDownWindow {
		return false
	}
	l.warned = now
	return true
}

// limiter returns the sender's limiter, creating it. Called with r.mem.mu held.
func (r *Router) limiter(in chat.Incoming, now time.Time) *limiter {
	key := senderKey(in.Sender)
	l, ok := r.mem.limiters[key]
	if !ok {
		if len(r.mem.limiters) > 10000 {
			r.pruneLimiters(now)
		}
		l = &limiter{Limiter: rate.NewLimiter(rate.Every(r.d.RateEvery), r.d.RateBurst)}
		r.mem.limiters[key] = l
	}
	return l
}

// pruneLimiters drops limiters that are full again and were not told to
// slow down recently (idle senders). Called with r.mem.mu held.
func (r *Router) pruneLimiters(now time.Time) {
	for k, l := range r.mem.limiters {
		if l.TokensAt(now) >= float64(r.d.RateBurst) && now.Sub(l.warned) >= SlowDownWindow {
			delete(r.mem.limiters, k)
		}
	}
}
