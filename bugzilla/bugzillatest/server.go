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
	"net/url"
	"slices"
	"sort"
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

// User is a Bugzilla account. Groups may include "editbugs" (may edit
// any bug), "security" (may see bugs restricted to that group) and "admin".
type User struct {
	Login    string
	RealName string
	APIKey   string
	Password string // for /rest/login and Bugzilla_login; optional
	Groups   []string
}

// Comment is a bug comment; the description is the comment with Count 0.
type Comment struct {
	ID        int
	Count     int
	Creator   string
	Text      string
	IsPrivate bool
	Time      time.Time
}

// Change is one field change of a history entry or update.
type Change struct {
	Field   string // API name: "cc", "status", "whiteboard", ...
	Removed string
	Added   string
}

// HistoryEntry is one activity entry: all changes of one update.
type HistoryEntry struct {
	Who     string
	When    time.Time
	Changes []Change
}

// Bug is the server's model of a bug.
type Bug struct {
	ID             int
	Alias          []string
	Product        string
	Component      string
	Summary        string
	Status         string
	Resolution     string
	Severity       string
	Priority       string
	Whiteboard     string
	Creator        string
	AssignedTo     string
	URL            string
	Version        string
	OpSys          string
	Platform       string
	Keywords       []string
	Groups         []string
	CC             []string
	SeeAlso        []string
	DependsOn      []int
	Blocks         []int
	CreationTime   time.Time
	LastChangeTime time.Time
	Comments       []Comment
	History        []HistoryEntry
}

func (b *Bug) clone() Bug {
	c := *b
	c.Alias = slices.Clone(b.Alias)
	c.Keywords = slices.Clone(b.Keywords)
	c.Groups = slices.Clone(b.Groups)
	c.CC = slices.Clone(b.CC)
	c.SeeAlso = slices.Clone(b.SeeAlso)
	c.DependsOn = slices.Clone(b.DependsOn)
	c.Blocks = slices.Clone(b.Blocks)
	c.Comments = slices.Clone(b.Comments)
	c.History = make([]HistoryEntry, len(b.History))
	for i, h := range b.History {
		c.History[i] = HistoryEntry{Who: h.Who, When: h.When, Changes: slices.Clone(h.Changes)}
	}
	return c
}

// NewBug describes a bug for CreateBug. Empty fields take defaults:
// product "Gentoo Security", component "Kernel", status CONFIRMED, severity
// "normal", priority "Normal", assignee and CC from the component, creator
// the component's default assignee, Created the server's now.
type NewBug struct {
	Product, Component, Summary, Severity, Priority, Whiteboard, Creator, AssignedTo, Status string
	Alias, Keywords, Groups, CC                                                              []string
	SeeAlso                                                                                  []string // URLs
	Created                                                                                  time.Time
	Description                                                                              string // comment 0; default: the summary
	URL                                                                                      string
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
}

// FaultMode is a kind of injected failure.
type FaultMode int

const (
	// FaultNone serves normally.
	FaultNone FaultMode = iota
	// Fault500 answers every request with HTTP 500 (or Fault.Status).
	Fault500
	// FaultHang blocks every request until its context is done or the
	// server is closed (no answer), or until ClearFault (then it is
	// answered normally: a slow Bugzilla).
	FaultHang
	// FaultTruncate serves the real response with the body cut in half.
	FaultTruncate
)

// Fault is an injected failure that lasts until ClearFault.
type Fault struct {
	Mode   FaultMode
	Status int    // for Fault500; default 500
	Path   string // if set, only requests whose path starts with it fail
}

type user struct {
	User
	id int
}

func (u *user) in(group string) bool { return slices.Contains(u.Groups, group) }

type component struct {
	id              int
	name            string
	description     string
	defaultAssignee string
	defaultCC       []string
}

type product struct {
	id          int
	name        string
	description string
	components  []*component
}

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

// AddUser adds an account (or replaces the one with the same login).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Groups = slices.Clone(u.Groups)
	for _, old := range s.users {
		if strings.EqualFold(old.Login, u.Login) {
			old.User = u
			return
		}
	}
	s.users = append(s.users, &user{User: u, id: len(s.users) + 1})
}

// SetAPIKey gives a user a new API key ("" revokes it): requests with the
// old key then fail with code 306, as after a revocation in Bugzilla. It
// reports false if there is no such user.
func (s *Server) SetAPIKey(login, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByLogin(login)
	if u == nil {
		return false
	}
	u.APIKey = key
	return true
}

// AddComponent adds a component (and its product if new), or replaces the
// defaults of an existing one.
func (s *Server) AddComponent(productName, componentName, defaultAssignee string, defaultCC []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addComponentLocked(productName, componentName, defaultAssignee, defaultCC)
}

func (s *Server) addComponentLocked(productName, componentName, defaultAssignee string, defaultCC []string) {
	p := s.productLocked(productName)
	if p == nil {
		p = &product{id: len(s.products) + 1, name: productName, description: productName + " bugs"}
		s.products = append(s.products, p)
	}
	for _, c := range p.components {
		if c.name == componentName {
			c.defaultAssignee, c.defaultCC = defaultAssignee, slices.Clone(defaultCC)
			return
		}
	}
	p.components = append(p.components, &component{
		id: s.nextCompID, name: componentName, description: componentName,
		defaultAssignee: defaultAssignee, defaultCC: slices.Clone(defaultCC),
	})
	s.nextCompID++
}

func (s *Server) productLocked(name string) *product {
	for _, p := range s.products {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (s *Server) componentLocked(prod, comp string) *component {
	p := s.productLocked(prod)
	if p == nil {
		return nil
	}
	for _, c := range p.components {
		if c.name == comp {
			return c
		}
	}
	return nil
}

func (s *Server) userByLogin(login string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.Login, login) {
			return u
		}
	}
	return nil
}

func (s *Server) userByID(id int) *user {
	if id >= 1 && id <= len(s.users) {
		return s.users[id-1]
	}
	return nil
}

func (s *Server) userByKey(key string) *user {
	for _, u := range s.users {
		if u.APIKey != "" && u.APIKey == key {
			return u
		}
	}
	return nil
}

// CreateBug files a bug directly (as if through the web UI) and returns
// its id. Unknown product/component are created on the fly.
func (s *Server) CreateBug(nb NewBug) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(nb)
}

func (s *Server) createLocked(nb NewBug) int {
	if nb.Product == "" {
		nb.Product = "Gentoo Security"
	}
	if nb.Component == "" {
		nb.Component = "Kernel"
	}
	c := s.componentLocked(nb.Product, nb.Component)
	if c == nil {
		s.addComponentLocked(nb.Product, nb.Component, "bug-wranglers@gentoo.org", nil)
		c = s.componentLocked(nb.Product, nb.Component)
	}
	created := nb.Created.UTC().Truncate(time.Second)
	if nb.Created.IsZero() {
		created = s.nowLocked()
	}
	b := &Bug{
		ID: s.nextBug, Alias: slices.Clone(nb.Alias), Product: nb.Product, Component: nb.Component,
		Summary: nb.Summary, Status: nb.Status, Severity: nb.Severity, Priority: nb.Priority,
		Whiteboard: nb.Whiteboard, Creator: nb.Creator, AssignedTo: nb.AssignedTo, URL: nb.URL,
		Version: "unspecified", OpSys: "Linux", Platform: "All",
		Keywords: slices.Clone(nb.Keywords), Groups: slices.Clone(nb.Groups), SeeAlso: slices.Clone(nb.SeeAlso),
		CreationTime: created, LastChangeTime: created,
	}
	s.nextBug++
	def(&b.Status, "CONFIRMED")
	def(&b.Severity, "normal")
	def(&b.Priority, "Normal")
	def(&b.AssignedTo, c.defaultAssignee)
	def(&b.Creator, c.defaultAssignee)
	if isClosed(b.Status) {
		b.Resolution = "FIXED"
	}
	b.CC = mergeCC(c.defaultCC, nb.CC)
	text := nb.Description
	def(&text, nb.Summary)
	b.Comments = []Comment{{ID: s.nextComment, Count: 0, Creator: b.Creator, Text: text, Time: created}}
	s.nextComment++
	s.bugs[b.ID] = b
	return b.ID
}

func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func mergeCC(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, v := range l {
			if !containsFold(out, v) {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// UpdateBug applies a "human" edit (as if made in the web UI by the bug's
// assignee): f changes the bug, then last_change_time is bumped to now and
// the changed fields are recorded in the history. It reports false if the
// bug does not exist.
func (s *Server) UpdateBug(id int, f func(b *Bug)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bugs[id]
	if !ok {
		return false
	}
	before := b.clone()
	f(b)
	b.ID = id
	sort.Strings(b.CC)
	now := s.nowLocked()
	b.LastChangeTime = now
	if ch := diffBugs(&before, b); len(ch) > 0 {
		b.History = append(b.History, HistoryEntry{Who: b.AssignedTo, When: now, Changes: ch})
	}
	return true
}

func diffBugs(a, b *Bug) []Change {
	var out []Change
	str := func(field, x, y string) {
		if x != y {
			out = append(out, Change{Field: field, Removed: x, Added: y})
		}
	}
	str("summary", a.Summary, b.Summary)
	str("status", a.Status, b.Status)
	str("resolution", a.Resolution, b.Resolution)
	str("severity", a.Severity, b.Severity)
	str("priority", a.Priority, b.Priority)
	str("whiteboard", a.Whiteboard, b.Whiteboard)
	str("assigned_to", a.AssignedTo, b.AssignedTo)
	list := func(field string, x, y []string) {
		added, removed := listDiff(x, y)
		if len(added) > 0 || len(removed) > 0 {
			out = append(out, Change{Field: field, Removed: strings.Join(removed, ", "), Added: strings.Join(added, ", ")})
		}
	}
	list("cc", a.CC, b.CC)
	list("keywords", a.Keywords, b.Keywords)
	list("alias", a.Alias, b.Alias)
	list("groups", a.Groups, b.Groups)
	return out
}

// listDiff returns the values of y not in x and the values of x not in y.
func listDiff(x, y []string) (added, removed []string) {
	for _, v := range y {
		if !containsFold(x, v) {
			added = append(added, v)
		}
	}
	for _, v := range x {
		if !containsFold(y, v) {
			removed = append(removed, v)
		}
	}
	return added, removed
}

// Bug returns a copy of bug id, for assertions.
func (s *Server) Bug(id int) (Bug, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bugs[id]
	if !ok {
		return Bug{}, false
	}
	return b.clone(), true
}

// BugIDs returns the ids of all bugs, ascending.
func (s *Server) BugIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.bugs))
	for id := range s.bugs {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// SearchCount returns the number of GET /rest/bug (search) requests seen.
func (s *Server) SearchCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.searches
}

// Requests returns a copy of all requests seen, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = Request{Method: r.Method, Path: r.Path, Query: cloneValues(r.Query)}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// FailNext makes the next n requests fail with the given HTTP status
// (with a plain-text body, as a proxy in front of Bugzilla would send).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failStatus = n, status
}

// SetFault injects a lasting failure until ClearFault.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// ClearFault ends SetFault and FailNext.
func (s *Server) ClearFault() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = Fault{}
	s.failNext = 0
	close(s.unhang)
	s.unhang = make(chan struct{})
}
