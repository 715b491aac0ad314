// SPDX-License-Identifier: GPL-3.0-or-later

package bugzillatest

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const docURL = "https://bugzilla.readthedocs.org/en/5.0/api/"

// apiError is a Bugzilla WebService error: HTTP status, code, message.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("bugzilla error %d: %s", e.code, e.msg) }

func errf(status, code int, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

var (
	errLoginRequired = errf(http.StatusUnauthorized, 410, "You must log in before using this part of Bugzilla.")
	errBadAPIKey     = errf(http.StatusBadRequest, 306, "The API key you specified is invalid. Please check that you typed it correctly.")
	errBadLogin      = errf(http.StatusUnauthorized, 300, "The login or password you entered is not valid.")
	errBadToken      = errf(http.StatusBadRequest, 32000, "The token you specified is invalid.")
)

func errNoUser(login string) *apiError {
	return errf(http.StatusNotFound, 51, "There is no user named '%s'. Either you mis-typed the name or that user has not yet registered for a Bugzilla account.", login)
}

func errNotFoundResource(method, path string) *apiError {
	return errf(http.StatusNotFound, 32614, "A REST API resource was not found for '%s %s'.", method, path)
}

// call is one request being served, with its caller.
type call struct {
	r      *http.Request
	q      url.Values
	body   map[string]any
	caller *user // nil: anonymous
}

func (c *call) anonymous() bool { return c.caller == nil }

// result is what a handler returns: a status and a JSON value.
type result struct {
	status int
	v      any
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body := recordedBody(r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: cloneValues(r.URL.Query()), Body: body})
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/rest/bug" {
		s.searches++
	}
	failing := 0
	if s.failNext > 0 {
		s.failNext--
		failing = s.failStatus
	}
	fault, unhang := s.fault, s.unhang
	// The web server's clock, like the one Bugzilla stamps bugs with:
	// clients may bound their cursors by it.
	w.Header().Set("Date", s.nowLocked().Format(http.TimeFormat))
	s.mu.Unlock()

	if failing != 0 {
		http.Error(w, http.StatusText(failing), failing)
		return
	}
	if fault.Mode != FaultNone && strings.HasPrefix(r.URL.Path, fault.Path) && (fault.Query == "" || r.URL.Query().Has(fault.Query)) {
		switch fault.Mode {
		case Fault500:
			st := fault.Status
			if st == 0 {
				st = http.StatusInternalServerError
			}
			http.Error(w, http.StatusText(st), st)
			return
		case FaultHang:
			select {
			case <-r.Context().Done():
				return
			case <-s.closing:
				return
			case <-unhang:
				// ClearFault: Bugzilla answers at last
			}
		case FaultTruncate:
			rec := &bufWriter{header: http.Header{}}
			s.serve(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.buf.Bytes()[:rec.buf.Len()/2])
			return
		}
	}
	s.serve(w, r)
}

// recordedBody reads a PUT or POST body for the request record (and puts
// it back for the handler): its JSON without the credentials.
func recordedBody(r *http.Request) map[string]any {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var m map[string]any
	if err != nil || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	for _, k := range []string{"Bugzilla_api_key", "api_key", "Bugzilla_password", "Bugzilla_token"} {
		delete(m, k)
	}
	return m
}

// bufWriter buffers a response for FaultTruncate.
type bufWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufWriter) Header() http.Header { return b.header }
func (b *bufWriter) WriteHeader(st int) {
	if b.status == 0 {
		b.status = st
	}
}
func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	res, aerr := s.handle(r)
	if aerr != nil {
		writeJSON(w, r, aerr.status, map[string]any{
			"error": true, "code": aerr.code, "message": aerr.msg, "documentation": docURL,
		})
		return
	}
	writeJSON(w, r, res.status, res.v)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	if r.Method == http.MethodGet && status == http.StatusOK {
		sum := md5.Sum(body)
		etag := base64.RawStdEncoding.EncodeToString(sum[:])
		h.Set("Etag", etag)
		if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Trim(inm, `"`) == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) handle(r *http.Request) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()

	path, ok := strings.CutPrefix(r.URL.Path, "/rest")
	if !ok {
		return result{}, errNotFoundResource(r.Method, r.URL.Path)
	}
	path = strings.TrimSuffix(path, "/")
	c := &call{r: r, q: r.URL.Query()}
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return result{}, errf(http.StatusBadRequest, 32000, "could not read the request body: %v", err)
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, &c.body); err != nil {
				return result{}, errf(http.StatusBadRequest, 32000,
					"Could not parse the 'params' argument as valid JSON. Error: %v Value: %s", err, raw)
			}
		}
	}
	if c.body == nil {
		c.body = map[string]any{}
	}
	var aerr *apiError
	c.caller, aerr = s.authenticate(c)
	if aerr != nil {
		return result{}, aerr
	}

	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	m := r.Method
	switch {
	case m == "GET" && path == "/version":
		return ok200(map[string]any{"version": Version})
	case m == "GET" && path == "/extensions":
		return ok200(map[string]any{"extensions": map[string]any{}})
	case m == "GET" && path == "/time":
		now := s.nowLocked().Format(TimeFormat)
		var dbTime any = now
		if s.cfg.nullDBTime {
			dbTime = nil // SQLite's now() string is not parsed in a non-UTC zone
		}
		return ok200(map[string]any{
			"db_time": dbTime, "web_time": now, "web_time_utc": now,
			"tz_name": "UTC", "tz_short_name": "UTC", "tz_offset": "+0000",
		})
	case m == "GET" && path == "/timezone":
		return ok200(map[string]any{"timezone": "+0000"})
	case m == "GET" && path == "/parameters":
		return ok200(map[string]any{"parameters": map[string]any{"maintainer": "admin@gentoo.org", "requirelogin": "0"}})
	case m == "GET" && path == "/field/bug/resolution/values":
		return ok200(map[string]any{"values": append([]string{""}, resolutions...)})
	case m == "GET" && path == "/bug":
		return s.search(c)
	case m == "POST" && path == "/bug":
		return s.createBug(c)
	case len(parts) == 2 && parts[0] == "bug" && m == "GET":
		return s.getBug(c, parts[1])
	case len(parts) == 2 && parts[0] == "bug" && m == "PUT":
		return s.updateBug(c, parts[1])
	case len(parts) == 3 && parts[0] == "bug" && parts[2] == "comment" && m == "GET":
		return s.getComments(c, parts[1])
	case len(parts) == 3 && parts[0] == "bug" && parts[2] == "comment" && m == "POST":
		return s.addComment(c, parts[1])
	case len(parts) == 3 && parts[0] == "bug" && parts[2] == "history" && m == "GET":
		return s.getHistory(c, parts[1])
	case m == "GET" && path == "/user":
		return s.getUsers(c, c.q["names"], c.q["ids"], c.q["match"])
	case m == "GET" && len(parts) == 2 && parts[0] == "user":
		if _, err := strconv.Atoi(parts[1]); err == nil {
			return s.getUsers(c, nil, []string{parts[1]}, nil)
		}
		return s.getUsers(c, []string{parts[1]}, nil, nil)
	case m == "GET" && path == "/valid_login":
		login := c.q.Get("login")
		return ok200(map[string]any{"result": c.caller != nil && login != "" && c.caller.Login == login})
	case m == "GET" && path == "/whoami" && s.cfg.whoami:
		if c.anonymous() {
			return result{}, errLoginRequired
		}
		return ok200(map[string]any{"id": c.caller.id, "name": c.caller.Login, "real_name": c.caller.RealName})
	case m == "GET" && path == "/login":
		return s.login(c)
	case m == "GET" && path == "/logout":
		delete(s.tokens, c.q.Get("Bugzilla_token"))
		return ok200(map[string]any{"result": nil})
	case m == "GET" && path == "/product":
		return s.getProducts(c)
	case m == "GET" && (path == "/product_accessible" || path == "/product_selectable" || path == "/product_enterable"):
		ids := make([]int, 0, len(s.products))
		for i := len(s.products) - 1; i >= 0; i-- {
			ids = append(ids, s.products[i].id)
		}
		return ok200(map[string]any{"ids": ids})
	}
	return result{}, errNotFoundResource(m, path)
}

func ok200(v any) (result, *apiError) { return result{status: http.StatusOK, v: v}, nil }

// authenticate finds the caller like Bugzilla 5.0: Bugzilla_login and
// Bugzilla_password win, then Bugzilla_api_key or api_key (query, or
// Bugzilla_api_key in a JSON body), then Bugzilla_token. The
// X-BUGZILLA-API-KEY header is ignored. Bad credentials are errors, not
// anonymous access.
func (s *Server) authenticate(c *call) (*user, *apiError) {
	if login := c.q.Get("Bugzilla_login"); login != "" {
		u := s.userByLogin(login)
		if u == nil || u.Password == "" || u.Password != c.q.Get("Bugzilla_password") {
			return nil, errBadLogin
		}
		return u, nil
	}
	key := c.q.Get("Bugzilla_api_key")
	if key == "" {
		key = c.q.Get("api_key")
	}
	if key == "" {
		if v, ok := c.body["Bugzilla_api_key"].(string); ok {
			key = v
		} else if v, ok := c.body["api_key"].(string); ok {
			key = v
		}
	}
	if key != "" {
		u := s.userByKey(key)
		if u == nil {
			return nil, errBadAPIKey
		}
		return u, nil
	}
	if tok := c.q.Get("Bugzilla_token"); tok != "" {
		u := s.tokens[tok]
		if u == nil {
			return nil, errBadToken
		}
		return u, nil
	}
	return nil, nil
}

func (s *Server) login(c *call) (result, *apiError) {
	u := s.userByLogin(c.q.Get("login"))
	if u == nil || u.Password == "" || u.Password != c.q.Get("password") {
		return result{}, errBadLogin
	}
	tok := fmt.Sprintf("%d-%s", u.id, randomString(10))
	s.tokens[tok] = u
	return ok200(map[string]any{"id": u.id, "token": tok})
}
