// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is how long a rendered page is served again while the mirror
// has not changed: health moves without the mirror, so not for long.
const DefaultTTL = 10 * time.Second

// MaxStale bounds how old a page may be when it is served while a fresh
// one is built in the background (after the TTL or a mirror change): a
// bug restricted in Bugzilla leaves the page at most this long after
// ksecbot's mirror learnt of it. An older page is never served; the
// request waits for the build.
const MaxStale = 30 * time.Second

// contentPolicy lets the page load nothing: no script, no font, no image
// or style from anywhere but the page itself.
const contentPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the status page (GET /) and one page per tree
// (GET /tree/{name}), both with ?days=30 (default) or ?days=90. Pages are
// built once per mirror version and TTL and served from memory between;
// a stale page (never older than MaxStale) is served while the next one is
// built in the background, so a reader rarely waits for a build. It is
// safe for concurrent use.
type Handler struct {
	Title string
	// Build returns the snapshot for a reaction-time window of days.
	Build func(ctx context.Context, days int) (Snapshot, error)
	// Version changes whenever the mirror changes; 0 means a write is
	// under way, and nothing built then is kept.
	Version func() uint64
	TTL     time.Duration // default DefaultTTL
	Now     func() time.Time
	Log     *slog.Logger

	mu       sync.Mutex
	cache    map[int]*entry // by days
	building map[int]bool   // a background build runs for these windows
}

// built is called after every build. A build decodes the whole open
// mirror (10 000 bugs: about 15 MB) and keeps a small page; the memory it
// leaves is handed back to the system at once rather than to the
// background scavenger (RSS after the bench's page requests with 10 000
// bugs: 58 -> 39 MiB). Builds come at most once per window and TTL, so
// the garbage collection this costs is rare.
func (h *Handler) built() { debug.FreeOSMemory() }

type entry struct {
	version uint64
	at      time.Time
	snap    *Snapshot
	pages   map[string][]byte // "" the index, else the lower-case tree name
	found   map[string]bool
}

// Register adds the page's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.serveIndex)
	mux.HandleFunc("GET /tree/{name}", h.serveTree)
}

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "")
}

func (h *Handler) serveTree(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	h.serve(w, r, name)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, tree string) {
	days := 30
	if r.URL.Query().Get("days") == "90" {
		days = 90
	}
	page, found, err := h.page(r.Context(), days, tree)
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cache-Control", "no-cache")
	if err != nil {
		h.log().Error("status page", "err", err)
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("The status page cannot be built right now; see /healthz and the log.\n"))
		return
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	if !found {
		w.WriteHeader(http.StatusNotFound)
	}
	_, _ = w.Write(page)
}

// page returns the rendered page: from the cache when it is current; when
// it is stale but younger than MaxStale, from the cache while a fresh one
// is built in the background; else built now.
func (h *Handler) page(ctx context.Context, days int, tree string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	ver := h.version()
	e := h.cache[days]
	if e == nil || now.Sub(e.at) >= MaxStale {
		var err error
		if e, err = h.buildLocked(ctx, days, ver, now); err != nil {
			return nil, false, err
		}
	} else if e.version != ver || now.Sub(e.at) >= h.ttl() {
		h.refresh(days)
	}
	return h.render(e, tree)
}

// buildLocked builds the snapshot for days and keeps it (unless the mirror
// was being written: version 0). h.mu is held.
func (h *Handler) buildLocked(ctx context.Context, days int, ver uint64, now time.Time) (*entry, error) {
	snap, err := h.Build(ctx, days)
	if err != nil {
		return nil, err
	}
	h.built()
	e := &entry{version: ver, at: now, snap: &snap, pages: map[string][]byte{}, found: map[string]bool{}}
	if ver != 0 {
		if h.cache == nil {
			h.cache = map[int]*entry{}
		}
		h.cache[days] = e
	}
	return e, nil
}

// refresh builds the snapshot for days in the background, once at a time.
// h.mu is held.
func (h *Handler) refresh(days int) {
	if h.building[days] {
		return
	}
	if h.building == nil {
		h.building = map[int]bool{}
	}
	h.building[days] = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), MaxStale)
		defer cancel()
		ver := h.version()
		snap, err := h.Build(ctx, days)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.building[days] = false
		h.built()
		if err != nil {
			h.log().Warn("status page: background build failed", "err", err)
			return
		}
		if ver != 0 {
			h.cache[days] = &entry{version: ver, at: h.now(), snap: &snap, pages: map[string][]byte{}, found: map[string]bool{}}
		}
	}()
}

// render returns the page of a tree ("" the index) from e, rendering it
// once. h.mu is held.
func (h *Handler) render(e *entry, tree string) ([]byte, bool, error) {
	key := strings.ToLower(tree)
	if p, ok := e.pages[key]; ok {
		return p, e.found[key], nil
	}
	var p []byte
	found := true
	var err error
	if tree == "" {
		p, err = RenderIndex(e.snap, h.title())
	} else {
		p, found, err = RenderTree(e.snap, h.title(), tree)
	}
	if err != nil {
		return nil, false, err
	}
	if found {
		e.pages[key], e.found[key] = p, true
	}
	return p, found, nil
}

func (h *Handler) version() uint64 {
	if h.Version == nil {
		return 1
	}
	return h.Version()
}

func (h *Handler) ttl() time.Duration {
	if h.TTL <= 0 {
		return DefaultTTL
	}
	return h.TTL
}

func (h *Handler) title() string {
	if h.Title == "" {
		return "Kernel security bugs"
	}
	return h.Title
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
