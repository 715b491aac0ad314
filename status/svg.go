// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// Plot geometry, in SVG user units; the SVG scales to its container.
const (
	plotW, plotH                   = 360, 170
	padL, padR, padT, padB         = 46, 10, 10, 24
	innerW, innerH                 = plotW - padL - padR, plotH - padT - padB
	pointRadius            float64 = 3.5
)

// ticks are the y-axis marks; the axis is logarithmic because reaction
// times run from seconds (announcements) to weeks (claims).
var ticks = []struct {
	d     time.Duration
	label string
}{
	{time.Second, "1 s"}, {10 * time.Second, "10 s"},
	{time.Minute, "1 min"}, {10 * time.Minute, "10 min"}, {time.Hour, "1 h"},
	{6 * time.Hour, "6 h"}, {24 * time.Hour, "1 d"}, {7 * 24 * time.Hour, "1 w"},
	{28 * 24 * time.Hour, "4 w"}, {12 * 7 * 24 * time.Hour, "12 w"},
}

// Plot renders a series as an inline SVG line chart (median solid, 90th
// percentile dashed, one point per week with data) with a title and a
// description that say the figures in words, for screen readers. id must
// be unique in the page.
func Plot(s Series, tree, id string) template.HTML {
	// The axis runs from the tick below the smallest figure to the tick
	// above the largest, over at least two decades.
	bottom, top := 2, 0 // 1 min
	for _, w := range s.Weeks {
		if w.N == 0 {
			continue
		}
		for bottom > 0 && w.Median < ticks[bottom].d {
			bottom--
		}
		for top < len(ticks)-1 && w.P90 > ticks[top].d {
			top++
		}
	}
	top = max(top, bottom+2)
	lo, hi := math.Log(float64(ticks[bottom].d)), math.Log(float64(ticks[top].d))
	y := func(d time.Duration) float64 {
		v := math.Log(float64(max(d, ticks[bottom].d)))
		v = min(v, hi)
		return padT + innerH*(1-(v-lo)/(hi-lo))
	}
	n := len(s.Weeks)
	x := func(i int) float64 {
		if n <= 1 {
			return padL + innerW/2
		}
		return padL + innerW*float64(i)/float64(n-1)
	}
	var b strings.Builder
	title := fmt.Sprintf("%s: %s, per week", tree, s.Label)
	fmt.Fprintf(&b, `<svg class="plot" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`, plotW, plotH, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, esc(title), id, esc(Describe(s)))
	for i := bottom; i <= top; i++ {
		ty := y(ticks[i].d)
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, plotW-padR, ty, ty)
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, ty+4, ticks[i].label)
	}
	for i, w := range s.Weeks {
		if n > 5 && i%3 != 0 && i != n-1 || n > 5 && i != n-1 && n-1-i < 2 {
			continue // every third label when weeks are narrow
		}
		anchor := "middle"
		switch {
		case n > 1 && i == 0:
			anchor = "start"
		case n > 1 && i == n-1:
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text class="tick" x="%.1f" y="%d" text-anchor="%s">%s</text>`, x(i), plotH-6, anchor, w.Start.Format("Jan 2"))
	}
	for _, line := range []struct {
		class string
		val   func(Week) time.Duration
		name  string
	}{
		{"p90", func(w Week) time.Duration { return w.P90 }, "90th percentile"},
		{"med", func(w Week) time.Duration { return w.Median }, "median"},
	} {
		var pts []string
		for i, w := range s.Weeks {
			if w.N == 0 {
				if len(pts) > 1 {
					fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, line.class, strings.Join(pts, " "))
				}
				pts = nil
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(line.val(w))))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="%s" points="%s"/>`, line.class, strings.Join(pts, " "))
		}
		for i, w := range s.Weeks {
			if w.N == 0 {
				continue
			}
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="%.1f"><title>week of %s: %s %s (%d bugs)</title></circle>`,
				line.class, x(i), y(line.val(w)), pointRadius, w.Start.Format("Jan 2"), line.name, Duration(line.val(w)), w.N)
		}
	}
	if s.N == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no bug measured in this window</text>`, plotW/2, plotH/2)
	}
	b.WriteString(`</svg>`)
	// Built from numbers and escaped text only.
	return template.HTML(b.String())
}

// Describe says a series in words: the text alternative of its plot.
func Describe(s Series) string {
	if s.N == 0 {
		return s.Label + ": no bug measured in this window."
	}
	var parts []string
	for _, w := range s.Weeks {
		if w.N == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("week of %s: median %s, 90th percentile %s (%d)", w.Start.Format("Jan 2"), Duration(w.Median), Duration(w.P90), w.N))
	}
	return fmt.Sprintf("%s over %d bugs: median %s, 90th percentile %s. %s.", s.Label, s.N, Duration(s.Median), Duration(s.P90), strings.Join(parts, "; "))
}

// Duration writes a reaction time for people: "45 s", "12 min", "3.5 h",
// "2.1 d".
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return trimZero(fmt.Sprintf("%.1f h", d.Hours()))
	default:
		return trimZero(fmt.Sprintf("%.1f d", d.Hours()/24))
	}
}

func trimZero(s string) string { return strings.Replace(s, ".0 ", " ", 1) }

func esc(s string) string { return html.EscapeString(s) }
