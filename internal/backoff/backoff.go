// SPDX-License-Identifier: GPL-3.0-or-later

// Package backoff computes retry delays: exponential backoff, with jitter
// where many clients may fail together. It is the one backoff of ksecbot:
// the network packages (reconnects, refused joins, failed syncs), the
// core (delivery rounds, refused channels, command replies, the API key,
// auto-CC) and the Bugzilla client and watcher. It imports nothing of
// ksecbot.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Delay returns how long to wait before retry attempt n (counted from 0):
// minD doubled n times, capped at maxD, with "equal jitter", a random
// point of [d/2, d), so that clients that failed together (a server
// restart) do not come back together. rnd returns numbers in [0, 1); nil
// means math/rand/v2's Float64. Safe for concurrent use when rnd is.
func Delay(n int, minD, maxD time.Duration, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	d := Step(n, minD, maxD)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half))
}

// Step is the delay of attempt n without jitter: minD doubled n times,
// capped at maxD (and not below 0).
func Step(n int, minD, maxD time.Duration) time.Duration {
	d := max(minD, 0)
	for i := 0; i < n && d < maxD; i++ {
		if d > maxD/2 {
			d = maxD
			break
		}
		d *= 2
	}
	return min(d, maxD)
}

// Backoff counts the failures of one thing in a row and says how long to
// wait after each: Min doubled per failure before it, capped at Max, and
// spread over [d/2, d) when Jitter is set. The zero count starts at Min;
// Reset starts again there after a success. Not safe for concurrent use.
type Backoff struct {
	Min, Max time.Duration
	// Jitter spreads each wait ("equal jitter"), for clients that would
	// otherwise come back together (a Bugzilla or server restart).
	Jitter bool
	// Rand is the jitter's source of numbers in [0, 1); nil means
	// math/rand/v2's Float64.
	Rand func() float64

	failures int
}

// Next counts one more failure and returns the wait before the next try.
func (b *Backoff) Next() time.Duration {
	n := b.failures
	b.failures++
	if b.Jitter {
		return Delay(n, b.Min, b.Max, b.Rand)
	}
	return Step(n, b.Min, b.Max)
}

// Reset forgets the failures: the next wait is Min again.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures returns how many failures were counted since the last Reset.
func (b *Backoff) Failures() int { return b.failures }
