// SPDX-License-Identifier: GPL-3.0-or-later

// Package fakeclock is a clock that tests move by hand. ksecbot takes its
// time from an injected `now func() time.Time` wherever time matters
// (reminders, digests, flood control, the store, the test Bugzilla); tests
// pass a Clock's Now there instead of sleeping.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a manually advanced clock. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads t until it is moved.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
