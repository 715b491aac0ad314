// SPDX-License-Identifier: GPL-3.0-or-later

// Writing bugs: PUT /rest/bug/<id> (CC, assignee, status, resolution,
// whiteboard, comment), one bug or several at once, and applying what
// Bugzilla reports changed to the bug read before.

package bugzilla

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
