// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/browsertest"
	"github.com/ksecbot/ksecbot/store"
)

// quarter is a plausible quarter of a tracker: bugs every day or two over
// 90 days, most announced within seconds, claimed within hours or days,
// some restricted.
func quarter() ([]bugzilla.Bug, []store.BugTimes) {
	rng := rand.New(rand.NewPCG(7, 11))
	subjects := []string{
		"sys-kernel/gentoo-sources: use-after-free in nf_tables", "sys-kernel/hardened-sources: RANDSTRUCT bypass",
		"sys-kernel/gentoo-kernel: out-of-bounds read in io_uring", "sys-kernel/rt-sources: race in the PREEMPT_RT scheduler",
		"kernel: ksmbd heap overflow (CVE-2026-23456)", "sys-kernel/gentoo-sources: double free in net/sched",
	}
	grades := []string{"A2", "B3", "B2", "C3", "A3", "B4"}
	var open []bugzilla.Bug
	var recent []store.BugTimes
	for id := 1; id <= 70; id++ {
		created := now.Add(-time.Duration(rng.IntN(88*24)+1) * time.Hour)
		b := bug(900000+id, subjects[rng.IntN(len(subjects))], created)
		b.Whiteboard = grades[rng.IntN(len(grades))] + " [upstream]"
		b.Severity = []string{"normal", "major", "critical"}[rng.IntN(3)]
		if rng.IntN(8) == 0 {
			b.Groups = []string{"security"}
		}
		bt := store.BugTimes{Bug: b, Announced: created.Add(time.Duration(1+rng.IntN(40)) * time.Second)}
		if rng.IntN(3) > 0 {
			bt.Claimed = created.Add(time.Duration(20+rng.IntN(60*48)) * time.Minute)
			b.AssignedTo = "kernel@gentoo.org"
			bt.Bug.AssignedTo = b.AssignedTo
			bt.CC = map[string]time.Time{"kernel@gentoo.org": created.Add(time.Duration(5+rng.IntN(600)) * time.Minute)}
		}
		if rng.IntN(2) == 0 {
			open = append(open, b)
		}
		recent = append(recent, bt)
	}
	// The mirror gives them oldest first.
	slices.SortFunc(open, func(x, y bugzilla.Bug) int { return x.CreationTime.Compare(y.CreationTime) })
	slices.SortFunc(recent, func(x, y store.BugTimes) int { return x.Bug.CreationTime.Compare(y.Bug.CreationTime) })
	return open, recent
}

// The page in a real browser: no console message, no script error, no
// request but the page itself; every plot drawn with lines and points.
// With KSECBOT_STATUS_SCREENSHOT set, the front page is saved there as a
// PNG (the README's picture).
func TestPageInChromium(t *testing.T) {
	b := browsertest.New(t)
	open, recent := quarter()
	h := &Handler{Title: "Kernel security bugs", Build: func(ctx context.Context, days int) (Snapshot, error) {
		in := testInput(open, recent)
		in.Days = days
		in.Exposure = func(tr config.Tree) *Exposure {
			return &Exposure{Version: "6.12.58", Affected: 7 + len(tr.Name)%5, FixedBy: "6.12.60", Fixes: 6}
		}
		return Build(in), nil
	}, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	if err := b.Do(30*time.Second, chromedp.EmulateViewport(1000, 1800), chromedp.Navigate(srv.URL+"/?days=90"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	lines, err := browsertest.Run(b, 10*time.Second, chromedp.Nodes(chromedp.CSSAll("svg.plot polyline.med"), chromedp.AtLeast(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 3*2 {
		t.Errorf("%d median lines drawn, want one per plot with data (at least 6)", len(lines))
	}
	titles, err := browsertest.Run(b, 10*time.Second, chromedp.Evaluate[int](`document.querySelectorAll("svg.plot > title, svg.plot > desc").length`))
	if err != nil {
		t.Fatal(err)
	}
	if titles != 2*3*len(testTrees) {
		t.Errorf("%d plot titles and descriptions, want a title and a description for each of %d plots", titles, 3*len(testTrees))
	}
	text, err := browsertest.Run(b, 10*time.Second, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Kernel CVEs affecting the newest stable version 6.12.58") {
		t.Error("the exposure line is missing")
	}
	if path := os.Getenv("KSECBOT_STATUS_SCREENSHOT"); path != "" {
		shot, err := browsertest.Run(b, 20*time.Second, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Do(30*time.Second, chromedp.Navigate(srv.URL+"/tree/gentoo-sources"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if c := b.Console(); len(c) > 0 {
		t.Errorf("console messages: %q", c)
	}
	if e := b.Errors(); len(e) > 0 {
		t.Errorf("script errors: %q", e)
	}
	for _, r := range b.Requests() {
		if !strings.HasPrefix(r, srv.URL+"/") {
			t.Errorf("request off the host: %s", r)
		}
	}
	if n := len(b.Requests()); n != 2 {
		t.Errorf("%d requests for two pages, want 2 (nothing but the pages): %q", n, b.Requests())
	}
}
