// SPDX-License-Identifier: GPL-3.0-or-later

// Package backoff computes retry delays: exponential backoff with jitter,
// shared by the network packages (reconnects, refused joins, failed
// syncs). It imports nothing of ksecbot.
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
