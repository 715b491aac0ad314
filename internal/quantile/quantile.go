// SPDX-License-Identifier: GPL-3.0-or-later

// Package quantile computes the reaction-time figures ksecbot reports:
// the median and the 90th percentile of a set of durations. !stats,
// /metrics and the status page use it, so they agree on every figure.
package quantile

import (
	"slices"
	"time"
)

// Of returns the median (the mean of the two middle values for an even
// count) and the 90th percentile (nearest rank) of ds, which it does not
// change. Both are 0 for no durations.
func Of(ds []time.Duration) (median, p90 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	median = s[(len(s)-1)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	idx := int(float64(len(s))*0.9+0.999999) - 1
	return median, s[max(0, min(idx, len(s)-1))]
}
