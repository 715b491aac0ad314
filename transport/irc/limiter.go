// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default flood control: irssi-like, safe on Libera.Chat.
const (
	DefaultBurst    = 4
	DefaultInterval = 2 * time.Second
)

// Limiter is the token bucket in front of the IRC connection: Burst lines
// at once, then one line per Interval. Its clock is injectable, so it is
// tested without sleeping. Safe for concurrent use.
type Limiter struct {
	mu       sync.Mutex
	lim      *rate.Limiter // nil: unlimited
	now      func() time.Time
	burst    int
	interval time.Duration
}

// NewLimiter returns a limiter allowing burst lines at once and then one
// line per interval; burst <= 0 or interval <= 0 take the defaults. now is
// the clock (time.Now when nil). A disabled limiter never delays.
func NewLimiter(burst int, interval time.Duration, disabled bool, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	l := &Limiter{now: now, burst: burst, interval: interval}
	if !disabled {
		l.lim = rate.NewLimiter(rate.Every(interval), burst)
		// start full at the clock's current time
		l.lim.AllowN(now(), 0)
	}
	return l
}

// Take consumes one line's token and returns how long the caller must wait
// before writing that line (0: write now).
func (l *Limiter) Take() time.Duration {
	if l.lim == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	return l.lim.ReserveN(t, 1).DelayFrom(t)
}

// Interval returns the time one token takes to come back.
func (l *Limiter) Interval() time.Duration { return l.interval }

// ReplyReserve is how many tokens command replies leave in the bucket for
// announcements: one, unless the bucket holds only one.
func (l *Limiter) ReplyReserve() float64 {
	if l.burst > 1 {
		return 1
	}
	return 0
}

// Ready returns how long until a line may be written while keeping
// reserve tokens in the bucket (0: now). It consumes nothing; Take does.
func (l *Limiter) Ready(reserve float64) time.Duration {
	if l.lim == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	missing := 1 + reserve - l.lim.TokensAt(l.now())
	if missing <= 0 {
		return 0
	}
	// rounded up: waiting exactly that long makes the token whole
	return time.Duration(missing*float64(l.interval)).Truncate(time.Millisecond) + time.Millisecond
}
