// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// timeFormat is how Bugzilla wants timestamps: UTC with a Z.
const timeFormat = "2006-01-02T15:04:05Z"

// FormatTime renders t as Bugzilla expects it in searches (UTC, "Z",
// second precision).
func FormatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// idBatch is the most ids sent in one search (request-length limits).
const idBatch = 200

// CheckAPIKey verifies the API key (at start-up, and to retry a refused
// key). It tries GET /rest/whoami; where that does not exist (stock 5.0:
// 404, code 32614) it falls back to a cheap authenticated search, and then
// login is "". It always sends the key, even while it is refused. A key
// Bugzilla refuses gives an error matching ErrBadAPIKey (or
// ErrLoginRequired) and switches the client to anonymous read-only mode;
// an accepted key switches it back. No key gives ErrNoAPIKey.
func (c *Client) CheckAPIKey(ctx context.Context) (login string, err error) {
	if c.apiKey == "" {
		return "", ErrNoAPIKey
	}
	defer func() {
		switch {
		case err == nil:
			c.setKeyRefused(false, "")
		case keyRefusal(err):
			var be *Error
			reason := err.Error()
			if errors.As(err, &be) {
				reason = be.Message
			}
			c.setKeyRefused(true, reason)
		}
	}()
	var who struct {
		Name string `json:"name"`
	}
	_, err = c.do(ctx, request{method: http.MethodGet, path: "/whoami", idempotent: true, probeKey: true}, &who)
	if err == nil {
		return who.Name, nil
	}
	var be *Error
	if !errors.As(err, &be) || (be.HTTPStatus != http.StatusNotFound && be.Code != CodeUnknownResource) {
		return "", err
	}
	// Every call that carries Bugzilla_api_key validates it (306 if bad).
	q := url.Values{"id": {"1"}, "include_fields": {"id"}}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/bug", query: q, idempotent: true, probeKey: true}, nil); err != nil {
		return "", err
	}
	return "", nil
}

// ServerTime returns Bugzilla's current time in UTC (GET /rest/time):
// db_time, or web_time_utc when db_time is null (SQLite-backed Bugzilla
// whose web server is not in UTC answers "db_time": null).
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	var out struct {
		DBTime     *time.Time `json:"db_time"`
		WebTimeUTC *time.Time `json:"web_time_utc"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/time", idempotent: true}, &out); err != nil {
		return time.Time{}, err
	}
	switch {
	case out.DBTime != nil && !out.DBTime.IsZero():
		return out.DBTime.UTC(), nil
	case out.WebTimeUTC != nil && !out.WebTimeUTC.IsZero():
		return out.WebTimeUTC.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("bugzilla: /rest/time has neither db_time nor web_time_utc: %w", ErrInvalid)
}

// SearchQuery is a GET /rest/bug search. Empty fields add no criterion.
type SearchQuery struct {
	Products, Components []string  // repeated parameters: any of them
	ChangedSince         time.Time // last_change_time >= (one-second precision)
	CreatedSince         time.Time // creation_time >=
	OpenOnly             bool      // resolution=--- (open bugs)
	IDs                  []int     // id=1,2,3
	Limit, Offset        int       // Offset needs Limit
	Order                string    // e.g. "changeddate,bug_id" (API field names are ignored by Bugzilla)
	Fields               []string  // include_fields; default BugFields
	IfNoneMatch          string    // ETag of an earlier identical search
}

// SearchResult is one page of search results. NotModified is true (and
// Bugs empty) when IfNoneMatch matched.
type SearchResult struct {
	Bugs        []Bug
	ETag        string
	NotModified bool
	// Date is the server's time when it answered (its Date header; zero
	// when it sent none).
	Date time.Time
	// Anonymous is true when the search went without the API key (none
	// configured, or Bugzilla refuses it): bugs in groups were not seen.
	Anonymous bool
	// Sent is when the search was first sent (SaveOptions.ReadAt).
	Sent time.Time
}

func (q SearchQuery) values() (url.Values, error) {
	v := url.Values{}
	for _, p := range q.Products {
		v.Add("product", p)
	}
	for _, c := range q.Components {
		v.Add("component", c)
	}
	if !q.ChangedSince.IsZero() {
		v.Set("last_change_time", FormatTime(q.ChangedSince))
	}
	if !q.CreatedSince.IsZero() {
		v.Set("creation_time", FormatTime(q.CreatedSince))
	}
	if q.OpenOnly {
		v.Set("resolution", "---")
	}
	if len(q.IDs) > 0 {
		ids := make([]string, len(q.IDs))
		for i, id := range q.IDs {
			ids[i] = strconv.Itoa(id)
		}
		v.Set("id", strings.Join(ids, ","))
	}
	if q.Limit < 0 || q.Offset < 0 || (q.Offset > 0 && q.Limit == 0) {
		return nil, fmt.Errorf("bugzilla: offset needs a positive limit: %w", ErrInvalid)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Order != "" {
		v.Set("order", q.Order)
	}
	fields := q.Fields
	if len(fields) == 0 {
		fields = BugFields
	}
	v.Set("include_fields", strings.Join(fields, ","))
	return v, nil
}

// Search runs one search. Bugs the caller may not see are silently absent.
func (c *Client) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	v, err := q.values()
	if err != nil {
		return SearchResult{}, err
	}
	var out struct {
		Bugs []Bug `json:"bugs"`
	}
	sent := time.Now()
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/bug", query: v, idempotent: true, ifNoneMatch: q.IfNoneMatch}, &out)
	if err != nil {
		return SearchResult{}, err
	}
	return SearchResult{Bugs: normalize(out.Bugs), ETag: resp.etag, NotModified: resp.notModified, Date: resp.date, Anonymous: resp.anonymous, Sent: sent}, nil
}

// normalize puts times in UTC.
func normalize(bugs []Bug) []Bug {
	for i := range bugs {
		bugs[i].CreationTime = bugs[i].CreationTime.UTC()
		bugs[i].LastChangeTime = bugs[i].LastChangeTime.UTC()
	}
	return bugs
}

// Bug reads one bug (GET /rest/bug/ID). A missing bug matches ErrNotFound,
// one the caller may not see ErrRestricted.
func (c *Client) Bug(ctx context.Context, id int) (*Bug, error) {
	if id <= 0 {
		return nil, fmt.Errorf("bugzilla: bug id %d: %w", id, ErrInvalid)
	}
	var out struct {
		Bugs []Bug `json:"bugs"`
	}
	q := url.Values{"include_fields": {strings.Join(BugFields, ",")}}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/bug/" + strconv.Itoa(id), query: q, idempotent: true}, &out); err != nil {
		return nil, err
	}
	for i := range normalize(out.Bugs) {
		if out.Bugs[i].ID == id {
			return &out.Bugs[i], nil
		}
	}
	return nil, fmt.Errorf("bugzilla: bug %d not in response: %w", id, ErrNotFound)
}

// Bugs reads the named bugs with searches by id (in batches). Bugs that do
// not exist or that the caller may not see are silently absent.
func (c *Client) Bugs(ctx context.Context, ids []int) ([]Bug, error) {
	r, err := c.ReadIDs(ctx, ids, nil)
	return r.Bugs, err
}

// IDRead is what a read by id found.
type IDRead struct {
	Bugs []Bug
	// Anonymous: at least one batch went without the API key, so a bug
	// missing from Bugs may be one only the key may see.
	Anonymous bool
	Date      time.Time // the server's time at the first answer
}

// ReadIDs reads the named bugs with searches by id list, one per batch of
// up to 200 ids, asking for fields (nil: BugFields). Bugs that do not exist
// or that the caller may not see are silently absent, as Bugzilla leaves
// them out of searches.
func (c *Client) ReadIDs(ctx context.Context, ids []int, fields []string) (IDRead, error) {
	var r IDRead
	for start := 0; start < len(ids); start += idBatch {
		batch := ids[start:min(start+idBatch, len(ids))]
		res, err := c.Search(ctx, SearchQuery{IDs: batch, Order: "bug_id", Fields: fields})
		if err != nil {
			return r, err
		}
		r.Bugs = append(r.Bugs, res.Bugs...)
		r.Anonymous = r.Anonymous || res.Anonymous
		if r.Date.IsZero() {
			r.Date = res.Date
		}
	}
	return r, nil
}

// ComponentDefaults returns a component's default assignee and default CC
// (GET /rest/product?names=; stock 5.0 does not report default CCs, so cc
// may be empty). An unknown product or component matches ErrNotFound.
func (c *Client) ComponentDefaults(ctx context.Context, product, component string) (assignee string, cc []string, err error) {
	var out struct {
		Products []struct {
			Name       string `json:"name"`
			Components []struct {
				Name              string   `json:"name"`
				DefaultAssignedTo string   `json:"default_assigned_to"`
				DefaultCC         []string `json:"default_cc"`
			} `json:"components"`
		} `json:"products"`
	}
	q := url.Values{"names": {product}}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/product", query: q, idempotent: true}, &out); err != nil {
		return "", nil, err
	}
	for _, p := range out.Products {
		if p.Name != product {
			continue
		}
		for _, comp := range p.Components {
			if comp.Name == component {
				return comp.DefaultAssignedTo, comp.DefaultCC, nil
			}
		}
	}
	return "", nil, fmt.Errorf("bugzilla: component %q/%q not found: %w", product, component, ErrNotFound)
}
