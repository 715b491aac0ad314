// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

func TestSummarize(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var hundred []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		hundred = append(hundred, ms(i))
	}
	tests := []struct {
		name          string
		in            []time.Duration
		p50, p99, max time.Duration
	}{
		{"one", []time.Duration{ms(7)}, ms(7), ms(7), ms(7)},
		{"two", []time.Duration{ms(9), ms(1)}, ms(1), ms(9), ms(9)},
		{"hundred", hundred, ms(50), ms(99), ms(100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := summarize(tc.in)
			if s.p50 != tc.p50 || s.p99 != tc.p99 || s.maxd != tc.max || s.n != len(tc.in) {
				t.Errorf("summarize = %+v, want p50 %v p99 %v max %v n %d", s, tc.p50, tc.p99, tc.max, len(tc.in))
			}
		})
	}
	if got := summarize(nil).String(); got != "no samples" {
		t.Errorf("empty summary prints %q", got)
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    memory
		wantErr bool
	}{
		{"real", "Name:\tksecbot\nVmPeak:\t 1 kB\nVmHWM:\t   30720 kB\nVmRSS:\t   20480 kB\nThreads: 9\n", memory{rss: 20 << 20, hwm: 30 << 20}, false},
		{"missing", "Name:\tksecbot\n", memory{}, true},
		{"bad unit", "VmHWM:\t1 MB\nVmRSS:\t1 MB\n", memory{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseStatus = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestSumMetric(t *testing.T) {
	text := "# HELP ksecbot_polls_total Bugzilla polls made.\n# TYPE ksecbot_polls_total counter\nksecbot_polls_total 12\n" +
		"ksecbot_polls_total_extra 99\nksecbot_outbox_depth{network=\"irc\"} 2\nksecbot_outbox_depth{network=\"matrix\"} 3\n"
	tests := []struct {
		name    string
		want    float64
		wantErr bool
	}{
		{"ksecbot_polls_total", 12, false},
		{"ksecbot_outbox_depth", 5, false},
		{"ksecbot_absent", 0, true},
	}
	for _, tc := range tests {
		got, err := sumMetric(text, tc.name)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("sumMetric(%s) = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestAnnounces(t *testing.T) {
	tests := []struct {
		text string
		id   int
		want bool
	}{
		{"New kernel security bug 12: CVE-2026-00001 ... https://bugs.gentoo.org/show_bug.cgi?id=12", 12, true},
		{"New kernel security bug 123: summary", 12, false},
		{"New kernel security bug 12: summary mentions bug 13", 13, false},
		{"Bug 12 (<1m, major, B3): summary", 12, false}, // a !pending line, not an announcement
	}
	for _, tc := range tests {
		if got := announces(stripFormatting(tc.text), tc.id); got != tc.want {
			t.Errorf("announces(%q, %d) = %v, want %v", tc.text, tc.id, got, tc.want)
		}
	}
	if got := stripFormatting("\x02bug 5\x02 \x0304,01red\x03 x"); got != "bug 5 red x" {
		t.Errorf("stripFormatting = %q", got)
	}
}

// BenchmarkPendingQuery is the store side of !pending with 10 000 open,
// unclaimed bugs: the filter as commands.cmdPending builds it (no Limit,
// so every matching bug is decoded) and with the Limit that the reply
// needs (the 200 ids of the buglist URL); and of !pending hardened, where
// half the bugs name hardened-sources: every bug is judged by the tree
// matching of highlights (trees.Registry.Concerns), 20 decoded.
func BenchmarkPendingQuery(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(b.TempDir(), "ksecbot.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var bugs []bugzilla.Bug
	for i := 1; i <= 10000; i++ {
		bugs = append(bugs, bugzilla.Bug{
			ID: i, Summary: fmt.Sprintf("CVE-2026-%05d: sys-kernel/%s: use-after-free in net/sched", i, []string{"gentoo-sources", "hardened-sources"}[i%2]),
			Product: "Gentoo Security", Component: "Kernel", Status: "CONFIRMED", Severity: "major",
			Whiteboard: "B3 [linux]", AssignedTo: "security@gentoo.org", CC: []string{"kernel@gentoo.org"}, IsOpen: true,
			CreationTime: t0.Add(time.Duration(i) * time.Second), LastChangeTime: t0.Add(time.Duration(i) * time.Second),
		})
	}
	if err := s.SaveBugs(ctx, bugs, nil, true); err != nil {
		b.Fatal(err)
	}
	for _, limit := range []int{0, 200} {
		f := store.BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true,
			AssignedTo: []string{"security@gentoo.org"}, Limit: limit}
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			for b.Loop() {
				if _, total, err := s.Bugs(ctx, f); err != nil || total != 10000 {
					b.Fatal(total, err)
				}
			}
		})
	}
	// !pending as it asks now: unclaimed means with the default of now or
	// of when the bug was filed (policy.UnclaimedWindows), the first lines.
	uf := store.BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true,
		AssignedWithin: []store.AssignedWindow{{Watch: "Gentoo Security/Kernel", Logins: []string{"security@gentoo.org", "security"}}}, Limit: 20}
	b.Run("unclaimed,limit=20", func(b *testing.B) {
		for b.Loop() {
			if _, total, err := s.Bugs(ctx, uf); err != nil || total != 10000 {
				b.Fatal(total, err)
			}
		}
	})
	reg := trees.New([]config.Tree{
		{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Bugzilla: []string{"kernel@gentoo.org"}},
		{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Bugzilla: []string{"hardened@gentoo.org"}},
	})
	f := store.BugFilter{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true,
		NotCC: []string{"hardened@gentoo.org", "hardened"}, Names: func(b *bugzilla.Bug) bool { return reg.Concerns(b, "hardened") }, Limit: 20}
	b.Run("tree=hardened,limit=20", func(b *testing.B) {
		for b.Loop() {
			if _, total, err := s.Bugs(ctx, f); err != nil || total != 5000 {
				b.Fatal(total, err)
			}
		}
	})
}

// TestMixAndFloor: requests are classified by kind with 304s apart, and a
// latency row gets its floor (scaled by the number of relays) and ratio.
func TestMixAndFloor(t *testing.T) {
	m := mix([]bzRequest{
		{method: "GET", path: "/rest/bug", status: 200},
		{method: "GET", path: "/rest/bug", status: 304},
		{method: "GET", path: "/rest/bug", byID: true, status: 200},
		{method: "GET", path: "/rest/bug/7", status: 200},
		{method: "GET", path: "/rest/bug/7/comment", status: 200},
		{method: "PUT", path: "/rest/bug/7", status: 200},
		{method: "GET", path: "/rest/whoami", status: 200},
	})
	if want := (requestMix{searches: 1, searchesByID: 1, gets: 1, comments: 1, puts: 1, other: 1, notModified: 1}); m != want || m.total() != 6 {
		t.Errorf("mix = %+v (total %d), want %+v (total 6)", m, m.total(), want)
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	r := row{what: "x"}.against(summarize([]time.Duration{ms(40), ms(80)}), summarize([]time.Duration{ms(10), ms(20)}), 2)
	if r.floor != "p50 20.0 ms, p99 40.0 ms (2 relays)" || r.ratio != "×2.0 p50, ×2.0 p99" {
		t.Errorf("floor %q ratio %q", r.floor, r.ratio)
	}
	if r := (row{}).against(summary{}, summary{}, 1); r.floor != "" || r.ratio != "" {
		t.Errorf("no samples gave floor %q ratio %q", r.floor, r.ratio)
	}
}
