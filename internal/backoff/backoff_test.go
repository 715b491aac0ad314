// SPDX-License-Identifier: GPL-3.0-or-later

package backoff

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		n        int
		min, max time.Duration
		want     time.Duration
	}{
		{0, time.Second, time.Minute, time.Second},
		{1, time.Second, time.Minute, 2 * time.Second},
		{5, time.Second, time.Minute, 32 * time.Second},
		{6, time.Second, time.Minute, time.Minute},    // 64 s capped
		{1000, time.Second, time.Minute, time.Minute}, // no overflow
		{3, 5 * time.Second, 5 * time.Minute, 40 * time.Second},
		{70, time.Hour, 1<<63 - 1, 1<<63 - 1},          // doubling stops at the cap
		{0, 2 * time.Minute, time.Minute, time.Minute}, // min above max
		{4, 0, time.Minute, 0},
	} {
		if got := Step(tc.n, tc.min, tc.max); got != tc.want {
			t.Errorf("Step(%d, %v, %v) = %v, want %v", tc.n, tc.min, tc.max, got, tc.want)
		}
	}
}

// Delay lies in [d/2, d) of its step, follows rnd, and differs between
// calls with the default source.
func TestDelayJitter(t *testing.T) {
	for n := range 8 {
		step := Step(n, time.Second, 16*time.Second)
		if got := Delay(n, time.Second, 16*time.Second, func() float64 { return 0 }); got != step/2 {
			t.Errorf("Delay(%d) with rnd 0 = %v, want %v", n, got, step/2)
		}
		if got := Delay(n, time.Second, 16*time.Second, func() float64 { return 0.5 }); got != step*3/4 {
			t.Errorf("Delay(%d) with rnd 0.5 = %v, want %v", n, got, step*3/4)
		}
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Delay(n, time.Second, 16*time.Second, nil)
			if d < step/2 || d >= step {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v)", n, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("200 delays of attempt %d were all %v", n, seen)
		}
	}
	if d := Delay(3, 0, time.Minute, nil); d != 0 {
		t.Errorf("Delay with min 0 = %v", d)
	}
}

// A Backoff doubles from Min to Max over failures in a row, starts again
// at Min after Reset, and with Jitter stays within [d/2, d) of each step.
func TestBackoff(t *testing.T) {
	b := Backoff{Min: 2 * time.Second, Max: time.Minute}
	var got []time.Duration
	for range 7 {
		got = append(got, b.Next())
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	if b.Failures() != 7 {
		t.Errorf("Failures = %d, want 7", b.Failures())
	}
	b.Reset()
	if d := b.Next(); d != 2*time.Second || b.Failures() != 1 {
		t.Errorf("after Reset: wait %v, failures %d; want 2s, 1", d, b.Failures())
	}

	j := Backoff{Min: time.Second, Max: 8 * time.Second, Jitter: true, Rand: func() float64 { return 0 }}
	for n := range 5 {
		if d, step := j.Next(), Step(n, time.Second, 8*time.Second); d != step/2 {
			t.Errorf("jittered wait %d with rnd 0 = %v, want %v", n, d, step/2)
		}
	}
	var z Backoff
	if d := z.Next(); d != 0 {
		t.Errorf("zero Backoff waits %v", d)
	}
}

// The package stays a leaf: the network packages import it, so it may
// import nothing of ksecbot.
func TestImportsNothingOfKsecbot(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/ksecbot/ksecbot/internal/backoff") {
		t.Fatalf("go list -deps did not list the package itself: %q", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/ksecbot/ksecbot/") && d != "github.com/ksecbot/ksecbot/internal/backoff" {
			t.Errorf("internal/backoff is built with %s", d)
		}
	}
}
