// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"fmt"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/store"
)

// benchMirror is 10 000 open bugs over the three trees, a tenth of them
// restricted, 3 000 created in the last 90 days and announced.
func benchMirror() ([]bugzilla.Bug, []store.BugTimes) {
	names := []string{"gentoo-sources", "hardened-sources", "rt-sources", "kernel"}
	var open []bugzilla.Bug
	var recent []store.BugTimes
	for id := 1; id <= 10000; id++ {
		b := bug(id, fmt.Sprintf("sys-kernel/%s: flaw number %d in a subsystem", names[id%len(names)], id), now.Add(-time.Duration(id)*time.Hour))
		b.CC = []string{"kernel@gentoo.org", "someone@example.org"}
		if id%10 == 0 {
			b.Groups = []string{"security"}
		}
		open = append(open, b)
		if id <= 3000 {
			recent = append(recent, store.BugTimes{Bug: b, Announced: b.CreationTime.Add(2 * time.Second), Claimed: b.CreationTime.Add(5 * time.Hour)})
		}
	}
	return open, recent
}

// BenchmarkBuildAndRender is one rebuild of the front page with 10 000
// open bugs mirrored: what the first request after a mirror change pays.
func BenchmarkBuildAndRender(b *testing.B) {
	open, recent := benchMirror()
	in := testInput(open, recent)
	in.Days = 90
	for b.Loop() {
		s := Build(in)
		if _, err := RenderIndex(&s, "Kernel security bugs"); err != nil {
			b.Fatal(err)
		}
	}
}
