// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// summary is a latency distribution.
type summary struct {
	n                   int
	p50, p90, p99, maxd time.Duration
}

// summarize computes nearest-rank percentiles of samples.
func summarize(samples []time.Duration) summary {
	if len(samples) == 0 {
		return summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return summary{n: len(s), p50: rank(s, 50), p90: rank(s, 90), p99: rank(s, 99), maxd: s[len(s)-1]}
}

// rank is the nearest-rank percentile p of sorted s.
func rank(s []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func (s summary) String() string {
	if s.n == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s, p99 %s (p90 %s, max %s, n=%d)", ms(s.p50), ms(s.p99), ms(s.p90), ms(s.maxd), s.n)
}

// ms prints a duration in milliseconds with sensible precision.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 1000:
		return fmt.Sprintf("%.1f ms", f)
	default:
		return fmt.Sprintf("%.2f s", f/1000)
	}
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// verdict of a row.
type verdict int

const (
	info verdict = iota // no target: a figure for the record
	pass
	miss
	notRun
)

func (v verdict) String() string {
	return [...]string{"—", "pass", "**MISS**", "not run"}[v]
}

// row is one line of the results table. floor and ratio compare a
// latency with a plain client-to-client relay measured in the same run.
type row struct {
	what, target, measured string
	floor, ratio           string
	v                      verdict
}

// check returns pass when ok, else miss.
func check(ok bool) verdict {
	if ok {
		return pass
	}
	return miss
}

// writeTable prints rows as a Markdown table.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| measurement | target | measured | floor (relay, same run) | ratio | result |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", cell(r.what), cell(r.target), cell(r.measured), cell(r.floor), cell(r.ratio), r.v)
	}
}

func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}
