// SPDX-License-Identifier: GPL-3.0-or-later

// Package bugzillatest is an in-process Bugzilla 5.0 REST server for tests
// and the demo. It models bugs, users, groups, API keys, searches, updates,
// comments and the error bodies and HTTP statuses that a real Bugzilla 5.0.6
// sends; the recorded responses in testdata/fixtures are replayed against it
// in the tests. It does not use the ksecbot client: it behaves like
// Bugzilla, not like our client.
//
// A Server is safe for concurrent use.
package bugzillatest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// TimeFormat is how Bugzilla 5.0 writes times over REST: UTC, seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Version is the Bugzilla version the server claims.
const Version = "5.0.6"

// Option configures a Server.
type Option func(*config)

type config struct {
	whoami      bool
	emailFilter bool
	now         func() time.Time
	empty       bool
	nullDBTime  bool
}

// WithWhoami serves GET /rest/whoami like Gentoo's fork of Bugzilla does;
// upstream 5.0 answers 404, code 32614.
func WithWhoami() Option { return func(c *config) { c.whoami = true } }

// WithEmailFilter turns on webservice_email_filter: logins are cut to
// their local part for anonymous callers, as on bugs.gentoo.org.
func WithEmailFilter() Option { return func(c *config) { c.emailFilter = true } }

// WithNullDBTime makes GET /rest/time answer "db_time": null, as a
// SQLite-backed Bugzilla 5.0 does when its web server is not in UTC
// (recorded fixture 146); web_time and web_time_utc stay correct UTC.
func WithNullDBTime() Option { return func(c *config) { c.nullDBTime = true } }

// WithNow sets the clock (see Server.SetNow).
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithoutWorld starts with no products, users or groups instead of the
// standard world.
func WithoutWorld() Option { return func(c *config) { c.empty = true } }

// Server is an in-process Bugzilla 5.0 REST server.
type Server struct {
	cfg     config
	ts      *httptest.Server
	handler http.Handler
	closing chan struct{}
	once    sync.Once

	mu          sync.Mutex
	now         func() time.Time
	users       []*user
	tokens      map[string]*user
	products    []*product
	bugs        map[int]*Bug
	nextBug     int
	nextComment int
	nextCompID  int
	searches    int64
	requests    []Request
	failNext    int
	failStatus  int
	fault       Fault
	unhang      chan struct{} // closed by ClearFault: hung requests go on
}

// New returns a started server on 127.0.0.1 with the standard world:
// products "Gentoo Security" (components Kernel and Vulnerabilities) and
// "Gentoo Linux" (Current packages), users security@, kernel@, hardened@,
// admin@, alice@, bob@ and ksecbot@gentoo.org with API keys
// "key-<localpart>" (and passwords "password-<localpart>"), and no bugs.
// Close it when done.
func New(opts ...Option) *Server {
	s := NewHandler(opts...)
	s.ts = httptest.NewServer(s.handler)
	return s
}

// NewHandler returns a server that is not started; serve s.Handler()
// yourself.
func NewHandler(opts ...Option) *Server {
	s := &Server{
		closing:     make(chan struct{}),
		unhang:      make(chan struct{}),
		tokens:      map[string]*user{},
		bugs:        map[int]*Bug{},
		nextBug:     1,
		nextComment: 1,
		nextCompID:  1,
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.now = s.cfg.now
	if s.now == nil {
		s.now = time.Now
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	if !s.cfg.empty {
		s.standardWorld()
	}
	return s
}

func (s *Server) standardWorld() {
	for _, u := range []User{
		{Login: "admin@gentoo.org", RealName: "Bugzilla Admin", Groups: []string{"admin", "editbugs", "security"}},
		{Login: "security@gentoo.org", RealName: "Gentoo Security", Groups: []string{"editbugs", "security"}},
		{Login: "kernel@gentoo.org", RealName: "Gentoo Kernel Project", Groups: []string{"editbugs"}},
		{Login: "hardened@gentoo.org", RealName: "Gentoo Hardened", Groups: []string{"editbugs"}},
		{Login: "alice@gentoo.org", RealName: "Alice"},
		{Login: "bob@gentoo.org", RealName: "Bob", Groups: []string{"editbugs"}},
		{Login: "ksecbot@gentoo.org", RealName: "ksecbot", Groups: []string{"editbugs"}},
	} {
		local := strings.SplitN(u.Login, "@", 2)[0]
		u.APIKey = "key-" + local
		u.Password = "password-" + local
		s.AddUser(u)
	}
	s.AddComponent("Gentoo Security", "Kernel", "security@gentoo.org", []string{"kernel@gentoo.org"})
	s.AddComponent("Gentoo Security", "Vulnerabilities", "security@gentoo.org", nil)
	s.AddComponent("Gentoo Linux", "Current packages", "bug-wranglers@gentoo.org", nil)
}

// URL returns the base URL of a started server (REST lives under /rest).
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler returns the HTTP handler (it serves /rest/...).
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases hanging requests and stops a started server.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// SetNow replaces the clock. Times are stored at second precision in UTC.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Server) nowLocked() time.Time { return s.now().UTC().Truncate(time.Second) }
