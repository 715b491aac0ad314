// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "s3cr3t-KEY+/="

// fixture is one recorded request/response pair from a real Bugzilla 5.0.6.
type fixture struct {
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"response"`
}

func loadFixture(t testing.TB, prefix string) fixture {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join("testdata", "fixtures", prefix+"-*.json"))
	if len(m) != 1 {
		t.Fatalf("fixture %s: %d files", prefix, len(m))
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("fixture %s: %v", prefix, err)
	}
	return f
}

// seen is a request as the fake server got it.
type seen struct {
	Method, Path string
	Query        map[string][]string
	Header       http.Header
	Body         map[string]any
}

// fixtureServer serves the fixtures' responses for requests with their
// method and path, in order, and records what it got.
type fixtureServer struct {
	*httptest.Server
	mu      sync.Mutex
	anyPath bool // serve the fixtures whatever the path
	fs      []fixture
	got     []seen
	next    int
}

func newFixtureServer(t *testing.T, prefixes ...string) *fixtureServer {
	t.Helper()
	s := &fixtureServer{}
	for _, p := range prefixes {
		s.fs = append(s.fs, loadFixture(t, p))
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		sn := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &sn.Body); err != nil {
				t.Errorf("request body is not JSON: %q", b)
			}
		}
		s.got = append(s.got, sn)
		if s.next >= len(s.fs) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, "no fixture", 500)
			return
		}
		f := s.fs[s.next]
		s.next++
		if f.Request.Method != r.Method || (f.Request.Path != r.URL.Path && !s.anyPath) {
			t.Errorf("request %s %s, fixture wants %s %s", r.Method, r.URL.Path, f.Request.Method, f.Request.Path)
		}
		for k, v := range f.Response.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.Response.Status)
		if len(f.Response.Body) > 0 && string(f.Response.Body) != "null" {
			w.Write(f.Response.Body)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fixtureServer) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.got...)
}

func newTestClient(t *testing.T, url, key string) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: url, APIKey: key, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c.backoff = func(int) time.Duration { return 0 }
	return c
}

func TestNewValidatesBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://bugs.gentoo.org", "https://bugs.gentoo.org", true},
		{"https://bugs.gentoo.org/", "https://bugs.gentoo.org", true},
		{"https://bugs.gentoo.org/rest/", "https://bugs.gentoo.org", true},
		{"http://127.0.0.1:8080/bugzilla", "http://127.0.0.1:8080/bugzilla", true},
		{"bugs.gentoo.org", "", false},
		{"ftp://bugs.gentoo.org", "", false},
		{"", "", false},
		{"https://user:pw@bugs.gentoo.org", "", false},
		{"https://bugs.gentoo.org/?x=1", "", false},
	}
	for _, tt := range tests {
		c, err := New(Options{BaseURL: tt.in})
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error leaks the password: %v", tt.in, err)
		}
		if tt.ok && c.base != tt.want {
			t.Errorf("New(%q) base URL = %q, want %q", tt.in, c.base, tt.want)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		fixture string
		run     func(t *testing.T, c *Client)
	}{
		{"003", func(t *testing.T, c *Client) {
			got, err := c.ServerTime(ctx)
			want := time.Date(2026, 11, 27, 4, 30, 45, 0, time.UTC)
			if err != nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("ServerTime = %v, %v; want %v", got, err, want)
			}
		}},
		{"146", func(t *testing.T, c *Client) {
			// SQLite-backed Bugzilla, web server not in UTC: db_time is null.
			got, err := c.ServerTime(ctx)
			want := time.Date(2026, 11, 27, 4, 33, 34, 0, time.UTC)
			if err != nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("ServerTime = %v, %v; want web_time_utc %v", got, err, want)
			}
		}},
		{"012", func(t *testing.T, c *Client) {
			res, err := c.Search(ctx, SearchQuery{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Bugs) != 6 {
				t.Fatalf("got %d bugs, want 6", len(res.Bugs))
			}
			b := res.Bugs[0]
			if b.ID != 1 || b.AliasString() != "CVE-2026-1234" || b.Whiteboard != "A2 [linux <6.6.60]" ||
				b.AssignedTo != "security@gentoo.example" || len(b.CC) != 2 || b.Restricted() ||
				!b.LastChangeTime.Equal(time.Date(2026, 11, 27, 4, 30, 18, 0, time.UTC)) {
				t.Errorf("bug 1 parsed as %+v", b)
			}
			var restricted []int
			for _, b := range res.Bugs {
				if b.Restricted() {
					restricted = append(restricted, b.ID)
				}
			}
			if len(restricted) != 1 || restricted[0] != 3 {
				t.Errorf("restricted bugs = %v, want [3]", restricted)
			}
		}},
		{"040", func(t *testing.T, c *Client) {
			b, err := c.Bug(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if b.Summary != "Linux kernel: use-after-free in nf_tables (CVE-2026-1234)" || !b.IsOpen || !b.Open() || b.Creator != "kernel@gentoo.example" {
				t.Errorf("bug = %+v", b)
			}
		}},
		{"060", func(t *testing.T, c *Client) {
			res, err := c.Update(ctx, 2, Update{CCAdd: []string{"hardened@gentoo.example"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.ID != 2 || res.Changes["cc"] != (Change{Added: "hardened@gentoo.example"}) ||
				!res.LastChangeTime.Equal(time.Date(2026, 11, 27, 4, 31, 41, 0, time.UTC)) {
				t.Errorf("update = %+v", res)
			}
		}},
		{"135", func(t *testing.T, c *Client) {
			wb := "A3 [linux <6.12.5] [glsa+]"
			res, err := c.Update(ctx, 2, Update{Whiteboard: &wb})
			if err != nil || len(res.Changes) != 0 || res.Changes == nil {
				t.Errorf("no-op update = %+v, %v; want empty changes", res, err)
			}
		}},
		{"151", func(t *testing.T, c *Client) {
			a, _, err := c.ComponentDefaults(ctx, "Gentoo Security", "Kernel")
			if err != nil || a != "security@gentoo.example" {
				t.Errorf("ComponentDefaults = %q, %v", a, err)
			}
		}},
		{"032", func(t *testing.T, c *Client) {
			bugs, err := c.Bugs(ctx, []int{1, 2})
			if err != nil || len(bugs) != 2 || bugs[1].ID != 2 {
				t.Errorf("Bugs = %+v, %v", bugs, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s := newFixtureServer(t, tt.fixture)
			tt.run(t, newTestClient(t, s.URL, testKey))
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestErrorsFromFixtures(t *testing.T) {
	ctx := context.Background()
	getID := func(id int) func(c *Client) error {
		return func(c *Client) error { _, err := c.Bug(ctx, id); return err }
	}
	get := getID(1)
	search := func(c *Client) error {
		_, err := c.Search(ctx, SearchQuery{Products: []string{"Gentoo Security"}})
		return err
	}
	put := func(c *Client) error { _, err := c.Update(ctx, 2, Update{CCAdd: []string{"x"}}); return err }
	tests := []struct {
		fixture string
		call    func(*Client) error
		want    error
		code    int
	}{
		{"080", get, ErrBadAPIKey, 306},
		{"081", search, ErrBadAPIKey, 306},
		{"082", getID(99999), ErrNotFound, 101},
		{"050", getID(3), ErrRestricted, 102},
		{"085", put, ErrUnknownUser, 51},
		{"086", put, ErrUnknownUser, 51},
		{"087", put, ErrLoginRequired, 410},
		{"071", put, ErrPermission, 115},
		{"092", search, ErrInvalid, 50},
	}
	all := []error{ErrNotFound, ErrRestricted, ErrPermission, ErrUnknownUser, ErrBadAPIKey, ErrLoginRequired, ErrInvalid, ErrUnavailable}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s := newFixtureServer(t, tt.fixture)
			key := testKey
			if tt.code == CodeBadAPIKey {
				key = "" // with a key the read would go on anonymously: TestRefusedKey
			}
			err := tt.call(newTestClient(t, s.URL, key))
			var be *Error
			if !errors.As(err, &be) || be.Code != tt.code || be.Message == "" {
				t.Fatalf("error = %v, want a *Error with code %d", err, tt.code)
			}
			for _, sentinel := range all {
				if got := errors.Is(err, sentinel); got != (sentinel == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, sentinel, got)
				}
			}
			if Temporary(err) {
				t.Errorf("Temporary(%v) = true for a 4xx", err)
			}
			if n := len(s.requests()); n != 1 {
				t.Errorf("%d requests for a 4xx, want 1 (no retry)", n)
			}
		})
	}
}

// TestRefusedKey: a key Bugzilla refuses (306 on a read, fixture 081)
// switches the client to anonymous reads: the same read is repeated at
// once without the key and succeeds, later reads go out without it,
// writes are refused without a request, and a successful key check
// (fixtures 095, 032) switches back.
func TestRefusedKey(t *testing.T) {
	ctx := context.Background()
	s := newFixtureServer(t, "081", "036", "036", "095", "032", "060")
	s.anyPath = true
	c := newTestClient(t, s.URL, testKey)
	search := SearchQuery{Products: []string{"Gentoo Security"}, Components: []string{"Kernel"}, OpenOnly: true}
	res, err := c.Search(ctx, search)
	if err != nil || len(res.Bugs) == 0 {
		t.Fatalf("search with a refused key = %d bugs, %v; want the anonymous answer", len(res.Bugs), err)
	}
	select {
	case <-c.KeyChanges():
	default:
		t.Error("no key change signalled")
	}
	if st := c.Key(); !st.Refused || st.Since.IsZero() || !strings.Contains(st.Reason, "API key") || strings.Contains(st.Reason, testKey) {
		t.Errorf("Key() = %+v, want refused with Bugzilla's reason", st)
	}
	if _, err := c.Search(ctx, search); err != nil {
		t.Fatalf("second anonymous search: %v", err)
	}
	if _, err := c.Update(ctx, 2, Update{CCAdd: []string{"kernel@gentoo.org"}}); !errors.Is(err, ErrKeyRefused) {
		t.Errorf("write while refused = %v, want ErrKeyRefused", err)
	}
	got := s.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3 (refused search, 2 anonymous searches; no write)", len(got))
	}
	if got[0].Query["Bugzilla_api_key"] == nil {
		t.Error("first search did not carry the key")
	}
	for i, r := range got[1:] {
		if r.Query["Bugzilla_api_key"] != nil {
			t.Errorf("request %d after the refusal still carries the key", i+2)
		}
	}
	if _, err := c.CheckAPIKey(ctx); err != nil {
		t.Fatalf("CheckAPIKey after the key was fixed: %v", err)
	}
	if c.KeyRefused() {
		t.Error("key still refused after a successful check")
	}
	if _, err := c.Update(ctx, 2, Update{CCAdd: []string{"hardened@gentoo.example"}}); err != nil {
		t.Errorf("write after recovery: %v", err)
	}
	got = s.requests()
	if len(got) != 6 || got[3].Query["Bugzilla_api_key"] == nil || got[5].Body["Bugzilla_api_key"] != testKey {
		t.Errorf("after recovery: %d requests; the check and the write must carry the key", len(got))
	}
}

// TestAuthPlacement: the key goes in the query for GET and in the JSON
// body for PUT/POST, never in a header, and every request names ksecbot.
func TestAuthPlacement(t *testing.T) {
	s := newFixtureServer(t, "040", "060")
	c := newTestClient(t, s.URL, testKey)
	ctx := context.Background()
	if _, err := c.Bug(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, 2, Update{CCAdd: []string{"hardened@gentoo.example"}}); err != nil {
		t.Fatal(err)
	}
	got := s.requests()
	if k := got[0].Query["Bugzilla_api_key"]; len(k) != 1 || k[0] != testKey || got[0].Body != nil {
		t.Errorf("GET: key in query = %v, body = %v", k, got[0].Body)
	}
	for _, r := range got[1:] {
		if r.Body["Bugzilla_api_key"] != testKey || len(r.Query["Bugzilla_api_key"]) != 0 {
			t.Errorf("%s %s: key in body = %v, query = %v", r.Method, r.Path, r.Body["Bugzilla_api_key"], r.Query)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type = %q", r.Method, r.Header.Get("Content-Type"))
		}
	}
	if cc, _ := got[1].Body["cc"].(map[string]any); cc == nil || len(cc["add"].([]any)) != 1 {
		t.Errorf("PUT body = %v, want cc.add", got[1].Body)
	}
	for _, r := range got {
		if r.Header.Get("X-Bugzilla-Api-Key") != "" {
			t.Errorf("%s %s sent the ignored X-BUGZILLA-API-KEY header", r.Method, r.Path)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "ksecbot/") {
			t.Errorf("User-Agent = %q", ua)
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
	}
}

func TestWritesNeedAKey(t *testing.T) {
	s := newFixtureServer(t)
	c := newTestClient(t, s.URL, "")
	ctx := context.Background()
	if c.HasAPIKey() {
		t.Error("HasAPIKey() = true without a key")
	}
	if _, err := c.Update(ctx, 1, Update{CCAdd: []string{"a"}}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("Update without key: %v", err)
	}
	if _, err := c.CheckAPIKey(ctx); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("CheckAPIKey without key: %v", err)
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests sent without a key", n)
	}
}

func TestCheckAPIKey(t *testing.T) {
	whoami := func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":2,"real_name":"NATTkA","name":"nattka@gentoo.org"}`))
	}
	tests := []struct {
		name      string
		fixtures  []string
		handler   http.HandlerFunc
		wantLogin string
		wantErr   error
		wantReqs  int
	}{
		{name: "gentoo whoami", handler: whoami, wantLogin: "nattka@gentoo.org", wantReqs: 1},
		{name: "5.0 fallback ok", fixtures: []string{"095", "032"}, wantReqs: 2},
		{name: "5.0 fallback bad key", fixtures: []string{"095", "081"}, wantErr: ErrBadAPIKey, wantReqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			var count func() int
			if tt.handler != nil {
				var mu sync.Mutex
				n := 0
				hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					n++
					mu.Unlock()
					tt.handler(w, r)
				}))
				t.Cleanup(hs.Close)
				url, count = hs.URL, func() int { mu.Lock(); defer mu.Unlock(); return n }
			} else {
				s := newFixtureServer(t, tt.fixtures...)
				url, count = s.URL, func() int { return len(s.requests()) }
			}
			login, err := newTestClient(t, url, testKey).CheckAPIKey(context.Background())
			if login != tt.wantLogin || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("CheckAPIKey = %q, %v; want %q, %v", login, err, tt.wantLogin, tt.wantErr)
			}
			if count() != tt.wantReqs {
				t.Errorf("%d requests, want %d", count(), tt.wantReqs)
			}
		})
	}
}

func TestETag(t *testing.T) {
	s := newFixtureServer(t, "160", "161")
	s.anyPath = true // recorded on GET /rest/bug/1; the ETag logic is the same for searches
	c := newTestClient(t, s.URL, "")
	ctx := context.Background()
	q := SearchQuery{IDs: []int{1}}
	first, err := c.Search(ctx, q)
	if err != nil || first.ETag != "yk1pCvrzRNKCmlvt8hikHQ" || first.NotModified {
		t.Fatalf("first = %+v, %v", first, err)
	}
	q.IfNoneMatch = first.ETag
	second, err := c.Search(ctx, q)
	if err != nil || !second.NotModified || len(second.Bugs) != 0 {
		t.Fatalf("second = %+v, %v; want 304 NotModified", second, err)
	}
	if got := s.requests()[1].Header.Get("If-None-Match"); got != first.ETag {
		t.Errorf("If-None-Match = %q", got)
	}
}

// flakyServer answers each request with the next status in its script
// (0 = the handler ok) and counts requests.
type flakyServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	n      int
}

func newFlakyServer(t *testing.T, ok http.HandlerFunc, script ...int) *flakyServer {
	s := &flakyServer{script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := 0
		if s.n < len(s.script) {
			st = s.script[s.n]
		}
		s.n++
		s.mu.Unlock()
		if st != 0 {
			w.WriteHeader(st)
			w.Write([]byte("<html>proxy error</html>"))
			return
		}
		ok(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *flakyServer) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.n }

func TestRetries(t *testing.T) {
	okTime := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"db_time":"2026-11-27T04:30:45Z"}`)) }
	okPut := func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"bugs":[{"id":2,"last_change_time":"2026-11-27T04:31:41Z","changes":{}}]}`))
	}
	ctx := context.Background()
	tests := []struct {
		name     string
		ok       http.HandlerFunc
		script   []int
		call     func(*Client) error
		wantErr  error
		wantReqs int
	}{
		{"GET retried on 503", okTime, []int{503, 502}, func(c *Client) error { _, err := c.ServerTime(ctx); return err }, nil, 3},
		{"GET gives up after retries", okTime, []int{500, 500, 500, 500, 500}, func(c *Client) error { _, err := c.ServerTime(ctx); return err }, ErrUnavailable, 4},
		{"GET not retried on 404", okTime, []int{404}, func(c *Client) error { _, err := c.ServerTime(ctx); return err }, nil, 1},
		{"PUT without comment retried", okPut, []int{503}, func(c *Client) error { _, err := c.Update(ctx, 2, Update{CCAdd: []string{"a"}}); return err }, nil, 2},
		{"PUT with comment not retried", okPut, []int{503}, func(c *Client) error {
			_, err := c.Update(ctx, 2, Update{CCAdd: []string{"a"}, Comment: "x"})
			return err
		}, ErrUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFlakyServer(t, tt.ok, tt.script...)
			err := tt.call(newTestClient(t, s.URL, testKey))
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && tt.name != "GET not retried on 404" && err != nil {
				t.Errorf("err = %v", err)
			}
			if s.count() != tt.wantReqs {
				t.Errorf("%d requests, want %d", s.count(), tt.wantReqs)
			}
		})
	}
}

func TestTimeoutIsTemporaryAndRetried(t *testing.T) {
	var mu sync.Mutex
	n := 0
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		<-r.Context().Done() // hang until the client gives up
	}))
	defer hs.Close()
	c, _ := New(Options{BaseURL: hs.URL, APIKey: testKey, Timeout: 50 * time.Millisecond, Retries: 1})
	c.backoff = func(int) time.Duration { return 0 }
	_, err := c.ServerTime(context.Background())
	if !Temporary(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want a temporary deadline error", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	if st := c.Stats(); st.Requests != 2 || st.Errors != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestKeyNeverInErrors(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := hs.URL
	hs.Close() // connection refused from now on
	c := newTestClient(t, url, testKey)
	_, err := c.Search(context.Background(), SearchQuery{Products: []string{"Gentoo Security"}})
	if err == nil || !Temporary(err) {
		t.Fatalf("err = %v, want a temporary network error", err)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks the key: %v", err)
	}
	if !strings.Contains(err.Error(), "/rest/bug") {
		t.Errorf("error does not name the path: %v", err)
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "s3cr3t") {
			t.Errorf("wrapped error leaks the key: %v", e)
		}
	}
}

func TestResponseLimits(t *testing.T) {
	tests := []struct {
		name      string
		h         http.HandlerFunc
		want      error
		temporary bool
	}{
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"db_time":"2026-11-27T04:30:45Z","pad":"` + strings.Repeat("x", 4096) + `"}`))
		}, ErrResponseTooLarge, false},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`{"db_time":`))
		}, errTruncated, true},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}, errTruncated, true},
		{"error in 200", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"error":true,"code":32000,"message":"oops"}`))
		}, ErrInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.h)
			defer hs.Close()
			c, _ := New(Options{BaseURL: hs.URL, MaxResponseBytes: 1024, Retries: -1})
			_, err := c.ServerTime(context.Background())
			if !errors.Is(err, tt.want) || Temporary(err) != tt.temporary {
				t.Errorf("err = %v (temporary %v), want %v (temporary %v)", err, Temporary(err), tt.want, tt.temporary)
			}
		})
	}
}

// roundTrip is an http.RoundTripper from a function.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzResponse feeds arbitrary statuses and bodies to the response
// handling: it must never panic, and an error status must give an error.
func FuzzResponse(f *testing.F) {
	for _, p := range []string{"012", "040", "041", "042", "060", "080", "151"} {
		fx := loadFixture(f, p)
		f.Add(fx.Response.Status, []byte(fx.Response.Body))
	}
	f.Add(200, []byte(`{"bugs":[{"id":1,"last_change_time":"bad"}]}`))
	f.Add(304, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		hc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
		})}
		c, err := New(Options{BaseURL: "http://bugzilla.test", APIKey: testKey, HTTPClient: hc, Retries: -1, MaxResponseBytes: 1 << 16})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		res, err := c.Search(ctx, SearchQuery{})
		if (status < 200 || status > 299) && status != 304 && err == nil {
			t.Errorf("status %d gave no error", status)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("error leaks the key: %v", err)
		}
		_ = res
		c.Update(ctx, 1, Update{CCAdd: []string{"a"}})
		c.ComponentDefaults(ctx, "a", "b")
	})
}
