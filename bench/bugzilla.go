// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla/bugzillatest"
)

// bzServer is the in-process Bugzilla test server, served through a
// wrapper that counts the answers by status (bugzillatest itself records
// the requests but not the 304s).
type bzServer struct {
	*bugzillatest.Server
	ts *httptest.Server

	mu       sync.Mutex
	byStatus map[int]int
	log      []bzRequest // every request, oldest first
}

// bzRequest is one request as the wrapper saw it, with its answer's
// status.
type bzRequest struct {
	method, path string
	byID         bool // a search naming bug ids (?id=...), as pushes make
	status       int
}

func newBugzilla() *bzServer {
	b := &bzServer{Server: bugzillatest.NewHandler(), byStatus: map[int]int{}}
	for i := range maxTrees {
		b.AddUser(bugzillatest.User{Login: treeLogin(i), RealName: fmt.Sprintf("Tree %d maintainers", i)})
	}
	inner := b.Handler()
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(sw, r)
		b.mu.Lock()
		b.byStatus[sw.status]++
		b.log = append(b.log, bzRequest{method: r.Method, path: strings.TrimSuffix(r.URL.Path, "/"), byID: r.URL.Query().Has("id"), status: sw.status})
		b.mu.Unlock()
	}))
	return b
}

// url is the base URL of the wrapped server.
func (b *bzServer) url() string { return b.ts.URL }

func (b *bzServer) close() {
	b.ts.Close()
	b.Close()
}

// counts is a snapshot of what the server saw.
type counts struct {
	requests, searches, notModified int
}

func (b *bzServer) counts() counts {
	b.mu.Lock()
	nm := b.byStatus[http.StatusNotModified]
	b.mu.Unlock()
	return counts{requests: len(b.Requests()), searches: int(b.SearchCount()), notModified: nm}
}

func (c counts) sub(o counts) counts {
	return counts{requests: c.requests - o.requests, searches: c.searches - o.searches, notModified: c.notModified - o.notModified}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// maxTrees bounds the trees a benchmark configures: each has a Bugzilla
// account.
const maxTrees = 64

// treeLogin is the Bugzilla login of tree i's maintainers.
func treeLogin(i int) string { return fmt.Sprintf("tree%d-maint@gentoo.org", i) }

// createBug files one open, unclaimed kernel bug naming tree i of the
// registry (so one tree is highlighted, as in most real bugs).
func (b *bzServer) createBug(i int, tag string) int { return b.createBugAt(i, tag, time.Time{}) }

// createBugAt is createBug filed at a given time (zero: now).
func (b *bzServer) createBugAt(i int, tag string, at time.Time) int {
	tree := treeNames[i%len(treeNames)]
	return b.CreateBug(bugzillatest.NewBug{
		Summary:    fmt.Sprintf("CVE-2026-%05d: sys-kernel/%s: %s use-after-free in net/sched", i%100000, tree, tag),
		Whiteboard: "B3 [linux]",
		Severity:   "major",
		Created:    at,
	})
}

// mark is a position in the request log.
func (b *bzServer) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.log)
}

// since returns the requests after mark.
func (b *bzServer) since(mark int) []bzRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]bzRequest(nil), b.log[mark:]...)
}

// settle waits until no request other than a 304 has arrived for quiet,
// or until limit: ksecbot's auto-CC writes follow the announcement.
func (b *bzServer) settle(quiet, limit time.Duration) {
	deadline := time.Now().Add(limit)
	last, lastAt := -1, time.Now()
	for time.Now().Before(deadline) {
		n := 0
		for _, r := range b.since(0) {
			if r.status != http.StatusNotModified {
				n++
			}
		}
		if n != last {
			last, lastAt = n, time.Now()
		} else if time.Since(lastAt) >= quiet {
			return
		}
		time.Sleep(50 * time.Millisecond) // sampling a counter, not synchronisation
	}
}

// requestMix counts requests by kind.
type requestMix struct {
	searches, searchesByID, gets, comments, history, puts, other, notModified int
}

// mix classifies reqs: searches (GET /rest/bug, by id or not), reads of
// one bug (GET /rest/bug/N...), writes (PUT), everything else; 304
// answers are counted apart and not in the other kinds.
func mix(reqs []bzRequest) requestMix {
	var m requestMix
	for _, r := range reqs {
		switch {
		case r.status == http.StatusNotModified:
			m.notModified++
		case r.method == http.MethodGet && r.path == "/rest/bug" && r.byID:
			m.searchesByID++
		case r.method == http.MethodGet && r.path == "/rest/bug":
			m.searches++
		case r.method == http.MethodGet && strings.HasPrefix(r.path, "/rest/bug/") && strings.HasSuffix(r.path, "/comment"):
			m.comments++
		case r.method == http.MethodGet && strings.HasPrefix(r.path, "/rest/bug/") && strings.HasSuffix(r.path, "/history"):
			m.history++
		case r.method == http.MethodGet && strings.HasPrefix(r.path, "/rest/bug/"):
			m.gets++
		case r.method == http.MethodPut:
			m.puts++
		default:
			m.other++
		}
	}
	return m
}

// total is every request that was not answered 304.
func (m requestMix) total() int {
	return m.searches + m.searchesByID + m.gets + m.comments + m.history + m.puts + m.other
}

// perBug describes the mix divided by n new bugs.
func (m requestMix) perBug(n int) string {
	f := func(k int) float64 { return float64(k) / float64(n) }
	return fmt.Sprintf("%.2f requests/new bug: %.2f search, %.2f search by id, %.2f GET bug, %.2f GET comments, %.2f GET history, %.2f PUT, %.2f other (n=%d bugs; %d answers 304 not counted)",
		f(m.total()), f(m.searches), f(m.searchesByID), f(m.gets), f(m.comments), f(m.history), f(m.puts), f(m.other), n, m.notModified)
}
