// SPDX-License-Identifier: GPL-3.0-or-later

package quantile

import (
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	m := time.Minute
	for _, c := range []struct {
		in       []time.Duration
		med, p90 time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{5 * m}, 5 * m, 5 * m},
		{[]time.Duration{3 * m, 1 * m}, 2 * m, 3 * m},
		{[]time.Duration{9 * m, 1 * m, 5 * m}, 5 * m, 9 * m},
		// Ten values: nearest rank 9 is the ninth smallest.
		{[]time.Duration{10 * m, 9 * m, 8 * m, 7 * m, 6 * m, 5 * m, 4 * m, 3 * m, 2 * m, 1 * m}, 5*m + 30*time.Second, 9 * m},
	} {
		in := append([]time.Duration(nil), c.in...)
		med, p90 := Of(c.in)
		if med != c.med || p90 != c.p90 {
			t.Errorf("Of(%v) = %v, %v; want %v, %v", c.in, med, p90, c.med, c.p90)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("Of changed its input: %v, was %v", c.in, in)
				break
			}
		}
	}
}
