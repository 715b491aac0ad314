// SPDX-License-Identifier: GPL-3.0-or-later

// Injected failures (FailNext, SetFault) and the record of the requests
// the server received.

package bugzillatest

import (
	"net/url"
	"slices"
)

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Body is the JSON body of a PUT or POST, without the credentials
	// (Bugzilla_api_key, api_key, Bugzilla_password, Bugzilla_token).
	Body map[string]any
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
	Query  string // if set, only requests whose query has this parameter fail
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
		out[i] = Request{Method: r.Method, Path: r.Path, Query: cloneValues(r.Query), Body: r.Body}
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
