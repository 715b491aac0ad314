// SPDX-License-Identifier: GPL-3.0-or-later

// Package bugzilla is ksecbot's Bugzilla 5.x REST client and the watcher
// that polls it for changed bugs. It uses only the standard library.
package bugzilla

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ksecbot/ksecbot/internal/backoff"
)

// Defaults for Options.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultRetries          = 3
	DefaultMaxResponseBytes = 32 << 20
)

// Options configure a Client.
type Options struct {
	BaseURL          string        // e.g. https://bugs.gentoo.org; REST lives under BaseURL/rest
	APIKey           string        // optional; without it the client is read-only
	UserAgent        string        // default "ksecbot/<version>"
	HTTPClient       *http.Client  // default: a client without its own timeout (Timeout applies per request)
	Timeout          time.Duration // per attempt; default 30s
	Retries          int           // extra attempts on temporary errors; default 3, negative = none
	MaxResponseBytes int64         // default 32 MiB
	Logger           *slog.Logger  // default slog.Default()
}

// Client talks to the Bugzilla REST API. It is safe for concurrent use.
type Client struct {
	base     string // without trailing slash
	apiKey   string
	ua       string
	hc       *http.Client
	timeout  time.Duration
	retries  int
	maxBytes int64
	log      *slog.Logger
	red      redactor

	// backoff returns the wait before retry number attempt (1-based).
	backoff func(attempt int) time.Duration

	requests atomic.Int64
	errs     atomic.Int64

	// key is the state of the API key: refused by Bugzilla (306, or 410
	// on a request that carried it) or not. While refused, reads go out
	// anonymously and writes fail with ErrKeyRefused.
	keyMu      sync.Mutex
	keyRefused bool
	keySince   time.Time
	keyReason  string
	keyChanged chan struct{} // signalled (never blocking) on each change
}

// ClientStats counts HTTP requests (every attempt) and failed ones.
type ClientStats struct {
	Requests int64
	Errors   int64
}

// New returns a client for o.BaseURL, which must be an absolute http or
// https URL.
func New(o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(o.BaseURL))
	if err != nil {
		return nil, fmt.Errorf("bugzilla: invalid base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bugzilla: base URL %q must be an absolute http(s) URL", o.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("bugzilla: base URL %q must not carry a query, fragment or credentials", u.Redacted())
	}
	base := strings.TrimRight(u.String(), "/")
	base = strings.TrimSuffix(base, "/rest")
	c := &Client{
		base:     base,
		apiKey:   strings.TrimSpace(o.APIKey),
		ua:       o.UserAgent,
		hc:       o.HTTPClient,
		timeout:  o.Timeout,
		retries:  o.Retries,
		maxBytes: o.MaxResponseBytes,
		log:      o.Logger,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent()
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.retries == 0 {
		c.retries = DefaultRetries
	} else if c.retries < 0 {
		c.retries = 0
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxResponseBytes
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "bugzilla")
	c.red = redactor{secret: []string{c.apiKey, url.QueryEscape(c.apiKey)}}
	c.backoff = func(attempt int) time.Duration {
		return backoff.Delay(attempt-1, 500*time.Millisecond, 15*time.Second, nil)
	}
	c.keyChanged = make(chan struct{}, 1)
	return c, nil
}

// DefaultUserAgent is "ksecbot/<module version> (+https://github.com/ksecbot/ksecbot)".
func DefaultUserAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "ksecbot/" + v + " (+https://github.com/ksecbot/ksecbot)"
}

// HasAPIKey reports whether an API key is configured. Writes are possible
// when it is and Bugzilla has not refused it (see KeyRefused).
func (c *Client) HasAPIKey() bool { return c.apiKey != "" }

// KeyState describes the configured API key as Bugzilla last treated it.
type KeyState struct {
	Refused bool      // Bugzilla refused the key: reads are anonymous, writes fail
	Since   time.Time // when it was refused (zero when accepted)
	Reason  string    // Bugzilla's message, key redacted
}

// KeyRefused reports whether Bugzilla refused the API key. The client then
// reads anonymously and refuses writes with ErrKeyRefused until RetryKey
// (or CheckAPIKey) sees the key accepted again. Safe for concurrent use.
func (c *Client) KeyRefused() bool {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	return c.keyRefused
}

// Key returns the key state. Safe for concurrent use.
func (c *Client) Key() KeyState {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	return KeyState{Refused: c.keyRefused, Since: c.keySince, Reason: c.keyReason}
}

// KeyChanges is signalled after the key state changes (refused or accepted
// again). One pending signal is kept; read Key for the state.
func (c *Client) KeyChanges() <-chan struct{} { return c.keyChanged }

// setKeyRefused records the key state and signals a change.
func (c *Client) setKeyRefused(refused bool, reason string) {
	c.keyMu.Lock()
	if c.keyRefused == refused {
		c.keyMu.Unlock()
		return
	}
	c.keyRefused, c.keyReason = refused, reason
	c.keySince = time.Time{}
	if refused {
		c.keySince = time.Now()
	}
	c.keyMu.Unlock()
	if refused {
		c.log.Error("Bugzilla refused the API key: reading anonymously (read-only) and retrying the key periodically; fix bugzilla.api_key_file", "reason", reason)
	} else {
		c.log.Info("Bugzilla accepts the API key again: writes are back on")
	}
	select {
	case c.keyChanged <- struct{}{}:
	default:
	}
}

// keyRefusal reports whether err is Bugzilla refusing credentials that
// were sent: 306 (invalid or revoked key) or 410 (login required although
// the key was sent).
func keyRefusal(err error) bool {
	return errors.Is(err, ErrBadAPIKey) || errors.Is(err, ErrLoginRequired)
}

// Stats returns the request counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{Requests: c.requests.Load(), Errors: c.errs.Load()}
}

// request describes one REST call.
type request struct {
	method      string
	path        string // below /rest, starting with "/"
	query       url.Values
	body        map[string]any // for PUT/POST
	idempotent  bool           // safe to retry after an unknown outcome
	needKey     bool           // refuse without an API key
	probeKey    bool           // send the key even while it is refused (key checks)
	ifNoneMatch string
}

// response is what do reports besides the decoded body.
type response struct {
	status      int
	etag        string
	notModified bool
	date        time.Time // the server's Date header (zero if absent)
	anonymous   bool      // sent without the API key (none, or refused)
}

// do runs r with retries and decodes a 2xx body into out. A key that
// Bugzilla refuses switches the client to anonymous reads: the read is
// repeated at once without the key, a write fails with ErrKeyRefused.
func (c *Client) do(ctx context.Context, r request, out any) (response, error) {
	if r.needKey && c.apiKey == "" {
		return response{}, ErrNoAPIKey
	}
	if r.needKey && !r.probeKey && c.KeyRefused() {
		return response{}, c.wrap(r, ErrKeyRefused)
	}
	for attempt := 1; ; attempt++ {
		withKey := c.apiKey != "" && (r.probeKey || !c.KeyRefused())
		resp, err := c.once(ctx, r, out, withKey)
		resp.anonymous = !withKey
		if err == nil {
			return resp, nil
		}
		c.errs.Add(1)
		if withKey && keyRefusal(err) {
			if r.probeKey {
				return resp, err
			}
			var be *Error
			reason := err.Error()
			if errors.As(err, &be) {
				reason = be.Message
			}
			c.setKeyRefused(true, reason)
			if r.needKey {
				return resp, fmt.Errorf("%w: %w", ErrKeyRefused, err)
			}
			attempt-- // the anonymous read is not a retry
			continue
		}
		retry := attempt <= c.retries && ctx.Err() == nil && Temporary(err) && (r.idempotent || notSent(err))
		if !retry {
			return resp, err
		}
		wait := c.backoff(attempt)
		c.log.Debug("retrying bugzilla request", "method", r.method, "path", r.path, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("bugzilla: %s %s: %w (after %v)", r.method, r.path, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// once runs one attempt.
func (c *Client) once(ctx context.Context, r request, out any, withKey bool) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	var body io.Reader
	if r.method == http.MethodGet {
		if withKey {
			q.Set("Bugzilla_api_key", c.apiKey)
		}
	} else {
		m := make(map[string]any, len(r.body)+1)
		for k, v := range r.body {
			m[k] = v
		}
		if withKey {
			m["Bugzilla_api_key"] = c.apiKey
		}
		b, err := json.Marshal(m)
		if err != nil {
			return response{}, fmt.Errorf("bugzilla: failed to encode request body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + "/rest" + r.path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return response{}, c.wrap(r, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.ifNoneMatch != "" {
		req.Header.Set("If-None-Match", r.ifNoneMatch)
	}
	c.requests.Add(1)
	hr, err := c.hc.Do(req)
	if err != nil {
		return response{}, c.wrap(r, err)
	}
	defer hr.Body.Close()
	resp := response{status: hr.StatusCode, etag: hr.Header.Get("ETag")}
	if d, err := http.ParseTime(hr.Header.Get("Date")); err == nil {
		resp.date = d.UTC()
	}
	if hr.StatusCode == http.StatusNotModified {
		resp.notModified = true
		return resp, nil
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, c.maxBytes+1))
	if err != nil {
		return resp, c.wrap(r, fmt.Errorf("%w: %w", errTruncated, err))
	}
	if int64(len(data)) > c.maxBytes {
		return resp, c.wrap(r, fmt.Errorf("%w (limit %d bytes)", ErrResponseTooLarge, c.maxBytes))
	}
	var env struct {
		Error   bool   `json:"error"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	envErr := json.Unmarshal(data, &env)
	if hr.StatusCode < 200 || hr.StatusCode > 299 || (envErr == nil && env.Error) {
		be := &Error{HTTPStatus: hr.StatusCode, Code: env.Code, Message: cleanMessage(env.Message)}
		if envErr != nil || be.Message == "" {
			be.Message = strings.ToLower(http.StatusText(hr.StatusCode))
		}
		be.Message = c.red.String(be.Message)
		return resp, c.wrap(r, be)
	}
	if envErr != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return resp, c.wrap(r, errTruncated)
		}
		return resp, c.wrap(r, fmt.Errorf("%w: failed to decode response: %w", ErrGarbage, envErr))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, c.wrap(r, fmt.Errorf("%w: failed to decode response: %w", ErrGarbage, err))
		}
	}
	return resp, nil
}

// wrap adds the method and path (never the query, which may hold the key)
// and scrubs the key from any text.
func (c *Client) wrap(r request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// net/http puts the full URL, query included, in *url.Error.
		err = &url.Error{Op: ue.Op, URL: c.red.String(ue.URL), Err: ue.Err}
	}
	text := strings.TrimPrefix(err.Error(), "bugzilla: ")
	msg := c.red.String(fmt.Sprintf("bugzilla: %s /rest%s: %s", r.method, r.path, text))
	return &redactedError{msg: msg, err: err}
}

// cleanMessage turns Bugzilla's multi-line plain-text message into one line.
func cleanMessage(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
