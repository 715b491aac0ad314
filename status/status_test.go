// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
	"github.com/ksecbot/ksecbot/trees"
)

var testTrees = []config.Tree{
	{Name: "gentoo-sources", Packages: []string{"sys-kernel/gentoo-sources"}, Bugzilla: []string{"kernel@gentoo.org"}},
	{Name: "hardened", Packages: []string{"sys-kernel/hardened-sources"}, Bugzilla: []string{"hardened@gentoo.org"}},
	{Name: "rt-sources", Packages: []string{"sys-kernel/rt-sources"}, Bugzilla: []string{"rt@gentoo.org"}, Unsupported: true},
}

var now = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

// testInput makes the input of a mirror whose open bugs in the watches are
// open and whose bugs of the window (with their times) are recent.
func testInput(open []bugzilla.Bug, recent []store.BugTimes) Input {
	var bugs []store.BugTimes
	seen := map[int]int{}
	for _, bt := range recent {
		seen[bt.Bug.ID] = len(bugs)
		bugs = append(bugs, bt)
	}
	for _, b := range open {
		if i, ok := seen[b.ID]; ok {
			bugs[i].Matches = true
			continue
		}
		bugs = append(bugs, store.BugTimes{Bug: b, Matches: true})
	}
	return Input{
		Now:       now,
		Days:      30,
		Policy:    &policy.Policy{Trees: trees.New(testTrees)},
		BugURL:    func(id int) string { return fmt.Sprintf("https://bugs.example.org/show_bug.cgi?id=%d", id) },
		SearchURL: "https://bugs.example.org/buglist.cgi?resolution=---",
		Bugs:      bugs,
		Unclaimed: func(b *bugzilla.Bug) bool { return b.AssignedTo == "security@gentoo.org" },
		Health: Health{
			Networks: []Part{{Name: "irc", State: StateOK, Detail: "connected"}},
			Bugzilla: Part{Name: "Bugzilla", State: StateOK},
			Database: Part{Name: "Database", State: StateOK},
		},
	}
}

func bug(id int, summary string, created time.Time) bugzilla.Bug {
	return bugzilla.Bug{ID: id, Summary: summary, Product: "Gentoo Security", Component: "Kernel", Severity: "normal",
		AssignedTo: "security@gentoo.org", CreationTime: created, IsOpen: true}
}

// A maintainer reads, per tree, the open bugs that concern it, whether
// they are claimed and whether the tree is CC'd; a bug naming no tree
// concerns every tree with security support; a restricted one is only a
// number.
func TestBuildOpenBugsPerTree(t *testing.T) {
	gs := bug(1, "sys-kernel/gentoo-sources: use-after-free", now.Add(-50*time.Hour))
	gs.CC = []string{"kernel@gentoo.org"}
	hard := bug(2, "sys-kernel/hardened-sources: leak", now.Add(-3*time.Hour))
	hard.AssignedTo = "hardened@gentoo.org"
	generic := bug(3, "kernel: something in every tree", now.Add(-time.Hour))
	secret := bug(4, "sys-kernel/hardened-sources: embargoed", now.Add(-time.Hour))
	secret.Groups = []string{"security"}
	s := Build(testInput([]bugzilla.Bug{gs, hard, generic, secret}, nil))

	ids := func(tr Tree) (out []int) {
		for _, b := range tr.Open {
			out = append(out, b.ID)
		}
		return out
	}
	want := map[string][]int{"gentoo-sources": {1, 3}, "hardened": {2, 3}, "rt-sources": nil}
	for _, tr := range s.Trees {
		if fmt.Sprint(ids(tr)) != fmt.Sprint(want[tr.Name]) {
			t.Errorf("%s lists bugs %v, want %v", tr.Name, ids(tr), want[tr.Name])
		}
	}
	if len(s.Restricted) != 1 || s.Restricted[0].ID != 4 {
		t.Errorf("restricted: %+v, want bug 4 alone", s.Restricted)
	}
	hardened := s.Trees[1]
	if hardened.Unclaimed != 1 || !hardened.Open[0].Claimed || !hardened.Open[0].CCd {
		t.Errorf("hardened: %d unclaimed, first row %+v; want bug 2 claimed by (so CC'd to) hardened, bug 3 unclaimed", hardened.Unclaimed, hardened.Open[0])
	}
	if g := s.Trees[0]; g.NotCC != 1 || !g.Open[0].CCd || g.Open[0].Age != "2d" {
		t.Errorf("gentoo-sources: %d not CC'd, first row %+v; want bug 1 CC'd, 2d old", g.NotCC, g.Open[0])
	}
}

// Reaction times per tree and week: the median and the 90th percentile
// of the bugs created in each week; restricted and caught-up bugs take no
// part.
func TestBuildReactionTimes(t *testing.T) {
	var recent []store.BugTimes
	add := func(id int, created time.Time, announced, claimed time.Duration, restricted bool) {
		b := bug(id, "sys-kernel/gentoo-sources: bug", created)
		if restricted {
			b.Groups = []string{"security"}
		}
		bt := store.BugTimes{Bug: b, Announced: created.Add(announced)}
		if claimed > 0 {
			bt.Claimed = created.Add(claimed)
			bt.CC = map[string]time.Time{"kernel@gentoo.org": created.Add(claimed / 2)}
		}
		recent = append(recent, bt)
	}
	lastWeek := now.Add(-2 * 24 * time.Hour)
	add(1, lastWeek, 10*time.Second, 2*time.Hour, false)
	add(2, lastWeek, 30*time.Second, 4*time.Hour, false)
	add(3, lastWeek, 50*time.Second, 0, false)
	add(4, lastWeek, 100*time.Hour, 0, true) // restricted: never counted
	add(5, lastWeek, 200*time.Hour, 0, false)
	add(6, now.Add(-20*24*time.Hour), time.Minute, 0, false)
	add(7, now.Add(-200*24*time.Hour), time.Minute, 0, false) // outside the window
	in := testInput(nil, recent)
	in.CatchUp = func(id int) bool { return id == 5 }
	s := Build(in)
	gs := s.Trees[0]
	ann, claim, cc := gs.Reaction[0], gs.Reaction[1], gs.Reaction[2]
	if len(ann.Weeks) != 5 {
		t.Fatalf("%d weeks in 30 days, want 5", len(ann.Weeks))
	}
	last := ann.Weeks[4]
	if last.N != 3 || last.Median != 30*time.Second || last.P90 != 50*time.Second {
		t.Errorf("last week's announcements: %+v; want 3 bugs, median 30s, p90 50s (restricted bug 4 and caught-up bug 5 left out)", last)
	}
	if ann.N != 4 {
		t.Errorf("announcements measured: %d, want 4", ann.N)
	}
	if claim.N != 2 || claim.Median != 3*time.Hour || claim.Weeks[4].P90 != 4*time.Hour {
		t.Errorf("claims: %+v, want 2 with median 3h", claim)
	}
	if cc.N != 2 || cc.Median != 90*time.Minute {
		t.Errorf("CCs: %+v, want 2 with median 1h30m", cc)
	}
	if h := s.Trees[1]; h.Reaction[0].N != 0 {
		t.Errorf("hardened measured %d announcements of gentoo-sources bugs", h.Reaction[0].N)
	}
}

// The page is a real HTML document with every part a reader and a
// screen reader need: headings, table headers, plots with text.
func TestRenderIndex(t *testing.T) {
	gs := bug(1, `sys-kernel/gentoo-sources: <script>alert(1)</script> & "quotes"`, now.Add(-50*time.Hour))
	recent := []store.BugTimes{{Bug: gs, Announced: gs.CreationTime.Add(3 * time.Second)}}
	s := Build(testInput([]bugzilla.Bug{gs}, recent))
	page, err := RenderIndex(&s, "Kernel security bugs")
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, want := range []string{
		`<html lang="en">`, `<h1>Kernel security bugs</h1>`, `<th scope="col">Tree</th>`,
		`&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;`,
		`role="img"`, `<title id="p0-0-t">gentoo-sources: creation → announcement, per week</title>`,
		`creation → announcement over 1 bugs: median 3 s`, `href="/tree/hardened"`, `(no security support)`,
		`<a href="https://bugs.example.org/show_bug.cgi?id=1">1</a>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, bad := range []string{"<script", "src=", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the page has %q: it must load nothing and run nothing", bad)
		}
	}
}

func TestHandler(t *testing.T) {
	var mu sync.Mutex
	builds := 0
	version := uint64(1)
	clock := now
	summary := "sys-kernel/gentoo-sources: first summary"
	h := &Handler{
		Build: func(ctx context.Context, days int) (Snapshot, error) {
			mu.Lock()
			defer mu.Unlock()
			builds++
			in := testInput([]bugzilla.Bug{bug(1, summary, now.Add(-time.Hour))}, nil)
			in.Days = days
			return Build(in), nil
		},
		Version: func() uint64 { mu.Lock(); defer mu.Unlock(); return version },
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
	}
	set := func(f func()) { mu.Lock(); defer mu.Unlock(); f() }
	count := func() int { mu.Lock(); defer mu.Unlock(); return builds }
	mux := http.NewServeMux()
	h.Register(mux)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	r := get("/")
	if r.Code != 200 || !strings.Contains(r.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /: %d, CSP %q", r.Code, r.Header().Get("Content-Security-Policy"))
	}
	get("/")
	get("/tree/gentoo-sources")
	if n := count(); n != 1 {
		t.Errorf("%d builds for three requests of one mirror version, want 1", n)
	}

	// The mirror changed: the page in memory is served once more while
	// the new one is built in the background.
	set(func() { version, summary = 2, "sys-kernel/gentoo-sources: second summary" })
	if r := get("/"); !strings.Contains(r.Body.String(), "first summary") {
		t.Error("a stale page younger than MaxStale was not served while the new one is built")
	}
	waitFor(t, func() bool { return strings.Contains(get("/").Body.String(), "second summary") })

	// A page is never served older than MaxStale: the request waits.
	set(func() { clock, summary = clock.Add(MaxStale), "sys-kernel/gentoo-sources: third summary" })
	if r := get("/"); !strings.Contains(r.Body.String(), "third summary") {
		t.Error("a page older than MaxStale was served")
	}
	if r := get("/?days=90"); !strings.Contains(r.Body.String(), "last 90 days") {
		t.Error("?days=90 does not show 90 days")
	}
	if r := get("/tree/GENTOO-sources"); r.Code != 200 || !strings.Contains(r.Body.String(), "third summary") {
		t.Errorf("tree page: %d", r.Code)
	}
	if r := get("/tree/no-such-tree"); r.Code != 404 || !strings.Contains(r.Body.String(), "There is no tree named <code>no-such-tree</code>") {
		t.Errorf("unknown tree: %d %s", r.Code, r.Body.String())
	}
	if r := get("/elsewhere"); r.Code != 404 {
		t.Errorf("GET /elsewhere: %d, want 404", r.Code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Property: whatever the mirror holds, no detail of a restricted bug (or
// one gone out of ksecbot's sight, or unconfirmed since a key outage)
// reaches the page or a tree page: not its summary, whiteboard, alias,
// severity or CC, and its trees are not counted.
func TestPropertyNoRestrictedDetail(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"gentoo-sources", "hardened-sources", "rt-sources", "vanilla", "kernel"}
	for iter := range 300 {
		var open []bugzilla.Bug
		var recent []store.BugTimes
		var secrets []string
		var public []int
		for id := 1; id <= rng.IntN(40); id++ {
			tok := fmt.Sprintf("TOK%dx%dZ", iter, id)
			b := bug(id, fmt.Sprintf("sys-kernel/%s: %s flaw", names[rng.IntN(len(names))], tok), now.Add(-time.Duration(rng.IntN(80*24))*time.Hour))
			b.Whiteboard = "A" + fmt.Sprint(rng.IntN(4)) + " wb-" + tok
			b.Alias = []string{"CVE-2026-" + tok}
			b.Severity = "sev-" + tok
			b.CC = []string{"cc-" + tok + "@example.org", "kernel@gentoo.org"}
			// Restricted, gone out of ksecbot's sight, or not confirmed
			// since a key outage: the public sees none of them.
			switch rng.IntN(6) {
			case 0, 1:
				b.Groups = []string{"security"}
				secrets = append(secrets, tok)
			case 2:
				b.Sight.Gone = true
				secrets = append(secrets, tok)
			case 3:
				b.Sight.Unconfirmed = true
				secrets = append(secrets, tok)
			default:
				public = append(public, id)
			}
			if rng.IntN(4) > 0 {
				open = append(open, b)
			}
			recent = append(recent, store.BugTimes{Bug: b, Announced: b.CreationTime.Add(time.Duration(rng.IntN(3600)) * time.Second)})
		}
		for _, days := range []int{30, 90} {
			in := testInput(open, recent)
			in.Days = days
			s := Build(in)
			pages := []string{}
			p, err := RenderIndex(&s, "t")
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, string(p))
			for _, tr := range testTrees {
				p, _, err := RenderTree(&s, "t", tr.Name)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, string(p))
			}
			for _, page := range pages {
				for _, tok := range secrets {
					if strings.Contains(page, tok) {
						t.Fatalf("iteration %d: a page shows restricted bug detail %s", iter, tok)
					}
				}
			}
			for _, tr := range s.Trees {
				for _, r := range tr.Open {
					found := false
					for _, id := range public {
						found = found || id == r.ID
					}
					if !found {
						t.Fatalf("iteration %d: tree %s lists bug %d, which is restricted", iter, tr.Name, r.ID)
					}
				}
			}
		}
	}
}

// A huge mirror is counted whole but listed up to MaxRows per tree: the
// page and its cache stay small.
func TestManyOpenBugs(t *testing.T) {
	var open []bugzilla.Bug
	for id := 1; id <= MaxRows+100; id++ {
		open = append(open, bug(id, "sys-kernel/hardened-sources: flaw", now.Add(-time.Duration(MaxRows+200-id)*time.Hour)))
	}
	s := Build(testInput(open, nil))
	h := s.Trees[1]
	if h.NOpen != MaxRows+100 || len(h.Open) != MaxRows || h.Unclaimed != MaxRows+100 {
		t.Fatalf("hardened: %d open, %d rows kept, %d unclaimed; want %d, %d, %d", h.NOpen, len(h.Open), h.Unclaimed, MaxRows+100, MaxRows, MaxRows+100)
	}
	page, _, err := RenderTree(&s, "t", "hardened")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), fmt.Sprintf("Open bugs that concern hardened: %d, %d unclaimed", MaxRows+100, MaxRows+100)) ||
		!strings.Contains(string(page), fmt.Sprintf("The %d oldest are shown.", MaxRows)) || strings.Count(string(page), `<td class="num"><a href=`) != MaxRows {
		t.Error("the tree page does not count every bug and list the oldest MaxRows")
	}
	index, err := RenderIndex(&s, "t")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), fmt.Sprintf("All %d open bugs of hardened", MaxRows+100)) {
		t.Error("the front page does not link to all of hardened's bugs")
	}
}
