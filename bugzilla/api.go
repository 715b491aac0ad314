// SPDX-License-Identifier: GPL-3.0-or-later

package bugzilla

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/bug", query: v, idempotent: true, ifNoneMatch: q.IfNoneMatch}, &out)
	if err != nil {
		return SearchResult{}, err
	}
	return SearchResult{Bugs: normalize(out.Bugs), ETag: resp.etag, NotModified: resp.notModified}, nil
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
	var all []Bug
	for start := 0; start < len(ids); start += idBatch {
		batch := ids[start:min(start+idBatch, len(ids))]
		res, err := c.Search(ctx, SearchQuery{IDs: batch, Order: "bug_id"})
		if err != nil {
			return all, err
		}
		all = append(all, res.Bugs...)
	}
	return all, nil
}

// Update is a change to one bug. Empty fields are left alone.
type Update struct {
	CCAdd, CCRemove []string // exact logins
	AssignedTo      string   // exact login
	ResetAssignedTo bool     // back to the component default
	Status          string
	Resolution      string
	Whiteboard      *string // replaces the whole whiteboard
	Comment         string
	CommentPrivate  bool
}

// Change is one field's change as Bugzilla reports it (comma-joined for
// multi-value fields).
type Change struct{ Added, Removed string }

// UpdateResult is Bugzilla's answer to an update. Changes is empty for a
// no-op (or comment-only) update.
type UpdateResult struct {
	ID             int
	LastChangeTime time.Time
	Changes        map[string]Change
}

func (u Update) body() map[string]any {
	b := map[string]any{}
	if len(u.CCAdd) > 0 || len(u.CCRemove) > 0 {
		cc := map[string]any{}
		if len(u.CCAdd) > 0 {
			cc["add"] = u.CCAdd
		}
		if len(u.CCRemove) > 0 {
			cc["remove"] = u.CCRemove
		}
		b["cc"] = cc
	}
	if u.AssignedTo != "" {
		b["assigned_to"] = u.AssignedTo
	}
	if u.ResetAssignedTo {
		b["reset_assigned_to"] = true
	}
	if u.Status != "" {
		b["status"] = u.Status
	}
	if u.Resolution != "" {
		b["resolution"] = u.Resolution
	}
	if u.Whiteboard != nil {
		b["whiteboard"] = *u.Whiteboard
	}
	if u.Comment != "" {
		b["comment"] = map[string]any{"body": u.Comment, "is_private": u.CommentPrivate}
	}
	return b
}

// Update changes one bug (PUT /rest/bug/ID). It needs an API key. An
// update without a comment sets values and is retried on temporary
// errors; one with a comment is retried only when it surely was not sent.
func (c *Client) Update(ctx context.Context, id int, u Update) (UpdateResult, error) {
	body := u.body()
	if len(body) == 0 {
		return UpdateResult{}, fmt.Errorf("bugzilla: empty update of bug %d: %w", id, ErrInvalid)
	}
	if u.AssignedTo != "" && u.ResetAssignedTo {
		return UpdateResult{}, fmt.Errorf("bugzilla: both assigned_to and reset_assigned_to: %w", ErrInvalid)
	}
	res, err := c.put(ctx, id, body, u.Comment == "")
	if err != nil {
		return UpdateResult{}, err
	}
	for _, r := range res {
		if r.ID == id {
			return r, nil
		}
	}
	return UpdateResult{}, fmt.Errorf("bugzilla: bug %d not in update response: %w", id, ErrInvalid)
}

// put sends one PUT /rest/bug/ID (body may name more bugs in "ids") and
// returns Bugzilla's answer per bug.
func (c *Client) put(ctx context.Context, id int, body map[string]any, idempotent bool) ([]UpdateResult, error) {
	var out struct {
		Bugs []struct {
			ID             int               `json:"id"`
			LastChangeTime time.Time         `json:"last_change_time"`
			Changes        map[string]Change `json:"changes"`
		} `json:"bugs"`
	}
	r := request{method: http.MethodPut, path: "/bug/" + strconv.Itoa(id), body: body, idempotent: idempotent, needKey: true}
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	res := make([]UpdateResult, 0, len(out.Bugs))
	for _, b := range out.Bugs {
		if b.Changes == nil {
			b.Changes = map[string]Change{}
		}
		res = append(res, UpdateResult{ID: b.ID, LastChangeTime: b.LastChangeTime.UTC(), Changes: b.Changes})
	}
	return res, nil
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

// UpdateMany applies one change to several bugs in one request (PUT
// /rest/bug/ID with "ids" in the body), which Bugzilla runs in one
// transaction: any error changes none of them. The results are in the
// order Bugzilla gives. Retried like Update.
func (c *Client) UpdateMany(ctx context.Context, ids []int, u Update) ([]UpdateResult, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	body := u.body()
	if len(body) == 0 {
		return nil, fmt.Errorf("bugzilla: empty update of bugs %v: %w", ids, ErrInvalid)
	}
	if u.AssignedTo != "" && u.ResetAssignedTo {
		return nil, fmt.Errorf("bugzilla: both assigned_to and reset_assigned_to: %w", ErrInvalid)
	}
	for _, id := range ids {
		if id <= 0 {
			return nil, fmt.Errorf("bugzilla: bug id %d: %w", id, ErrInvalid)
		}
	}
	body["ids"] = ids
	return c.put(ctx, ids[0], body, u.Comment == "")
}

// Apply returns b as it is after the update res (Bugzilla's answer to a
// PUT): the changed fields set from res.Changes and last_change_time from
// res. It lets a caller keep its mirror current without reading the bug
// again. Fields it does not know are left as they were.
func (res UpdateResult) Apply(b Bug) Bug {
	split := func(s string) []string {
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	for field, ch := range res.Changes {
		switch field {
		case "assigned_to":
			b.AssignedTo = ch.Added
		case "status":
			b.Status = ch.Added
		case "resolution":
			b.Resolution = ch.Added
			b.IsOpen = ch.Added == ""
		case "whiteboard":
			b.Whiteboard = ch.Added
		case "severity":
			b.Severity = ch.Added
		case "priority":
			b.Priority = ch.Added
		case "summary":
			b.Summary = ch.Added
		case "cc":
			cc := make([]string, 0, len(b.CC))
			removed := split(ch.Removed)
			for _, l := range b.CC {
				if !slices.ContainsFunc(removed, func(r string) bool { return strings.EqualFold(r, l) }) {
					cc = append(cc, l)
				}
			}
			for _, l := range split(ch.Added) {
				if !slices.ContainsFunc(cc, func(x string) bool { return strings.EqualFold(x, l) }) {
					cc = append(cc, l)
				}
			}
			slices.Sort(cc)
			b.CC = cc
		}
	}
	b.CC = slices.Clone(b.CC)
	if !res.LastChangeTime.IsZero() {
		b.LastChangeTime = res.LastChangeTime
	}
	return b
}
