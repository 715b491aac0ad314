// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

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
}

func newBugzilla() *bzServer {
	b := &bzServer{Server: bugzillatest.NewHandler(), byStatus: map[int]int{}}
	inner := b.Handler()
	b.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		inner.ServeHTTP(sw, r)
		b.mu.Lock()
		b.byStatus[sw.status]++
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

// createBug files one open, unclaimed kernel bug naming tree i of the
// registry (so one tree is highlighted, as in most real bugs).
func (b *bzServer) createBug(i int, tag string) int {
	tree := treeNames[i%len(treeNames)]
	return b.CreateBug(bugzillatest.NewBug{
		Summary:    fmt.Sprintf("CVE-2026-%05d: sys-kernel/%s: %s use-after-free in net/sched", i%100000, tree, tag),
		Whiteboard: "B3 [linux]",
		Severity:   "major",
	})
}
