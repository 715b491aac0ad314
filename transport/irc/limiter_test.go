// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiter(t *testing.T) {
	tests := []struct {
		name     string
		burst    int
		interval time.Duration
		disabled bool
		// steps: advance the clock by adv, then Take; want that delay
		steps []struct {
			adv  time.Duration
			want time.Duration
		}
	}{
		{
			name: "burst of 4 then one per 2s", burst: 4, interval: 2 * time.Second,
			steps: []struct{ adv, want time.Duration }{
				{0, 0}, {0, 0}, {0, 0}, {0, 0},
				{0, 2 * time.Second}, // 5th line waits one interval
				{0, 4 * time.Second}, // 6th waits two
				{4 * time.Second, 2 * time.Second},
				{10 * time.Second, 0}, // idle refills
			},
		},
		{
			name: "defaults", burst: 0, interval: 0,
			steps: []struct{ adv, want time.Duration }{
				{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, DefaultInterval},
			},
		},
		{
			name: "disabled never waits", burst: 1, interval: time.Hour, disabled: true,
			steps: []struct{ adv, want time.Duration }{{0, 0}, {0, 0}, {0, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := NewLimiter(tc.burst, tc.interval, tc.disabled, clk.now)
			for i, s := range tc.steps {
				clk.advance(s.adv)
				if got := l.Take(); got != s.want {
					t.Fatalf("step %d: delay %v, want %v", i, got, s.want)
				}
			}
		})
	}
}

func TestLimiterSustainedRate(t *testing.T) {
	// 60 lines with burst 4 and 2 s: the last one may go out after 56*2 s
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := NewLimiter(4, 2*time.Second, false, clk.now)
	var last time.Duration
	for range 60 {
		last = l.Take()
	}
	if want := 112 * time.Second; last != want {
		t.Fatalf("60th line delay %v, want %v", last, want)
	}
}
